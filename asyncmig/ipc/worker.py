"""A parser process: reads jobs on stdin, answers each with framed messages on stdout.

Run as ``python -m asyncmig.ipc.worker``. Parsing lives in its own process because yajl and
msgspec hold the interpreter lock: a thread would not overlap them with SQLite's work.
"""

from __future__ import annotations

import contextlib
import fcntl
import signal
import sys
from typing import BinaryIO, Final

from asyncmig.ipc.wire import LENGTH, decode_job, write_message
from asyncmig.source.records import read_job

PIPE_BYTES: Final = 1024 * 1024


def serve(inbox: BinaryIO, outbox: BinaryIO) -> None:
    """Answer jobs until the main process closes our stdin."""
    buffer = bytearray(LENGTH.size)
    while True:
        header = inbox.read(LENGTH.size)
        if len(header) < LENGTH.size:
            return
        (length,) = LENGTH.unpack(header)
        job = decode_job(inbox.read(length))
        for message in read_job(job):
            write_message(message, outbox, buffer)


def _widen_pipe(stream: BinaryIO) -> None:
    """Grow our output pipe to 1 MiB (Linux): a 64 KiB pipe makes the main process wake
    sixteen times as often to drain the same batch."""
    set_pipe_size = getattr(fcntl, "F_SETPIPE_SZ", 1031)
    with contextlib.suppress(OSError):
        fcntl.fcntl(stream.fileno(), set_pipe_size, PIPE_BYTES)


def main() -> None:
    # The main process owns Ctrl-C: it stops us by closing our stdin or terminating us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _widen_pipe(sys.stdout.buffer)
    # A broken pipe means the main process went away: nothing is left to tell it.
    with contextlib.suppress(BrokenPipeError):
        serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
