"""Parser processes seen from the main process: start one, give it a job, read its messages.

Messages are read by a blocking ``readinto`` in a worker thread (``anyio.to_thread``), one
thread hop per message of up to a batch's size. Reading them through asyncio's pipe
transport instead cost a wake-up of the event loop per 64-1024 KiB and four copies of
every byte; that loop also competes with the SQLite thread for the interpreter lock.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Final

import anyio

from asyncmig.errors import ParserCrashed
from asyncmig.ipc.wire import frame, read_message
from asyncmig.source.messages import Rows

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from asyncmig.source.messages import Job, Message

# The folder holding the asyncmig package, so parser processes import this very copy.
_PACKAGE_ROOT: Final = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_STOP_SECONDS: Final = 2
_MOST_MESSAGES: Final = 64


class Parser:
    """One ``python -m asyncmig.ipc.worker`` process and the pipes to it."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        assert process.stdin is not None
        assert process.stdout is not None
        self._inbox: IO[bytes] = process.stdin
        self._outbox: IO[bytes] = process.stdout

    async def send_all(self, jobs: list[Job]) -> None:
        """Queue every job, then close the process's stdin: it ends once its last file is
        answered, while the main process still applies that file (ended at the block's
        exit instead, its shutdown came after the load, 20-30 ms a run). A thread blocks on
        the pipe while the process is busy."""
        data = b"".join(frame(job) for job in jobs)
        await anyio.to_thread.run_sync(self._write_all, data, abandon_on_cancel=True)

    def _write_all(self, data: bytes) -> None:
        self._write(data)
        with contextlib.suppress(OSError):
            self._inbox.close()

    async def receive(self, job: Job) -> list[Message]:
        """The next messages (``job``'s first); ParserCrashed if the process ended instead.

        One thread hop brings every message already waiting in the pipe, up to and
        including one batch of rows: small files end in a Done right after their rows, and
        a hop per message was a third of the time on thousands of them."""
        messages = await anyio.to_thread.run_sync(self._read_some, abandon_on_cancel=True)
        if not messages:
            raise ParserCrashed(
                f"a parser process ended while reading {job.path} (see its error above)"
            )
        return messages

    def _read_some(self) -> list[Message]:
        messages: list[Message] = []
        while not messages or self._waiting():
            message = read_message(self._read_exactly)
            if message is None:
                break
            messages.append(message)
            if isinstance(message, Rows) or len(messages) >= _MOST_MESSAGES:
                break
        return messages

    def _waiting(self) -> bool:
        readable, _, _ = select.select([self._outbox], [], [], 0)
        return bool(readable)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        with contextlib.suppress(BrokenPipeError):  # it died: receive() says so
            while view:  # an unbuffered pipe write may be partial (a signal, say)
                view = view[self._inbox.write(view) or 0 :]

    def _read_exactly(self, size: int) -> bytearray | None:
        buffer = bytearray(size)
        view = memoryview(buffer)
        filled = 0
        while filled < size:
            got = self._outbox.readinto(view[filled:])  # type: ignore[attr-defined]
            if not got:
                return None
            filled += got
        return buffer

    def stop(self) -> None:
        """Ask the process to end (close its stdin), then kill it if it does not."""
        with contextlib.suppress(OSError):
            self._inbox.close()
        try:
            self.process.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._outbox.close()


#: Parser processes started ahead of their use (:func:`warm_parsers`), for
#: :func:`start_parser` to take before it starts one.
_WARM: ContextVar[list[subprocess.Popen[bytes]] | None] = ContextVar("warm", default=None)


@asynccontextmanager
async def warm_parsers(count: int) -> AsyncIterator[None]:
    """Start ``count`` parser processes now, for :func:`start_parser` to take in the block:
    a process's start (an interpreter and its imports, 50-60 ms) then overlaps the run's
    checks and set-up instead of following them. Those not taken had no job: they are
    killed at the exit (a refusal need not wait for their imports)."""
    warm = [_spawn() for _ in range(count)]
    token = _WARM.set(warm)
    try:
        yield
    finally:
        _WARM.reset(token)
        for process in warm:
            process.kill()
        with anyio.CancelScope(shield=True):
            for process in warm:
                await anyio.to_thread.run_sync(Parser(process).stop)


@asynccontextmanager
async def start_parser() -> AsyncIterator[Parser]:
    """A parser process (a warm one if there is one) that is always ended when the block
    exits, however it exits."""
    warm = _WARM.get()
    process = warm.pop() if warm else _spawn()
    parser = Parser(process)
    try:
        yield parser
    finally:
        if sys.exc_info()[0] is not None and process.poll() is None:
            process.kill()  # failing or cancelled: no reason to let it finish its file
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(parser.stop)


def _spawn() -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p
        ),
    }
    return subprocess.Popen(  # starting is quick; reads go to threads
        [sys.executable, "-m", "asyncmig.ipc.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        bufsize=0,
    )
