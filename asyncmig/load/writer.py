"""The single aiosqlite writer: batches -> transactions, rows and progress together.

A batch is inserted with one ``executemany`` that never overwrites (``ON CONFLICT DO
NOTHING``): the first copy of an id wins (spec section 5). When SQLite reports fewer new
rows than the batch holds, the skipped rows are found by their ids (rare, so it may be
slow). Each file's rows get consecutive rowids; their range, kept with the file's
progress, names the file a duplicate's first copy came from. Per batch that is one call
into the database thread; the file records join the transaction just before it commits.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import aiosqlite
import anyio
import msgspec

from asyncmig.safety import faults
from asyncmig.targets import octoprompt as target
from asyncmig.errors import WriteFailed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from pathlib import Path

    from asyncmig.ipc.wire import Rows
    from asyncmig.output.report import Counts, FileOutcome
    from asyncmig.source.plan import SourceFile

_LOOKUP_CHUNK: Final = 500
#: A file's record: created when it starts, moved on by every batch, closed at its end.
_FILE_RECORD: Final = (
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
_CLEANUP_SECONDS: Final = 10
_outcome_encoder: Final = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A row whose id the table already holds."""

    index: int
    row_id: str
    first_path: str


class Writer:
    """Writes batches into the target database; the only code that touches it.

    A transaction holds at most ``batch_rows`` rows and about ``batch_bytes`` of JSON:
    one batch of a big file, or the batches of several small files. Committing once per
    small file cost 1.5 ms a file (each commit appends whole 64 KiB pages to the WAL):
    29 s for 20,000 chats of three messages."""

    #: How ``data`` is bound: the compact JSON bytes stored as TEXT, never decoded in Python.
    data_sql = "CAST(? AS TEXT)"

    def __init__(self, path: str, *, batch_rows: int, batch_bytes: int) -> None:
        self.path = path
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self._conn: aiosqlite.Connection | None = None
        #: File records (see ``_FILE_RECORD``) to write in the current or next transaction.
        self._pending: list[tuple[object, ...]] = []
        self._open = False
        self._rows = 0
        self._bytes = 0
        #: The rowid each table gives its next new row (tracked, not queried per batch).
        self._next: dict[str, int] = {}

    @property
    def conn(self) -> aiosqlite.Connection:
        assert self._conn is not None, "the writer is not open"
        return self._conn

    async def open(self) -> None:
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            async with self._guard():
                await target.create_schema(self.conn)
        except BaseException:
            await self.close()  # its thread would keep the process alive
            raise

    async def close(self) -> None:
        """Close the connection; an open transaction is rolled back by SQLite."""
        if self._conn is not None:
            with anyio.move_on_after(_CLEANUP_SECONDS, shield=True):
                await self._conn.close()
            self._conn = None

    async def set_run(self, values: dict[str, str]) -> None:
        await self.commit()
        async with self._guard():
            await self.conn.executemany(  # one statement: atomic without a transaction
                "INSERT OR REPLACE INTO asyncmig_run (key, value) VALUES (?, ?)",
                list(values.items()),
            )

    def start_file(self, source: SourceFile, digest: str | None) -> None:
        """Record the file's start and fingerprint; committed with the next write."""
        self._record(source, 0, status="started", digest=digest)

    def progress(self, source: SourceFile, consumed: int, counts: Counts) -> None:
        """Record how far the file is, after a batch: committed with that batch."""
        self._record(source, consumed, status="loading", counts=counts)

    def end_file(self, source: SourceFile, result: FileOutcome, counts: Counts) -> None:
        """Record the file's end and its outcome; committed with the next write."""
        self._record(
            source,
            result.records,
            status=result.status,
            counts=counts,
            outcome=_outcome_encoder.encode(result).decode(),
        )

    def _record(
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
        self._pending.append(
            (
                source.file_no,
                source.rel,
                _table(source),
                source.size,
                source.mtime_ns,
                digest,
                consumed,
                *rowids,
                status,
                None if counts is None else _outcome_encoder.encode(counts).decode(),
                outcome,
            )
        )

    async def plan_files(self, sources: Sequence[SourceFile], *, drop_from: int = 0) -> None:
        """Make the checkpoint's plan ``sources``: first drop every record from file number
        ``drop_from`` on and every row those files loaded (see ``checkpoint``)."""
        await self.commit()
        async with self._guard():
            await self._begin()
            cursor = await self.conn.execute(
                "SELECT tbl, min(first_rowid) FROM asyncmig_files WHERE file_no >= ? "
                "AND first_rowid IS NOT NULL GROUP BY tbl",
                (drop_from,),
            )
            for table, first_rowid in await cursor.fetchall():
                await self.conn.execute(f"DELETE FROM {table} WHERE rowid >= ?", (first_rowid,))
            await self.conn.execute("DELETE FROM asyncmig_files WHERE file_no >= ?", (drop_from,))
            await self.conn.executemany(
                "INSERT INTO asyncmig_files (file_no, path, tbl, size, mtime_ns, status) "
                "VALUES (?, ?, ?, ?, ?, 'planned')",
                [(f.file_no, f.rel, _table(f), f.size, f.mtime_ns) for f in sources],
            )
            await self.conn.execute("COMMIT")
            self._open = False
        self._next.clear()

    async def has_row(self, table: str, row_id: str) -> bool:
        cursor = await self.conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,))
        return await cursor.fetchone() is not None

    async def write(self, source: SourceFile, batch: Rows) -> list[Duplicate]:
        """Insert a batch (one executemany) and record its file's progress in the same
        transaction; the duplicates it held, first copy named."""
        full_rows = self._rows + len(batch.rows) > self.batch_rows
        if self._open and (full_rows or self._bytes + batch.nbytes > self.batch_bytes):
            await self.commit()
        table = _table(source)
        async with self._guard():
            await self._begin()
            first = await self._next_rowid(table)
            before = self.conn.total_changes
            await self.conn.executemany(
                f"INSERT INTO {table} (id, data, created_at, updated_at) VALUES "
                f"(?, {self.data_sql}, ?, ?) ON CONFLICT (id) DO NOTHING",
                batch.rows,
            )
            inserted = self.conn.total_changes - before
            faults.reached("batch")
            duplicates = []
            if inserted != len(batch.rows):
                duplicates = await self._duplicates(source, batch, first)
        # New rows take the next rowids, in order: the file's range, without a query.
        self._next[table] = first + inserted
        last = first + inserted - 1 if inserted else None
        self._record(
            source, batch.consumed, status="loading", rowids=(first if inserted else None, last)
        )
        self._rows += len(batch.rows)
        self._bytes += batch.nbytes
        return duplicates

    async def commit(self) -> None:
        """Commit the open transaction and the file records still pending."""
        if not self._open and not self._pending:
            return
        async with self._guard():
            await self._begin()
            await self._write_records()  # the progress of every batch in this transaction
            await self.conn.execute("COMMIT")
        self._open = False
        faults.reached("commit")
        self._rows = self._bytes = 0

    async def _begin(self) -> None:
        """Open a transaction if none is."""
        if not self._open:
            await self.conn.execute("BEGIN")
            self._open = True

    async def _write_records(self) -> None:
        """Write the pending file records into the open transaction."""
        if self._pending:
            await self.conn.executemany(_FILE_RECORD, self._pending)
            self._pending.clear()

    async def _next_rowid(self, table: str) -> int:
        if table not in self._next:
            cursor = await self.conn.execute(f"SELECT coalesce(max(rowid), 0) + 1 FROM {table}")
            row = await cursor.fetchone()
            self._next[table] = int(row[0]) if row else 1
        return self._next[table]

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """Roll the open transaction back on any BaseException (cancellation included).

        The rollback runs shielded and time-limited; if it fails too, the original error
        is the one that propagates, because it is the one that explains the failure."""
        try:
            yield
        except BaseException as error:
            if self._open:
                self._open = False
                with (
                    anyio.move_on_after(_CLEANUP_SECONDS, shield=True),
                    contextlib.suppress(Exception),
                ):
                    await self.conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise WriteFailed(
                    f"could not write {self.path}: {error}. Every batch committed before this "
                    "one is kept: free space (or fix the disk) and run again with --resume"
                ) from error
            raise

    async def _duplicates(self, source: SourceFile, batch: Rows, first: int) -> list[Duplicate]:
        """The rows of ``batch`` the insert skipped: their id was already there (from an
        earlier batch: rowid below ``first``) or came earlier in the batch."""
        table = _table(source)
        await self._write_records()  # earlier batches' rowid ranges, to name first copies
        existing = await self._existing(table, [row[0] for row in batch.rows])
        duplicates: list[Duplicate] = []
        seen: set[str] = set()
        for row, index in zip(batch.rows, batch.indexes, strict=True):
            rowid = existing.get(row[0], first)
            if rowid < first:
                duplicates.append(Duplicate(index, row[0], await self._source_of(table, rowid)))
            elif row[0] in seen:
                duplicates.append(Duplicate(index, row[0], source.rel))
            seen.add(row[0])
        return duplicates

    async def _existing(self, table: str, ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start : start + _LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            cursor = await self.conn.execute(
                f"SELECT id, rowid FROM {table} WHERE id IN ({marks})", chunk
            )
            found.update({row[0]: row[1] for row in await cursor.fetchall()})
        return found

    async def _source_of(self, table: str, rowid: int) -> str:
        cursor = await self.conn.execute(
            "SELECT path FROM asyncmig_files WHERE tbl = ? AND ? BETWEEN first_rowid AND "
            "last_rowid",
            (table, rowid),
        )
        row = await cursor.fetchone()
        return str(row[0]) if row else "an earlier file"

    async def finish(self) -> None:
        """Indexes, ANALYZE, optimize, WAL checkpoint: the database the server opens."""
        await self.commit()
        async with self._guard():
            await target.finish(self.conn)


class DryRunWriter(Writer):
    """The same writer on a private temporary database that SQLite deletes on close.

    It keeps ids only (``data`` is bound but stored empty), so duplicates and orphans are
    found exactly as in a real run while nothing is written where the user can see it."""

    data_sql = "substr(?, 1, 0)"

    def __init__(self, *, batch_rows: int, batch_bytes: int) -> None:
        super().__init__("", batch_rows=batch_rows, batch_bytes=batch_bytes)

    async def finish(self) -> None:
        await self.commit()


def _table(source: SourceFile) -> str:
    assert source.entity is not None
    return source.entity.table


def make_writer(db: Path, *, dry_run: bool, batch_rows: int, batch_bytes: int) -> Writer:
    if dry_run:
        return DryRunWriter(batch_rows=batch_rows, batch_bytes=batch_bytes)
    return Writer(str(db), batch_rows=batch_rows, batch_bytes=batch_bytes)
