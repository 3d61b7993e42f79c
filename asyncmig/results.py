"""What the stages hand back: small immutable records that add up.

A file's :class:`FileResult` comes out of the load, :class:`StartFacts` out of the start,
and :mod:`asyncmig.output.fold` folds them into the run's report; nothing below output
knows the report. This module imports nothing of asyncmig, so every stage may use it.
"""

from __future__ import annotations

import resource
import sys
from typing import Literal

import msgspec

FileStatus = Literal["migrated", "damaged", "orphaned", "not_migrated", "unreadable", "stopped"]


class Counts(msgspec.Struct, frozen=True):
    """What became of one table's records; ``found`` is the sum of the five outcomes
    (migrated, rejected, orphaned, duplicate, superseded). ``upgraded`` counts migrated
    records that needed a known legacy upgrade, ``rekeyed`` migrated records that moved to
    a new id because theirs was taken (both are parts of ``migrated``)."""

    found: int = 0
    migrated: int = 0
    upgraded: int = 0
    rejected: int = 0
    orphaned: int = 0
    duplicate: int = 0
    rekeyed: int = 0
    #: Records replaced by a later one for the same key (MCP server states: last wins).
    superseded: int = 0

    def __add__(self, other: Counts) -> Counts:
        # Spelled out: added once per batch and per rejected record, the generic
        # astuple-and-zip form was 40 ms of a 1.4 s run on 100 MB of small files.
        return Counts(
            self.found + other.found,
            self.migrated + other.migrated,
            self.upgraded + other.upgraded,
            self.rejected + other.rejected,
            self.orphaned + other.orphaned,
            self.duplicate + other.duplicate,
            self.rekeyed + other.rekeyed,
            self.superseded + other.superseded,
        )

    @property
    def seen(self) -> int:
        """Records accounted for so far (``found`` once the file is done)."""
        return self.migrated + self.rejected + self.orphaned + self.duplicate + self.superseded


class FileOutcome(msgspec.Struct, frozen=True):
    """One file under the data root and what became of it."""

    path: str
    status: FileStatus
    table: str | None = None
    records: int = 0
    reason: str | None = None
    damage_offset: int | None = None
    damage_message: str | None = None
    #: Seconds from the writer reaching the file to its last record applied.
    seconds: float = 0.0


class FileResult(msgspec.Struct, frozen=True):
    """What one file contributed to the run (its records not migrated went to the rejects
    sink as they arrived)."""

    outcome: FileOutcome
    counts: Counts = Counts()
    warnings: tuple[str, ...] = ()


class Rejection(msgspec.Struct, frozen=True):
    """A record that was not migrated because it is invalid or a duplicate."""

    path: str
    index: int
    table: str
    outcome: Literal["rejected", "duplicate"]
    record_id: str | None
    errors: tuple[str, ...]
    offset: int | None = None


class Conflict(msgspec.Struct, frozen=True):
    """A row of a batch that is not migrated although it is valid: a copy of a record
    already migrated, or a repeated link (duplicate), or a record whose string id is taken
    by other data, or a link with no ticket to fold into (rejected); ``message`` says
    which, naming where the record it met came from."""

    index: int
    row_id: str
    outcome: Literal["duplicate", "rejected"]
    message: str


class Moved(msgspec.Struct, frozen=True):
    """A record migrated under a new id: its id was taken by a different record."""

    path: str
    index: int
    table: str
    old_id: str
    new_id: str


class DiskNeed(msgspec.Struct, frozen=True):
    """Space a run needs on one file system, estimated before it writes anything."""

    #: A folder on that file system (the one the run writes to).
    folder: str
    nbytes: int
    #: What takes it, in words ("the database 12.0 MB, its WAL 28.0 MB").
    what: str


class EarlierRuns(msgspec.Struct, frozen=True):
    """What a resume takes over from the runs before it, so that the summary can tell this
    run's work from theirs."""

    #: The ledger's phase when this run started: "complete" for a finished migration
    #: brought up to date, anything else for an interrupted one.
    status: str
    #: Records the kept files (and the committed part of a resumed file) held.
    records: int = 0
    #: Bytes of JSON in the kept files: not read again by this run.
    nbytes: int = 0
    #: The rejects files the earlier runs wrote that still exist, oldest first.
    rejects_files: tuple[str, ...] = ()


class StartFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the start (refusals, backup, opening the target) found and decided."""

    #: Epoch milliseconds every row without its own time is stamped with.
    migrated_at: int
    warnings: tuple[str, ...] = ()
    resumed: bool = False
    #: Files an interrupted run finished, with the results it recorded for them.
    kept: tuple[FileResult, ...] = ()
    #: Why files an interrupted run had loaded are loaded again.
    redone: tuple[str, ...] = ()
    #: The backup folder this run (or the run it resumes) made, if any.
    backup: str | None = None
    #: The one command that undoes the run and restores the backup.
    restore_command: str | None = None
    #: The backup's copy of the database that was there before (moved out by ``--force``,
    #: or the server's empty one, which the new database replaces).
    moved_db: str | None = None
    #: A resume: what the earlier runs did.
    earlier: EarlierRuns | None = None
    #: The space a run needs, per file system (a dry run reports it).
    disk: tuple[DiskNeed, ...] = ()


class PeakMemory(msgspec.Struct, frozen=True):
    """Peak resident memory of this process and of its largest finished child (a parser)."""

    main_bytes: int
    largest_child_bytes: int

    @classmethod
    def measure(cls) -> PeakMemory:
        """Now, from the OS (children count once they have been waited for)."""
        # ru_maxrss is in KiB on Linux, in bytes on macOS.
        scale = 1 if sys.platform == "darwin" else 1024
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return cls(own * scale, children * scale)
