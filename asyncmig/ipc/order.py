"""parse_in_order(jobs): parser processes, bounded streams and a byte budget, files in order.

::

    jobs 0, N, 2N.. ─► parser process 1 ─► bounded stream 1 ─┐
    jobs 1, N+1..   ─► parser process 2 ─► bounded stream 2 ─┼─► the caller, file by file
    ...                                                      ─┘   in the order of the jobs

Each parser gets every N-th job, all at once, and streams its messages file after file;
the caller takes file i from stream i mod N. So files are parsed concurrently but handed
over strictly in order (what the load decides never depends on timing), and no message
waits on a round trip per file. Memory is bounded twice: each stream holds at most
``_PREFETCH`` messages (a message is at most one batch), and a byte budget caps the row
bytes parsed ahead of the file the caller is on. Both ``migrate`` and ``verify`` read the
source through here.
"""

from __future__ import annotations

from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Final

import anyio

from asyncmig.ipc.client import start_parser
from asyncmig.source.messages import Done, Failed, Message, Rows

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from asyncmig.ipc.client import Parser
    from asyncmig.source.messages import Job

#: Messages a parser may have ready beyond the one the caller is on.
_PREFETCH: Final = 2


class ParsedFiles:
    """The messages of every job, one file after the other, in the order of the jobs."""

    def __init__(
        self,
        jobs: Sequence[Job],
        streams: list[MemoryObjectReceiveStream[Message]],
        budget: ByteBudget,
    ) -> None:
        self._jobs = jobs
        self._streams = streams
        self._budget = budget
        self._next = 0

    def next_file(self) -> AsyncIterator[Message]:
        """The next job's messages, its Done or Failed last. A batch's bytes go back to the
        budget when the caller asks for the message after it (it is done with the batch)."""
        position = self._next
        self._next += 1
        self._budget.advance(self._jobs[position].file_no)
        return self._messages(self._streams[position % len(self._streams)])

    async def _messages(self, stream: MemoryObjectReceiveStream[Message]) -> AsyncIterator[Message]:
        async for message in stream:
            yield message
            if isinstance(message, Rows):
                self._budget.release(message.nbytes)
            if isinstance(message, Done | Failed):
                return


@asynccontextmanager
async def parse_in_order(
    jobs: Sequence[Job], *, workers: int, budget_bytes: int
) -> AsyncIterator[ParsedFiles]:
    """Start up to ``workers`` parser processes on ``jobs``; they are ended (and killed if
    need be) when the block exits, however it exits. ``budget_bytes``: row bytes that may
    be parsed ahead of the file the caller is on."""
    workers = max(1, min(workers, len(jobs)))
    budget = ByteBudget(budget_bytes)
    async with AsyncExitStack() as stack, anyio.create_task_group() as tasks:
        streams: list[MemoryObjectReceiveStream[Message]] = []
        for share in (list(jobs[k::workers]) for k in range(workers if jobs else 0)):
            parser = await stack.enter_async_context(start_parser())
            send, receive = anyio.create_memory_object_stream[Message](_PREFETCH)
            tasks.start_soon(parser.send_all, share)
            tasks.start_soon(_pump, parser, share, send, budget)
            streams.append(stack.enter_context(receive))
        yield ParsedFiles(jobs, streams, budget)


async def _pump(
    parser: Parser, jobs: list[Job], out: MemoryObjectSendStream[Message], budget: ByteBudget
) -> None:
    """Move one parser's messages, file after file, into its bounded stream."""
    async with out:
        remaining = iter(jobs)
        job = next(remaining, None)
        while job is not None:
            for message in await parser.receive(job):
                assert job is not None, "a message after the last file's end"
                if isinstance(message, Rows):
                    await budget.acquire(message.nbytes, job.file_no)
                await out.send(message)
                if isinstance(message, Done | Failed):
                    job = next(remaining, None)


class ByteBudget:
    """Caps the row bytes parsed ahead of the caller.

    The file the caller is on (the head) always passes: its own stream bounds it, and
    holding it back behind files queued after it would deadlock the pipeline."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.head = -1
        self._changed = anyio.Event()

    async def acquire(self, nbytes: int, file_no: int) -> None:
        while not (file_no <= self.head or self.used == 0 or self.used + nbytes <= self.limit):
            await self._changed.wait()
        self.used += nbytes

    def release(self, nbytes: int) -> None:
        self.used -= nbytes
        self._notify()

    def advance(self, file_no: int) -> None:
        self.head = file_no
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()
