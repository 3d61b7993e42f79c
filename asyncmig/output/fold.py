"""The one place a Report is built: a fold over what the stages hand back, with one clock.

The start hands over its :class:`~asyncmig.results.StartFacts`, the load a
:class:`~asyncmig.results.FileResult` per file, the rejects sink its sample and counts;
:class:`ReportFold` adds them up (and logs each file as it goes). Elapsed time is measured
from the fold's creation on ``time.perf_counter``, for a finished and a stopped run alike.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import msgspec

from asyncmig.output.report import Report
from asyncmig.results import Counts
from asyncmig.source.layout import ENTITIES
from asyncmig.storage import path_text

if TYPE_CHECKING:
    from asyncmig.options import Options
    from asyncmig.output.rejects import Rejects
    from asyncmig.results import FileResult, PeakMemory, StartFacts

log = logging.getLogger("asyncmig")


class ReportFold:
    """Builds one run's :class:`Report`; nothing else changes it."""

    def __init__(
        self, options: Options, *, bytes_read: int, warnings: tuple[str, ...] = ()
    ) -> None:
        self._started = time.perf_counter()
        self._report = Report(
            data_dir=path_text(options.data_dir),
            db=path_text(options.db),
            dry_run=options.dry_run,
            migrated_at=0,
            tables={entity.table: Counts() for entity in ENTITIES},
            bytes_read=bytes_read,
            options=options,
            warnings=list(warnings),
        )
        for warning in warnings:  # the plan's: the links it followed
            log.warning(warning)
        self._rejects: Rejects | None = None

    def not_carried(self, found: list[tuple[str, str, str, int]]) -> None:
        """What the target has no place for: (table, field, reason, records), from the
        target's conversion."""
        self._report.not_carried = list(found)

    def started(self, facts: StartFacts) -> None:
        """What the start found: warnings, a resume's kept files, the backup."""
        report = self._report
        report.migrated_at = facts.migrated_at
        report.resumed = facts.resumed
        report.kept_files = len(facts.kept)
        report.redone = list(facts.redone)
        report.backup = facts.backup
        report.restore_command = facts.restore_command
        report.moved_db = facts.moved_db
        report.earlier = facts.earlier
        report.disk = list(facts.disk)
        if facts.earlier is not None:  # the files the earlier runs finished are not read
            report.bytes_read -= facts.earlier.nbytes
        report.warnings.extend(facts.warnings)
        for warning in facts.warnings:
            log.warning(warning)
        for result in facts.kept:  # finished by an interrupted run: as it left them
            self.add(result, result.outcome.seconds)

    def listing(self, rejects: Rejects) -> None:
        """The sink of records not migrated: its sample and counts go into the report."""
        self._rejects = rejects

    def add(self, result: FileResult, seconds: float = 0.0) -> None:
        """One file's result, ``seconds`` from the writer reaching it to its end."""
        outcome = msgspec.structs.replace(result.outcome, seconds=seconds)
        self._add(msgspec.structs.replace(result, outcome=outcome))
        counts = result.counts
        log.info(
            "%s: %s, %d record(s), %d upgraded, %d rejected, %d duplicate, %d orphaned, "
            "%d re-keyed, %d superseded, %.3f s",
            outcome.path,
            outcome.status,
            outcome.records,
            counts.upgraded,
            counts.rejected,
            counts.duplicate,
            counts.orphaned,
            counts.rekeyed,
            counts.superseded,
            seconds,
        )
        for warning in result.warnings:
            log.warning(warning)

    def _add(self, result: FileResult) -> None:
        report = self._report
        outcome = result.outcome
        report.files.append(outcome)
        if outcome.table is not None and outcome.status != "not_migrated":
            before = report.tables.get(outcome.table, Counts())
            report.tables[outcome.table] = before + result.counts
        report.warnings.extend(result.warnings)

    def current(self) -> Report:
        """The report as far as the run is now."""
        report = self._report
        if self._rejects is not None:
            report.rejections = list(self._rejects.sample)
            report.rekeyed = list(self._rejects.moved_sample)
            report.rekeyed_listed = self._rejects.moved
            report.rejects_file = self._rejects.file
            report.rejects_lines = self._rejects.lines
        report.elapsed = time.perf_counter() - self._started
        return report

    def stopped(self, limit: int, count: int) -> Report:
        """The run stops early: more records were not migrated than ``limit`` allows."""
        report = self.current()
        report.stopped = (
            f"{count:,} records were not migrated, more than --max-rejects {limit:,} allows"
        )
        return report

    def loaded(self, peak: PeakMemory) -> None:
        """The load is over (parser processes ended): their peak memory is known."""
        self._report.peak_memory = peak
