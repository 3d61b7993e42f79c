"""The checkpoint ledger: asyncmig's own two tables in the target, end to end.

``asyncmig_run`` holds the run's settings and phase (:class:`RunSettings`), and
``asyncmig_files`` every planned file in plan order: its fingerprint, how many of its
entries are committed, its rowid range and counts so far. File rows are written in the
same transaction as the rows they describe, so data and checkpoint never disagree.

Files are loaded strictly in plan order and each one's rows take consecutive rowids, so
the rows of files ``k, k+1, ...`` are exactly the rows from the smallest of their first
rowids on. That is what makes a resume exact: keep the longest prefix of the plan that is
done and unchanged, drop every row loaded after it, and load the rest as a first run would.
This module makes, reads (read-only, before the run; through the writer, what is committed,
for the state file's mirror) and writes the ledger; the writer runs its statements, and
:mod:`asyncmig.load.resume` plans a resume from what it read.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec

from asyncmig.errors import ConfigError
from asyncmig.results import Counts, FileOutcome
from asyncmig.storage import open_readonly

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from asyncmig.load.writer import Writer
    from asyncmig.source.plan import SourceFile

#: File statuses that mean "finished"; "planned", "started" and "loading" do not.
DONE: Final = frozenset({"migrated", "damaged", "orphaned"})
#: Run phases, in order: the backup, the load, indexes and optimize, then complete.
Phase = Literal["backup", "loading", "finishing", "complete"]

SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS asyncmig_run (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS asyncmig_files (file_no INTEGER PRIMARY KEY, path TEXT NOT NULL,"
    " tbl TEXT, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest TEXT, consumed INTEGER"
    " NOT NULL DEFAULT 0, first_rowid INTEGER, last_rowid INTEGER, status TEXT NOT NULL,"
    " counts TEXT, outcome TEXT)",
)

#: A file's row: created when it starts, moved on by every batch, closed at its end.
_FILE_ROW: Final = (
    "INSERT INTO asyncmig_files (file_no, path, tbl, size, mtime_ns, digest, consumed, "
    "first_rowid, last_rowid, status, counts, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?) ON CONFLICT (file_no) DO UPDATE SET "
    "digest = coalesce(excluded.digest, asyncmig_files.digest), "
    "consumed = max(excluded.consumed, asyncmig_files.consumed), "
    "first_rowid = coalesce(asyncmig_files.first_rowid, excluded.first_rowid), "
    "last_rowid = coalesce(excluded.last_rowid, asyncmig_files.last_rowid), "
    "status = excluded.status, "
    "counts = coalesce(excluded.counts, asyncmig_files.counts), "
    "outcome = coalesce(excluded.outcome, asyncmig_files.outcome)"
)
_SELECT_FILES: Final = (
    "SELECT file_no, path, size, mtime_ns, digest, consumed, status, counts, outcome, tbl "
    "FROM asyncmig_files ORDER BY file_no"
)
_encoder: Final = msgspec.json.Encoder()
_counts_decoder: Final = msgspec.json.Decoder(Counts)
_outcome_decoder: Final = msgspec.json.Decoder(FileOutcome)


class RunSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``asyncmig_run``: the settings that decide the rows, and where the run is.

    Stored one key per row as text (``true``/``false``, decimal numbers, an empty string
    for none); :func:`settings_rows` and :func:`read` are the only code that converts."""

    data_dir: str | None = None
    migrated_at: int | None = None
    status: Phase = "loading"
    #: None: the database does not record it (written by an older asyncmig).
    strict: bool | None = None
    include_orphans: bool | None = None
    backup: str | None = None
    old_db: str | None = None
    #: The rejects file of each run so far, oldest first, as a JSON list of absolute paths:
    #: a resume names the earlier runs' files, which list the records it did not read again.
    rejects: str | None = None


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
    table: str | None = None

    @property
    def done(self) -> bool:
        return self.status in DONE

    def same_stat(self, source: SourceFile) -> bool:
        return (self.path, self.size, self.mtime_ns) == (source.rel, source.size, source.mtime_ns)


