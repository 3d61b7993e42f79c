"""migrate(options) -> report: parser processes, bounded streams, one writer. Nothing else.

::

    plan ─► files 0, N, 2N.. ─► parser process 1 ─► bounded stream 1 ─┐
        ─► files 1, N+1..    ─► parser process 2 ─► bounded stream 2 ─┼─► writer, file by
        ─► ...                                                        ─┘   file in plan order

Each parser gets every N-th file of the plan, all at once, and streams its messages file
after file; the writer takes file i from stream i mod N. So files are parsed concurrently
but applied strictly in plan order ("first wins" does not depend on timing), and no
message waits on a round trip per file. Memory is bounded twice: each stream holds at
most ``_PREFETCH`` messages (a message is at most one batch), and a byte budget caps the
row bytes parsed ahead of the file the writer is on.
"""

from __future__ import annotations

import logging
import time
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Final

import anyio
import msgspec

from asyncmig.source import decode
from asyncmig.source import plan as source
from asyncmig.load import start as startup
from asyncmig.targets import octoprompt as target
from asyncmig.load.apply import FileResult, consume
from asyncmig.errors import TooManyRejects, single_errors
from asyncmig.ipc.client import Parser, start_parser
from asyncmig.output.progress import NullProgress
from asyncmig.ipc.wire import Done, Failed, Job, Message, Rows
from asyncmig.output.rejects import Rejects, elapsed_since, stopped_message
from asyncmig.output.rejects import check_path as check_rejects_path
from asyncmig.output.report import FileOutcome, PeakMemory, Report
from asyncmig.output.statefile import NoStateFile, StateFile

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from asyncmig.load.ledger import FileRecord
    from asyncmig.options import Options
    from asyncmig.output.progress import Progress
    from asyncmig.source.plan import SourceFile
    from asyncmig.load.start import Start

log = logging.getLogger("asyncmig")

#: Messages a parser may have ready beyond the one the writer is applying.
_PREFETCH: Final = 2
_BUDGET_BATCHES: Final = 3


async def migrate(options: Options, progress: Progress | None = None) -> Report:
    """Migrate ``options.data_dir`` into ``options.db`` and return the run's report;
    ``progress`` hears how far it is (nothing does by default)."""
    started = time.perf_counter()
    plan = source.plan_run(options.data_dir, options.db)
    if not options.dry_run:
        target.prepare(options.db)  # the folder the default rejects file goes into
    check_rejects_path(options.rejects)
    if warning := decode.backend_warning():
        log.warning(warning)
    report = Report(
        data_dir=str(options.data_dir), db=str(options.db), dry_run=options.dry_run, migrated_at=0
    )
    report.bytes_read = plan.total_bytes
    start = await startup.open_target(options, plan, report)
    report.migrated_at = start.migrated_at
    for warning in report.warnings:
        log.warning(warning)
    state = _state_file(options, plan, report)
    writer = start.writer
    try:
        with single_errors():
            await _run_files(plan, options, start, report, state, progress or NullProgress())
        state.write("finishing")
        await writer.set_run({"status": "finishing"})
        await writer.finish()
        await writer.set_run({"status": "complete"})
        state.write("complete")
    except BaseException as error:
        # The state file says how the run ended; the checkpoint in the database is what a
        # resume trusts, and it is already as far as the last commit.
        stopped = isinstance(error, anyio.get_cancelled_exc_class() | KeyboardInterrupt)
        state.write("interrupted" if stopped else "failed")
        raise
    finally:
        await writer.close()
    report.elapsed = time.perf_counter() - started
    return report


def _fold(report: Report, result: FileResult) -> None:
    outcome = result.outcome
    report.files.append(outcome)
    if outcome.table is not None and outcome.status != "not_migrated":
        report.tables[outcome.table] += result.counts
    report.warnings.extend(result.warnings)
    for warning in result.warnings:
        log.warning(warning)
    counts = result.counts
    log.info(
        "%s: %s, %d record(s), %d upgraded, %d rejected, %d duplicate, %d orphaned, %.3f s",
        outcome.path,
        outcome.status,
        outcome.records,
        counts.upgraded,
        counts.rejected,
        counts.duplicate,
        counts.orphaned,
        outcome.seconds,
    )


