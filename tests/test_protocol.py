"""Messages survive the trip through a real pipe: rows as a head plus their data."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import anyio

from asyncmig.ipc.client import start_parser, warm_parsers
from asyncmig.ipc.wire import read_message, write_message
from asyncmig.source.messages import Done, Job, Message, Notice, Opened, Reject, Rows


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


def _children() -> set[int]:
    """This process's live children, from /proc (every thread's list)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def test_a_warm_parser_is_the_one_taken_and_those_not_taken_are_ended(tmp_path: Path) -> None:
    made = tmp_path / "projects.json"
    made.write_text('{"1": {"id": 1, "name": "p", "path": "/p", "created": 1, "updated": 2}}')
    job = Job(file_no=0, path=str(made), table="projects")

    async def main() -> tuple[set[int], int, list[Message], set[int], set[int]]:
        before = _children()
        async with warm_parsers(2):
            warm = _children() - before
            async with start_parser() as parser:
                taken = parser.process.pid
                await parser.send_all([job])
                messages = await parser.receive(job)
            inside = _children() - before
        return warm, taken, messages, inside, _children() - before

    warm, taken, messages, inside, after = anyio.run(main)
    assert len(warm) == 2
    assert taken in warm  # no third process was started
    assert isinstance(messages[0], Opened)  # it read the job it was sent
    assert inside == warm - {taken}  # the taken one ended with its block, the other lived
    assert after == set()
