"""The state file (``.migration-state.json``): a readable mirror of the checkpoint.

The checkpoint in the database (tables ``asyncmig_run`` and ``asyncmig_files``) is what a
resume trusts; this file is for people and scripts, and says only what the checkpoint had
committed when it was written (``updated_at``): files done, counts, the table the run was
in. So it can lag behind the database, never run ahead of it. While a run goes on it says
``incomplete`` (still true if the run is then killed with no chance to write again);
at its end ``complete``, ``interrupted`` or ``failed``. Every run into a database rewrites
it first, from the checkpoint. It is written whole, to a temporary file renamed over the
old one, so a reader never sees half of it, and it is readable by its owner only (it names
files and counts, never a record's content).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Final

import msgspec

from asyncmig.errors import WriteFailed, describe_os_error
from asyncmig.results import Counts  # noqa: TC001 - msgspec reads field types at runtime
from asyncmig.storage import write_atomically

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from asyncmig.output.report import Report

VERSION: Final = 2
#: Seconds between two writes while files go by (a table's end always writes).
_EVERY: Final = 2.0
_LISTED_ERRORS: Final = 50
_TRUTH: Final = (
    "the checkpoint in the database (tables asyncmig_run and asyncmig_files) is what "
    "--resume trusts; this file mirrors what it had committed at updated_at"
)


class Committed(msgspec.Struct, frozen=True, kw_only=True):
    """What the checkpoint had committed, as the state file shows it."""

    #: The run's phase in the checkpoint: backup, loading, finishing or complete.
    phase: str
    files_done: int
    files_total: int
    #: The file the checkpoint shows part-way, if any.
    current_file: str | None
    completed_tables: list[str]
    tables: dict[str, Counts]
    #: Records rejected, orphaned or duplicated, and files damaged.
    problems: int
    #: One line per damaged file.
    damaged: list[str]
    #: Files whose every record the checkpoint has (for listing their rejected records).
    done_paths: frozenset[str]


class State(msgspec.Struct, kw_only=True):
    """What the state file holds."""

    version: int = VERSION
    tool: str = "asyncmig"
    #: incomplete, interrupted, failed or complete.
    status: str
    phase: str
    checkpoint: str = _TRUTH
    pid: int
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
    """Writes the state file from the committed checkpoint when the pipeline asks."""

    def __init__(self, path: Path, report: Callable[[], Report], *, resume_command: str) -> None:
        self.path = path
        #: The report as far as the run is (the fold's ``current``): names and rejections.
        self.report = report
        self.resume_command = resume_command
        self._written = 0.0
        self._table: str | None = None

    def due(self, table: str | None) -> bool:
        """Called after each migrated file: whether to write now (a table ended, or a couple
        of seconds went by since the last write)."""
        table_ended = self._table is not None and table != self._table
        self._table = table
        return table_ended or time.monotonic() - self._written >= _EVERY

    def listed_paths(self) -> list[str]:
        """The files of the rejected records the file would list (the ledger says which of
        them it holds whole)."""
        return sorted({r.path for r in self.report().rejections[:_LISTED_ERRORS]})

    def write(self, status: str, committed: Committed) -> None:
        """Write the file: ``status`` and what ``committed`` says; WriteFailed if it cannot."""
        report = self.report()
        state = State(
            status=status,
            phase=committed.phase,
            pid=os.getpid(),
            data_dir=report.data_dir,
            db=report.db,
            migrated_at=report.migrated_at,
            updated_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            backup=report.backup,
            files_done=committed.files_done,
            files_total=committed.files_total,
            current_file=committed.current_file,
            completed_tables=committed.completed_tables,
            tables=committed.tables,
            errors_total=committed.problems,
            errors=_errors(report, committed),
            resume_command=self.resume_command,
        )
        data = msgspec.json.format(msgspec.json.encode(state)) + b"\n"
        try:
            write_atomically(self.path, data)
        except OSError as error:
            doing = f"could not write the state file {self.path}"
            needed = len(data)
            raise WriteFailed(
                describe_os_error(error, doing, path=self.path, needed=needed)
            ) from error
        self._written = time.monotonic()


class NoStateFile(StateFile):
    """The dry run's state file: it writes nothing."""

    def __init__(self) -> None:
        pass

    def due(self, table: str | None) -> bool:
        return False

    def listed_paths(self) -> list[str]:
        return []

    def write(self, status: str, committed: Committed) -> None:
        pass


def _errors(report: Report, committed: Committed) -> list[str]:
    """Damaged files, then rejected records of files the checkpoint holds whole."""
    lines = list(committed.damaged)
    lines += [
        f"{r.path} #{r.index} ({r.table}, {r.outcome}): {'; '.join(r.errors)}"
        for r in report.rejections[:_LISTED_ERRORS]
        if r.path in committed.done_paths
    ]
    return lines[:_LISTED_ERRORS]