async def _run_files(  # noqa: PLR0917 - the run's parts, passed on as they are
    plan: source.Plan,
    options: Options,
    start: Start,
    report: Report,
    state: StateFile,
    progress: Progress,
) -> None:
    """Every file of the plan, with the rejects file open and progress reported."""
    report.options = options
    for item, record in start.resume.kept:  # finished by an interrupted run: as it left them
        outcome = record.outcome or FileOutcome(item.rel, "migrated", _table(item))
        _fold(report, FileResult(outcome, record.counts))
        state.file_done(_table(item))
    rejects = Rejects(report, options)
    rejects.open()
    kept = len(start.resume.kept)
    parsed = [*plan.migrated[kept:], *(f for f in plan.not_migrated if f.is_json)]
    progress.start(sum(f.size for f in parsed), len(parsed))
    try:
        await _parse_and_apply(parsed, options, start, report, state, rejects, progress)
    finally:
        rejects.close()
        report.peak_memory = PeakMemory.measure()
        progress.finish()
    for item in plan.not_migrated:
        if not item.is_json:
            _fold(report, FileResult(FileOutcome(item.rel, "not_migrated", reason=item.reason)))


async def _parse_and_apply(  # noqa: PLR0917 - the run's parts, passed on as they are
    parsed: list[SourceFile],
    options: Options,
    start: Start,
    report: Report,
    state: StateFile,
    rejects: Rejects,
    progress: Progress,
) -> None:
    """Parse every file in parser processes and apply the results in plan order."""
    partial = start.resume.skip
    budget = _ByteBudget(_BUDGET_BATCHES * options.batch_bytes)
    workers = max(1, min(options.workers, len(parsed)))
    async with AsyncExitStack() as stack, anyio.create_task_group() as tasks:
        streams: list[MemoryObjectReceiveStream[Message]] = []
        for share in (parsed[k::workers] for k in range(workers if parsed else 0)):
            parser = await stack.enter_async_context(start_parser())
            send, receive = anyio.create_memory_object_stream[Message](_PREFETCH)
            jobs = [_job(item, options, start.migrated_at, partial) for item in share]
            tasks.start_soon(parser.send_all, jobs)
            tasks.start_soon(_pump, parser, jobs, send, budget)
            streams.append(stack.enter_context(receive))
        for position, item in enumerate(parsed):
            budget.advance(item.file_no)
            progress.file(item.rel, item.size)
            log.info("%s: opened (%d bytes)", item.rel, item.size)
            began = time.perf_counter()
            earlier = partial.get(item.file_no)
            result = await consume(
                item,
                _one_file(streams[position % workers]),
                start.writer,
                include_orphans=options.include_orphans,
                release=budget.release,
                rejects=rejects,
                progress=progress,
                earlier=earlier.counts if earlier else None,
            )
            seconds = time.perf_counter() - began
            result.outcome = msgspec.structs.replace(result.outcome, seconds=seconds)
            _fold(report, result)
            progress.file_done()
            if item.entity is not None:
                state.file_done(item.entity.table)
            _stop_if_too_many(report, rejects, options.max_rejects)


def _stop_if_too_many(report: Report, rejects: Rejects, limit: int | None) -> None:
    """TooManyRejects, with the report so far, once ``rejects`` is over ``limit``."""
    if limit is not None and rejects.exceeded:
        report.stopped = stopped_message(limit, rejects.count)
        report.elapsed = elapsed_since(report.migrated_at)
        raise TooManyRejects(report.stopped, report)


def _table(item: SourceFile) -> str:
    assert item.entity is not None
    return item.entity.table


def _job(
    item: SourceFile, options: Options, migrated_at: int, partial: dict[int, FileRecord]
) -> Job:
    record = partial.get(item.file_no)
    return Job(
        item.file_no,
        str(item.path),
        item.entity.table if item.entity else None,
        item.top_level,
        options.strict,
        migrated_at,
        options.batch_size,
        options.batch_bytes,
        item.parent_id,
        skip=record.consumed if record else 0,
    )


def _state_file(options: Options, plan: source.Plan, report: Report) -> StateFile:
    if options.dry_run:
        return NoStateFile()
    return StateFile(
        options.state_path, report, total=len(plan.migrated), resume_command=options.resume_command
    )


async def _pump(
    parser: Parser, jobs: list[Job], out: MemoryObjectSendStream[Message], budget: _ByteBudget
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


async def _one_file(stream: MemoryObjectReceiveStream[Message]) -> AsyncIterator[Message]:
    """The messages of the next file on ``stream``, its Done or Failed included."""
    async for message in stream:
        yield message
        if isinstance(message, Done | Failed):
            return


class _ByteBudget:
    """Caps the row bytes parsed ahead of the writer.

    The file the writer is on (the head) always passes: its own stream bounds it, and
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