class Checkpoint(msgspec.Struct, frozen=True):
    """What the target database says about the migration it holds."""

    run: RunSettings
    files: list[FileRecord]

    @property
    def done_files(self) -> int:
        return sum(record.done for record in self.files)


def settings_rows(**values: str | int | bool | None) -> list[tuple[str, str]]:
    """``asyncmig_run`` rows for these settings (names as in :class:`RunSettings`)."""
    fields = {f.name for f in msgspec.structs.fields(RunSettings)}
    unknown = set(values) - fields
    assert not unknown, f"not settings of the ledger: {unknown}"
    return [(name, _text(value)) for name, value in values.items()]


def _text(value: str | int | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def decode_settings(rows: dict[str, str]) -> RunSettings:
    """``asyncmig_run``'s rows as settings; ConfigError when a value cannot be read."""
    present = {key: value for key, value in rows.items() if value != ""}
    try:
        return msgspec.convert(present, RunSettings, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError(f"asyncmig_run holds a value asyncmig cannot read: {error}") from None


def read(db: Path) -> Checkpoint | None:
    """The checkpoint of ``db`` (read only); None when it holds no asyncmig migration."""
    if not db.exists():
        return None
    try:
        with closing(open_readonly(db)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if "asyncmig_run" not in names:
                return None
            rows = dict(conn.execute("SELECT key, value FROM asyncmig_run").fetchall())
            files = [_file_record(row) for row in conn.execute(_SELECT_FILES)]
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{db} exists but is not a usable SQLite database: {error}") from None
    return Checkpoint(decode_settings(rows), files)


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    """What the ledger has committed, added up by SQLite (the state file's view): cheap
    however many files there are, where decoding every file row each time was not."""

    phase: str
    files_total: int
    files_done: int
    tables: dict[str, Counts]
    #: (path, damage) of each damaged file, in plan order.
    damaged: list[tuple[str, str]]
    #: The first file not done: (path, table, status); None when every file is.
    unfinished: tuple[str, str | None, str] | None
    #: Of the paths asked about, those whose file is done.
    done_among: frozenset[str]


_COUNTED: Final = tuple(f.name for f in msgspec.structs.fields(Counts))
_DONE_SQL: Final = "status IN ('migrated', 'damaged', 'orphaned')"
_BY_TABLE: Final = (
    f"SELECT tbl, count(*), sum({_DONE_SQL}), "
    + ", ".join(f"sum(coalesce(json_extract(counts, '$.{name}'), 0))" for name in _COUNTED)
    + " FROM asyncmig_files GROUP BY tbl"
)
_DAMAGED: Final = (
    "SELECT path, json_extract(outcome, '$.damage_message') AS damage FROM asyncmig_files "
    "WHERE outcome IS NOT NULL AND damage IS NOT NULL ORDER BY file_no"
)
_UNFINISHED: Final = (
    f"SELECT path, tbl, status FROM asyncmig_files WHERE NOT {_DONE_SQL} ORDER BY file_no LIMIT 1"
)


def summarize(db: Path, paths: Sequence[str] = ()) -> Summary | None:
    """What ``db``'s ledger has committed (read through a read-only connection of its own);
    None when it holds none. ``paths``: files to say of whether they are done."""
    with closing(open_readonly(db)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'asyncmig_run'").fetchone():
            return None
        rows = dict(conn.execute("SELECT key, value FROM asyncmig_run").fetchall())
        tables: dict[str, Counts] = {}
        total = done = 0
        for table, files, finished, *counts in conn.execute(_BY_TABLE):
            total, done = total + files, done + finished
            if table is not None:
                tables[table] = Counts(*counts)
        unfinished = conn.execute(_UNFINISHED).fetchone()
        marks = ", ".join("?" * len(paths))
        among = conn.execute(
            f"SELECT path FROM asyncmig_files WHERE {_DONE_SQL} AND path IN ({marks})", list(paths)
        )
        return Summary(
            phase=decode_settings(rows).status,
            files_total=total,
            files_done=done,
            tables=tables,
            damaged=[(str(path), str(why)) for path, why in conn.execute(_DAMAGED)],
            unfinished=tuple(unfinished) if unfinished else None,
            done_among=frozenset(str(path) for (path,) in among),
        )


def _file_record(row: tuple[Any, ...]) -> FileRecord:
    file_no, path, size, mtime_ns, digest, consumed, status, counts, outcome, table = row
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
        table,
    )


async def record_settings(writer: Writer, **values: str | int | bool | None) -> None:
    """Write settings now, between batches (one statement: atomic on its own)."""
    assert not writer.in_transaction, "settings are written between transactions"
    async with writer.guard():
        await writer.conn.executemany(
            "INSERT OR REPLACE INTO asyncmig_run (key, value) VALUES (?, ?)",
            settings_rows(**values),
        )


async def plan_files(writer: Writer, sources: Sequence[SourceFile], *, drop_from: int = 0) -> None:
    """Make the ledger's plan ``sources``: first drop every file row from number
    ``drop_from`` on, and every row of the target those files loaded."""
    assert not writer.in_transaction, "the plan is written between transactions"
    async with writer.transaction() as conn:
        cursor = await conn.execute(
            "SELECT tbl, min(first_rowid) FROM asyncmig_files WHERE file_no >= ? "
            "AND first_rowid IS NOT NULL GROUP BY tbl",
            (drop_from,),
        )
        for table, first_rowid in await cursor.fetchall():
            await writer.delete_from(table, first_rowid)
        await conn.execute("DELETE FROM asyncmig_files WHERE file_no >= ?", (drop_from,))
        await conn.executemany(
            "INSERT INTO asyncmig_files (file_no, path, tbl, size, mtime_ns, status) "
            "VALUES (?, ?, ?, ?, ?, 'planned')",
            [(f.file_no, f.rel, f.table, f.size, f.mtime_ns) for f in sources],
        )


async def source_of(writer: Writer, table: str, rowid: int) -> str:
    """The file the row ``rowid`` of ``table`` was loaded from (its rowid range says)."""
    cursor = await writer.conn.execute(
        "SELECT path FROM asyncmig_files WHERE tbl = ? AND ? BETWEEN first_rowid AND last_rowid",
        (table, rowid),
    )
    row = await cursor.fetchone()
    return str(row[0]) if row else "an earlier file"


class FileRows:
    """File rows waiting for the transaction that commits the batches they describe."""

    statement: Final = _FILE_ROW

    def __init__(self) -> None:
        self.pending: list[tuple[object, ...]] = []

    def started(self, source: SourceFile, digest: str | None) -> None:
        """The file's start and fingerprint."""
        self._add(source, 0, status="started", digest=digest)

    def batch(
        self, source: SourceFile, consumed: int, rowids: tuple[int | None, int | None]
    ) -> None:
        """A batch of the file was inserted: the rowids it took."""
        self._add(source, consumed, status="loading", rowids=rowids)

    def progress(self, source: SourceFile, consumed: int, counts: Counts) -> None:
        """How far the file is after a batch, and its counts so far."""
        self._add(source, consumed, status="loading", counts=counts)

    def ended(self, source: SourceFile, outcome: FileOutcome, counts: Counts) -> None:
        """The file's end and its outcome."""
        encoded = _encoder.encode(outcome).decode()
        self._add(source, outcome.records, status=outcome.status, counts=counts, outcome=encoded)

    def take(self) -> list[tuple[object, ...]]:
        taken, self.pending = self.pending, []
        return taken

    def _add(
        self,
        source: SourceFile,
        consumed: int,
        *,
        status: str,
        rowids: tuple[int | None, int | None] = (None, None),
        digest: str | None = None,
        counts: Counts | None = None,
        outcome: str | None = None,
    ) -> None:
        encoded = None if counts is None else _encoder.encode(counts).decode()
        self.pending.append(
            (source.file_no, source.rel, source.table, source.size, source.mtime_ns, digest,
             consumed, *rowids, status, encoded, outcome)
        )  # fmt: skip
