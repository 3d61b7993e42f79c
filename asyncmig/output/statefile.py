"""The state file (``.migration-state.json``): a readable mirror of the checkpoint.

The checkpoint in the database is what a resume trusts; this file is for people and
scripts. It is written whole, to a temporary file renamed over the old one, so a reader
never sees half of it, and it is readable by its owner only (it names files and counts,
never a record's content).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

import msgspec

from asyncmig.results import Counts  # noqa: TC001 - msgspec reads field types at runtime
from asyncmig.source.layout import ENTITIES
from asyncmig.storage import write_atomically

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from asyncmig.output.report import Report

VERSION: Final = 1
#: Seconds between two writes while files go by (a table's end always writes).
_EVERY: Final = 2.0
_LISTED_ERRORS: Final = 50


class State(msgspec.Struct, kw_only=True):
    """What the state file holds."""

    version: int = VERSION
    tool: str = "asyncmig"
    status: str
    data_dir: str
    db: str
    migrated_at: int
    updated_at: str
    backup: str | None
    files_done: int
    files_total: int
    current_file: str | None
    completed_tables: list[str]
    tables: dict[str, Counts]
    errors_total: int
    #: The first problems found, as the summary words them.
    errors: list[str]
    resume_command: str


class StateFile:
    """Writes the state file at phase changes, table ends and every couple of seconds."""

    def __init__(
        self, path: Path, report: Callable[[], Report], *, total: int, resume_command: str
    ) -> None:
        self.path = path
        #: The report as far as the run is (the fold's ``current``).
        self.report = report
        self.total = total
        self.done = 0
        self.resume_command = resume_command
        self._written = 0.0
        self._table: str | None = None

    def file_done(self, table: str | None) -> None:
        """Called after each migrated file; writes when a table ended or time went by."""
        self.done += 1
        table_ended = self._table is not None and table != self._table
        self._table = table
        if table_ended or time.monotonic() - self._written >= _EVERY:
            self.write("loading")

    def write(self, status: str) -> None:
        report = self.report()
        current = report.files[-1].path if report.files and status == "loading" else None
        state = State(
            status=status,
            data_dir=report.data_dir,
            db=report.db,
            migrated_at=report.migrated_at,
            updated_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            backup=report.backup,
            files_done=self.done,
            files_total=self.total,
            current_file=current,
            completed_tables=_completed(self._table, status),
            tables=dict(report.tables),
            errors_total=report.problems,
            errors=_errors(report),
            resume_command=self.resume_command,
        )
        write_atomically(self.path, msgspec.json.format(msgspec.json.encode(state)) + b"\n")
        self._written = time.monotonic()


class NoStateFile(StateFile):
    """The dry run's state file: it writes nothing."""

    def __init__(self) -> None:
        pass

    def file_done(self, table: str | None) -> None:
        pass

    def write(self, status: str) -> None:
        pass


def _completed(current: str | None, status: str) -> list[str]:
    """Tables whose every file is done: all of them once loaded, else those before the one
    the run is in (tables load one after another)."""
    tables = [e.table for e in ENTITIES]
    if status in ("finishing", "complete"):
        return tables
    if current is None:
        return []
    return tables[: tables.index(current)]


def _errors(report: Report) -> list[str]:
    lines = [f"{f.path}: {f.status}: {f.damage_message or f.reason}" for f in report.damaged]
    lines += [
        f"{r.path} #{r.index} ({r.table}, {r.outcome}): {'; '.join(r.errors)}"
        for r in report.rejections[:_LISTED_ERRORS]
    ]
    return lines[:_LISTED_ERRORS]
