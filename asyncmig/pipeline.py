"""migrate(options) -> report: parser processes, bounded streams, one writer. Nothing else.

::

    plan ──jobs──► parser process 1..N ──frames──► per-file stream (2 batches) ─┐
         └──────── per-file streams, in plan order (lookahead 2N) ──────────────┴► writer

Files are parsed concurrently but applied strictly in plan order, so "first wins" is the
same however many parsers run. Memory is bounded three ways: each file's stream holds at
most two messages, only 2N files are in flight, and a byte budget caps the row bytes
waiting for the writer (one batch larger than the budget still passes, alone).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Final

import anyio
from anyio.streams.buffered import BufferedByteReceiveStream

from asyncmig import decode, source, target
from asyncmig.consume import FileResult, consume
from asyncmig.errors import ConfigError, ParserCrashed
from asyncmig.protocol import LENGTH, Done, Failed, Job, Message, Rows, decode_message, frame
from asyncmig.report import FileOutcome, Report
from asyncmig.writer import make_writer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from anyio.abc import Process
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from asyncmig.options import Options
    from asyncmig.source import SourceFile
    from asyncmig.writer import Writer

log = logging.getLogger("asyncmig")

_PER_FILE_BUFFER: Final = 2
_BUDGET_BATCHES: Final = 3

FileStream = tuple["SourceFile", "MemoryObjectReceiveStream[Message]"]
JobItem = tuple[Job, "MemoryObjectSendStream[Message]"]


async def migrate(options: Options) -> Report:
    """Migrate ``options.data_dir`` into ``options.db`` and return the run's report."""
    started = time.perf_counter()
    migrated_at = int(time.time() * 1000)
    plan = _plan(options)
    if not options.dry_run:
        _prepare_target(options.db)
    if warning := decode.backend_warning():
        log.warning(warning)
    report = Report(
        data_dir=str(options.data_dir),
        db=str(options.db),
        dry_run=options.dry_run,
        migrated_at=migrated_at,
    )
    report.bytes_read = plan.total_bytes
    writer = make_writer(options.db, dry_run=options.dry_run)
    await writer.open()
    try:
        await writer.set_run(
            {
                "data_dir": str(options.data_dir.resolve()),
                "migrated_at": str(migrated_at),
                "status": "loading",
            }
        )
        await _run_files(plan, options, migrated_at, writer, report)
        await writer.finish()
        await writer.set_run({"status": "complete"})
    finally:
        await writer.close()
    report.elapsed = time.perf_counter() - started
    return report


def _plan(options: Options) -> source.Plan:
    root = options.data_dir
    if not root.is_dir():
        raise ConfigError(f"data directory {root} does not exist or is not a directory")
    db = options.db.resolve()
    side = frozenset(
        {
            db,
            db.with_name(db.name + "-wal"),
            db.with_name(db.name + "-shm"),
            db.with_name(db.name + "-journal"),
        }
    )
    return source.plan(root.resolve(), exclude=side)


def _prepare_target(db: Path) -> None:
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create the folder for the database {db}: {error}") from None
    target.check_target(db)
    probe = db.parent / f".{db.name}.asyncmig-probe"
    try:
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"cannot write the database {db}: {error.strerror}") from None


def _fold(report: Report, result: FileResult, verbose: bool) -> None:
    outcome = result.outcome
    report.files.append(outcome)
    if outcome.table is not None and outcome.status != "not_migrated":
        report.tables[outcome.table] += result.counts
    report.rejections.extend(result.rejections)
    report.warnings.extend(result.warnings)
    for warning in result.warnings:
        log.warning(warning)
    if verbose:
        log.info("%s: %s, %d record(s)", outcome.path, outcome.status, outcome.records)
        for rejection in result.rejections:
            log.info(
                "  #%d %s: %s", rejection.index, rejection.outcome, "; ".join(rejection.errors)
            )


