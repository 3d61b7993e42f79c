"""Messages survive the trip through a real pipe: rows as a head plus their data."""

from __future__ import annotations

import os
import threading

from asyncmig.ipc.wire import read_message, write_message
from asyncmig.source.messages import Done, Message, Notice, Reject, Rows


def test_messages_round_trip_through_a_pipe() -> None:
    rows = Rows(
        [
            (str(n), b'{"n":%d,"pad":"%s"}' % (n, b"x" * (n * 997 % 300_000)), n, n + 1)
            for n in range(300)
        ],
        list(range(300)),
        upgraded=[5, 17],
        consumed=301,
        nbytes=123,
    )
    sent: list[Message] = [
        Notice(4, "a warning"),
        rows,
        Reject(7, "7", ["$.a: bad", "$.b: worse"], 99),
        Done(301, 5, "premature EOF"),
    ]
    read_end, write_end = os.pipe()
    received: list[Message] = []

    def reader() -> None:
        with os.fdopen(read_end, "rb") as stream:

            def read_exactly(size: int) -> bytearray | None:
                data = bytearray(size)
                view = memoryview(data)
                filled = 0
                while filled < size:
                    got = stream.readinto(view[filled:])
                    if not got:
                        return None
                    filled += got
                return data

            while (message := read_message(read_exactly)) is not None:
                received.append(message)

    thread = threading.Thread(target=reader)
    thread.start()
    with os.fdopen(write_end, "wb") as out:  # far more than a pipe holds: writes block
        buffer = bytearray(4)
        for outgoing in sent:
            write_message(outgoing, out, buffer)
    thread.join(timeout=30)
    assert len(received) == len(sent)
    got_rows = received[1]
    assert isinstance(got_rows, Rows)
    assert [(i, bytes(d), c, u) for i, d, c, u in got_rows.rows] == rows.rows
    assert (got_rows.indexes, got_rows.upgraded, got_rows.consumed) == (
        list(range(300)),
        [5, 17],
        301,
    )
    assert [received[0], received[2], received[3]] == [sent[0], sent[2], sent[3]]
