"""migrate(options) -> report: the stages wired together, and nothing else.

::

    plan ─► start (refusals, backup, ledger) ─► parse_in_order ─► apply_file ─► Batches ─► Writer
                                                                     │
                                         rejects, progress, state ◄──┴─► ReportFold ─► Report

The plan lists the files; the start refuses or backs up and opens the writer; the parser
processes read the files (:func:`asyncmig.ipc.order.parse_in_order`) and hand them over in
plan order; each file's messages are applied (:mod:`asyncmig.load.apply`) into batched
transactions; the fold adds up what every stage hands back into the report.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import anyio
import msgspec

from asyncmig.errors import (
    TooManyRejects,
    single_errors,
)
from asyncmig.ipc.client import warm_parsers
from asyncmig.ipc.order import parse_in_order
from asyncmig.load import ledger, rekey, start
from asyncmig.load.apply import apply_file
from asyncmig.load.batches import Batches
from asyncmig.load.mirror import write_state, write_state_at_end
from asyncmig.output.fold import ReportFold
from asyncmig.output.progress import NullProgress, phases_of
from asyncmig.output.rejects import Rejects
from asyncmig.output.statefile import NoStateFile, StateFile
from asyncmig.results import FileOutcome, FileResult, PeakMemory
from asyncmig.safety import faults, outputs
from asyncmig.source import decode
from asyncmig.source.messages import Job
from asyncmig.source.plan import plan_run
from asyncmig.targets import by_name

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from asyncmig.options import Options
    from asyncmig.output.progress import Progress
    from asyncmig.output.report import Report
    from asyncmig.results import StartFacts
    from asyncmig.source.messages import Message
    from asyncmig.source.plan import Plan, SourceFile
    from asyncmig.targets import Target

log = logging.getLogger("asyncmig")

#: Row bytes parsed ahead of the file the writer is on, in batches.
_BUDGET_BATCHES: Final = 3


async def migrate(
    options: Options,
    progress: Progress | None = None,
    *,
    follow: Callable[[Callable[[], Report]], None] | None = None,
) -> Report:
    """Migrate ``options.data_dir`` into ``options.db`` and return the run's report;
    ``progress`` hears how far it is (nothing does by default). ``follow``, if given, is
    handed the report so far (a function returning it) as soon as there is one, so that a
    caller can report a run that fails or is interrupted."""
    async with warm_parsers(1):  # the first parser starts while the checks run
        plan = _plan(options)
        target = by_name(options.target or _recorded_target(options))
        if options.target is None and target.name != by_name(None).name:
            options = msgspec.structs.replace(options, target=target.name)  # said to resume
        fold = ReportFold(options, bytes_read=plan.total_bytes, warnings=plan.links)
        if follow is not None:
            follow(fold.current)
        return await _migrate(options, plan, target, fold, progress)


async def _migrate(
    options: Options, plan: Plan, target: Target, fold: ReportFold, progress: Progress | None
) -> Report:
    prepared = await start.prepare(options, plan, target)
    async with start.writer_for(options, plan, prepared, target) as writer:
        state = _state_file(options, fold)
        try:
            await write_state(writer, state)  # a file left by a killed run is put right first
            sink = progress or NullProgress()
            facts = await start.begin(options, plan, prepared, writer, phases_of(sink))
            fold.started(facts)
            batches = Batches(
                writer, batch_rows=options.batch_size, batch_bytes=options.batch_bytes
            )
            run = _Run(options, plan, prepared, batches, fold, state, sink, target)
            await run.to_the_end(facts)
        except BaseException as error:
            stopped = isinstance(error, anyio.get_cancelled_exc_class() | KeyboardInterrupt)
            await writer.settle()  # the state file must see what SQLite's thread still ran
            write_state_at_end(options.db, state, "interrupted" if stopped else "failed")
            raise
    return fold.current()


def _recorded_target(options: Options) -> str | None:
    """On ``--resume`` without ``--target``: the target the database records."""
    if not options.resume:
        return None
    found = ledger.read(options.db)
    return found.run.target if found is not None else None


def _plan(options: Options) -> Plan:
    """The plan of the data root, once the outputs named in ``options`` can be written."""
    outputs.check(options, outputs.of(options))  # none may destroy anything; makes nothing
    plan = plan_run(options.data_dir, options.db)
    if warning := decode.backend_warning():
        log.warning(warning)
    return plan


def _state_file(options: Options, fold: ReportFold) -> StateFile:
    if options.dry_run:
        return NoStateFile()
    return StateFile(options.state_path, fold.current, resume_command=options.resume_command)


@dataclass(frozen=True, slots=True)
class _Run:
    """One run's parts, once the start is done: the load, then the finishing steps."""

    options: Options
    plan: Plan
    prepared: start.Prepared
    batches: Batches
    fold: ReportFold
    state: StateFile
    progress: Progress
    target: Target

    async def to_the_end(self, facts: StartFacts) -> None:
        rejects = Rejects(self.options.rejects, self.options.max_rejects)
        try:
            with single_errors():
                await self._load(facts, rejects)
            await self._finish(rejects)
        finally:
            self.progress.finish()

    async def _finish(self, rejects: Rejects) -> None:
        """The last commit, then indexes, statistics and the WAL: the ledger says complete."""
        writer = self.batches.writer
        await self.batches.commit()
        await ledger.record_settings(writer, status="finishing")
        await write_state(writer, self.state)
        phases = phases_of(self.progress)
        if writer.finishing:
            phases.phase("finishing", len(writer.finishing), "steps")
        await writer.finish(lambda: phases.step(1))
        await self._not_carried(rejects)
        await ledger.record_settings(writer, status="complete")
        await write_state(writer, self.state, "complete")

    async def _not_carried(self, rejects: Rejects) -> None:
        """What the target had no place for: counted in the report, listed in the rejects
        file (its records whole)."""
        writer = self.batches.writer
        if (query := self.target.not_carried()) is not None:
            found = await writer.conn.execute_fetchall(query)
            self.fold.not_carried([(str(t), str(f), str(r), int(n)) for t, f, r, n in found])
        if (listing := self.target.not_carried_records()) is None or rejects.path is None:
            return
        rejects.reopen()
        try:
            async with writer.conn.execute(listing) as cursor:
                async for row in cursor:
                    rejects.not_carried(tuple(row))
        finally:
            rejects.close()

    async def _load(self, facts: StartFacts, rejects: Rejects) -> None:
        """Every file of the plan, with the rejects file open and progress reported."""
        await write_state(self.batches.writer, self.state)  # the start's plan, kept files, phase
        self.fold.listing(rejects)
        rejects.open()
        self.batches.before_commit = rejects.flush  # the file never behind the checkpoint
        plan = self.plan
        parsed = [*plan.migrated[len(facts.kept) :], *(f for f in plan.not_migrated if f.is_json)]
        self.progress.start(sum(f.size for f in parsed), len(parsed))
        try:
            await self._apply_all(parsed, rejects)
            await self.batches.commit()
            faults.reached("loaded")  # every file committed, no record moved yet
            interrupted = facts.earlier is not None and facts.earlier.status != "complete"
            writer = self.batches.writer
            await rekey.move_waiting(
                writer,
                rejects,
                self.target.tables,
                list_earlier=interrupted,
                phases=phases_of(self.progress),
            )
        finally:
            self.fold.loaded(PeakMemory.measure())
            rejects.close()  # a full disk here is a failed write naming the file
        for item in plan.not_migrated:
            if not item.is_json:
                outcome = FileOutcome(item.rel, "not_migrated", reason=item.reason)
                self.fold.add(FileResult(outcome))

    async def _apply_all(self, parsed: list[SourceFile], rejects: Rejects) -> None:
        """Parse the files in parser processes; apply each in plan order."""
        options = self.options
        jobs = [self._job(item) for item in parsed]
        budget = _BUDGET_BATCHES * options.batch_bytes
        async with parse_in_order(jobs, workers=options.workers, budget_bytes=budget) as files:
            for item in parsed:
                await self._apply(item, files.next_file(), rejects)
                if options.max_rejects is not None and rejects.exceeded:
                    report = self.fold.stopped(options.max_rejects, rejects.count)
                    raise TooManyRejects(report.stopped or "", report)

    async def _apply(
        self, item: SourceFile, messages: AsyncIterator[Message], rejects: Rejects
    ) -> None:
        self.progress.file(item.rel, item.size)
        log.info("%s: opened (%d bytes)", item.rel, item.size)
        began = time.perf_counter()
        earlier = self._skip.get(item.file_no)
        result = await apply_file(
            item,
            messages,
            self.batches,
            rejects,
            self.progress,
            include_orphans=self.options.include_orphans,
            strict=self.options.strict,
            earlier=earlier.counts if earlier else None,
        )
        self.fold.add(result, time.perf_counter() - began)
        self.progress.file_done()
        if item.entity is not None and self.state.due(item.table):
            await self.batches.commit()  # the state file shows committed files only
            await write_state(self.batches.writer, self.state)

    @property
    def _skip(self) -> dict[int, ledger.FileRecord]:
        """The file a resume continues part-way, by number, with its ledger row."""
        return self.prepared.resume.skip if self.prepared.resume else {}

    def _job(self, item: SourceFile) -> Job:
        record = self._skip.get(item.file_no)
        options = self.options
        return Job.of(
            item,
            strict=options.strict,
            migrated_at=self.prepared.migrated_at,
            batch_rows=options.batch_size,
            batch_bytes=options.batch_bytes,
            skip=record.consumed if record else 0,
        )