async def _run_files(
    plan: source.Plan, options: Options, migrated_at: int, writer: Writer, report: Report
) -> None:
    """Parse every file in parser processes and apply the results in plan order."""
    parsed = [*plan.migrated, *(f for f in plan.not_migrated if f.is_json)]
    budget = _ByteBudget(_BUDGET_BATCHES * options.batch_bytes)
    workers = max(1, min(options.workers, len(parsed)))
    ordered_send, ordered = anyio.create_memory_object_stream[FileStream](2 * workers)
    jobs_send, jobs = anyio.create_memory_object_stream[JobItem](workers)
    async with AsyncExitStack() as stack, anyio.create_task_group() as tasks:
        for _ in range(workers if parsed else 0):
            process = await stack.enter_async_context(_parser_process())
            tasks.start_soon(_parse, process, jobs.clone(), budget)
        jobs.close()
        tasks.start_soon(_dispatch, parsed, options, migrated_at, ordered_send, jobs_send)
        async with ordered:
            async for item, messages in ordered:
                budget.advance(item.file_no)
                async with messages:
                    result = await consume(
                        item,
                        messages,
                        writer,
                        include_orphans=options.include_orphans,
                        release=budget.release,
                    )
                _fold(report, result, options.verbose)
    for item in plan.not_migrated:
        if not item.is_json:
            _fold(
                report,
                FileResult(FileOutcome(item.rel, "not_migrated", reason=item.reason)),
                options.verbose,
            )


async def _dispatch(
    files: list[SourceFile],
    options: Options,
    migrated_at: int,
    ordered: MemoryObjectSendStream[FileStream],
    jobs: MemoryObjectSendStream[JobItem],
) -> None:
    """Hand out files in plan order: each file's stream to the writer, its job to a parser."""
    async with ordered, jobs:
        for item in files:
            send, receive = anyio.create_memory_object_stream[Message](_PER_FILE_BUFFER)
            await ordered.send((item, receive))
            table = item.entity.table if item.entity else None
            job = Job(
                item.file_no,
                str(item.path),
                table,
                item.top_level,
                options.strict,
                migrated_at,
                options.batch_size,
                options.batch_bytes,
            )
            await jobs.send((job, send))


async def _parse(
    process: Process, jobs: MemoryObjectReceiveStream[JobItem], budget: _ByteBudget
) -> None:
    """Feed one parser process jobs and forward its messages to each file's stream."""
    assert process.stdin is not None
    assert process.stdout is not None
    reader = BufferedByteReceiveStream(process.stdout)
    async with jobs:
        async for job, out in jobs:
            async with out:
                await process.stdin.send(frame(job))
                while True:
                    message = await _receive(reader, job)
                    if isinstance(message, Rows):
                        await budget.acquire(message.nbytes, job.file_no)
                    await out.send(message)
                    if isinstance(message, Done | Failed):
                        break


async def _receive(reader: BufferedByteReceiveStream, job: Job) -> Message:
    try:
        (length,) = LENGTH.unpack(await reader.receive_exactly(LENGTH.size))
        return decode_message(await reader.receive_exactly(length))
    except (anyio.IncompleteRead, anyio.EndOfStream, anyio.ClosedResourceError) as error:
        raise ParserCrashed(
            f"a parser process ended while reading {job.path} (see its error above)"
        ) from error


# The folder holding the asyncmig package, so parser processes import this very copy.
_PACKAGE_ROOT: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@asynccontextmanager
async def _parser_process() -> AsyncIterator[Process]:
    """A parser process that is always ended: asked (stdin closed), then killed."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p
        ),
    }
    process = await anyio.open_process(
        [sys.executable, "-m", "asyncmig.worker"], stderr=None, env=env
    )
    try:
        yield process
    finally:
        with anyio.CancelScope(shield=True):
            if process.stdin is not None:
                await process.stdin.aclose()
            with anyio.move_on_after(2):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
            await process.aclose()


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
