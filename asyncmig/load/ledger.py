"""Resume state: the checkpoint inside the target database, and what a resume must redo.

The checkpoint is asyncmig's own two tables in the target, written in the same transaction
as the rows they describe, so data and checkpoint never disagree: ``asyncmig_run`` (the
run's settings and phase) and ``asyncmig_files`` (every planned file in plan order: its
fingerprint, how many of its entries are committed, its rowid range and counts so far).

Files are loaded strictly in plan order and each one's rows take consecutive rowids, so
the rows of files ``k, k+1, ...`` are exactly the rows from the smallest of their first
rowids on. That is what makes a resume exact: keep the longest prefix of the plan that is
done and unchanged, drop every row loaded after it, and load the rest as a first run would.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import msgspec

from asyncmig.errors import ConfigError
from asyncmig.output.report import Counts, FileOutcome

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from asyncmig.source.plan import SourceFile

#: File statuses that mean "finished"; "planned", "started" and "loading" do not.
DONE: Final = frozenset({"migrated", "damaged", "orphaned"})
#: Run phases, in order: the backup, the load, indexes and optimize, then complete.
PHASES: Final = ("backup", "loading", "finishing", "complete")

_counts_decoder: Final = msgspec.json.Decoder(Counts)
_outcome_decoder: Final = msgspec.json.Decoder(FileOutcome)


class FileRecord(msgspec.Struct, frozen=True):
    """One row of ``asyncmig_files``."""

    file_no: int
    path: str
    size: int
    mtime_ns: int
    digest: str | None
    consumed: int
    status: str
    counts: Counts
    outcome: FileOutcome | None

    @property
    def done(self) -> bool:
        return self.status in DONE

    def same_stat(self, source: SourceFile) -> bool:
        return (self.path, self.size, self.mtime_ns) == (source.rel, source.size, source.mtime_ns)


class Checkpoint(msgspec.Struct, frozen=True):
    """What the target database says about the migration it holds."""

    run: dict[str, str]
    files: list[FileRecord]

    @property
    def status(self) -> str:
        return self.run.get("status", "loading")

    @property
    def done_files(self) -> int:
        return sum(record.done for record in self.files)


def read(db: Path) -> Checkpoint | None:
    """The checkpoint of ``db`` (read only); None when it holds no asyncmig migration."""
    if not db.exists():
        return None
    try:
        with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if "asyncmig_run" not in names:
                return None
            run = dict(conn.execute("SELECT key, value FROM asyncmig_run").fetchall())
            files = [_record(row) for row in conn.execute(_SELECT_FILES)]
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{db} exists but is not a usable SQLite database: {error}") from None
    return Checkpoint(run, files)


_SELECT_FILES: Final = (
    "SELECT file_no, path, size, mtime_ns, digest, consumed, status, counts, outcome "
    "FROM asyncmig_files ORDER BY file_no"
)


def _record(row: tuple[Any, ...]) -> FileRecord:
    file_no, path, size, mtime_ns, digest, consumed, status, counts, outcome = row
    return FileRecord(
        file_no,
        path,
        size,
        mtime_ns,
        digest,
        consumed,
        status,
        _counts_decoder.decode(counts) if counts else Counts(),
        _outcome_decoder.decode(outcome) if outcome else None,
    )


def quick_check(db: Path) -> None:
    """Refuse a database SQLite itself finds damaged before resuming into it: the load runs
    with ``synchronous=OFF``, which survives a killed process but not a power cut."""
    with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        result = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if result != ["ok"]:
        raise ConfigError(
            f"{db} is damaged ({'; '.join(result[:3])}), so it cannot be resumed: start "
            "over with --force (the damaged database is moved into the backup)"
        )


@dataclass(slots=True)
class Resume:
    """What a resume keeps and what it loads again."""

    #: Plan files whose earlier result stands: not read again.
    kept: list[tuple[SourceFile, FileRecord]] = field(default_factory=list)
    #: The file the interrupted run was in, if it is unchanged: resumed after ``consumed``.
    partial: tuple[SourceFile, FileRecord] | None = None
    #: Checkpoint records from this file number on are dropped, with every row they loaded.
    drop_from: int = 0
    #: Why files are loaded again, for the report.
    redone: list[str] = field(default_factory=list)

    @property
    def skip(self) -> dict[int, FileRecord]:
        """Plan file number -> the record of a file resumed part-way."""
        return {self.partial[0].file_no: self.partial[1]} if self.partial else {}


def plan_resume(
    checkpoint: Checkpoint, migrated: Sequence[SourceFile], digest: Callable[[Path], str]
) -> Resume:
    """Compare the interrupted run's plan with today's: keep the done and unchanged prefix
    (size, mtime and content hash all equal), resume the file it stopped in if unchanged."""
    records = checkpoint.files
    kept = 0
    while (
        kept < min(len(records), len(migrated))
        and records[kept].done
        and records[kept].same_stat(migrated[kept])
    ):
        kept += 1
    for position in range(kept):  # content hashes: an edit that kept size and mtime
        if _digest_differs(records[position], migrated[position], digest):
            kept = position
            break
    resume = Resume(kept=list(zip(migrated[:kept], records[:kept], strict=True)))
    resume.drop_from = kept
    if kept < len(records) and kept < len(migrated):
        record, source = records[kept], migrated[kept]
        unchanged = record.same_stat(source) and not _digest_differs(record, source, digest)
        if record.status in ("started", "loading") and unchanged:
            resume.partial = (source, record)
            resume.drop_from = kept + 1
            return resume
    resume.redone = _describe_changes(records, migrated, kept)
    return resume


def _digest_differs(record: FileRecord, source: SourceFile, digest: Callable[[Path], str]) -> bool:
    return record.digest is not None and digest(source.path) != record.digest


def _describe_changes(
    records: Sequence[FileRecord], migrated: Sequence[SourceFile], kept: int
) -> list[str]:
    """Why files the interrupted run had loaded are loaded again (nothing if none were)."""
    again = sum(r.status != "planned" for r in records[kept:])
    if not again:
        return []
    record = records[kept]
    if kept >= len(migrated) or record.path not in {f.rel for f in migrated}:
        why = f"{record.path} is gone since the interrupted run"
    elif record.path != migrated[kept].rel:
        why = f"{migrated[kept].rel} was added since the interrupted run"
    else:
        why = f"{record.path} changed since the interrupted run"
    return [f"{why}: the {again} file(s) loaded from there on are migrated again"]
