"""The single aiosqlite writer: one batch -> one transaction (rows and progress together).

A batch is inserted with one ``executemany`` that never overwrites (``ON CONFLICT DO
NOTHING``). When SQLite reports fewer new rows than the batch holds, the transaction is
rolled back and the batch is split into new rows and duplicates (first wins, spec section
5), which is rare and so may be slow. Each file's rows get consecutive rowids; their range,
kept with the file's progress, names the file a duplicate's first copy came from.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import aiosqlite
import anyio

from asyncmig import target

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from pathlib import Path

    from asyncmig.protocol import Row, Rows
    from asyncmig.source import SourceFile

_LOOKUP_CHUNK: Final = 500
_CLEANUP_SECONDS: Final = 10


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A row whose id the table already holds."""

    index: int
    row_id: str
    first_path: str


class Writer:
    """Writes batches into the target database; the only code that touches it."""

    #: How ``data`` is bound: the compact JSON bytes stored as TEXT, never decoded in Python.
    data_sql = "CAST(? AS TEXT)"

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        #: File bookkeeping to run at the start of the next transaction.
        self._pending: list[tuple[str, tuple[object, ...]]] = []

    @property
    def conn(self) -> aiosqlite.Connection:
        assert self._conn is not None, "the writer is not open"
        return self._conn

    async def open(self) -> None:
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        await target.create_schema(self.conn)

    async def close(self) -> None:
        if self._conn is not None:
            with anyio.move_on_after(_CLEANUP_SECONDS, shield=True):
                await self._conn.close()
            self._conn = None

    async def set_run(self, values: dict[str, str]) -> None:
        async with self.transaction():
            await self.conn.executemany(
                "INSERT OR REPLACE INTO asyncmig_run (key, value) VALUES (?, ?)",
                list(values.items()),
            )

    def start_file(self, source: SourceFile) -> None:
        """Record the file; committed with its first batch, or with the next write."""
        self._pending.append(
            (
                "INSERT OR REPLACE INTO asyncmig_files (file_no, path, tbl, size, mtime_ns, "
                "status) VALUES (?, ?, ?, ?, ?, 'started')",
                (source.file_no, source.rel, _table(source), source.size, source.mtime_ns),
            )
        )

    def end_file(self, source: SourceFile, status: str, consumed: int) -> None:
        """Record the file's end; committed with the next write (one transaction less per
        file: on thousands of small files those commits cost more than the rows)."""
        self._pending.append(
            (
                "UPDATE asyncmig_files SET status = ?, consumed = ? WHERE file_no = ?",
                (status, consumed, source.file_no),
            )
        )

    async def flush(self) -> None:
        """Commit the file records still pending."""
        if self._pending:
            async with self.transaction():
                pass

    async def has_row(self, table: str, row_id: str) -> bool:
        cursor = await self.conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,))
        return await cursor.fetchone() is not None

    async def write(self, source: SourceFile, batch: Rows) -> list[Duplicate]:
        """Insert a batch in one transaction; the duplicates it held, first copy named."""
        table = _table(source)
        sql = (
            f"INSERT INTO {table} (id, data, created_at, updated_at) VALUES "
            f"(?, {self.data_sql}, ?, ?) ON CONFLICT (id) DO NOTHING"
        )
        try:
            async with self.transaction():
                before = self.conn.total_changes
                await self.conn.executemany(sql, batch.rows)
                inserted = self.conn.total_changes - before
                if inserted != len(batch.rows):
                    raise _HasDuplicates
                await self._progress(source, batch.consumed, inserted)
        except _HasDuplicates:
            return await self._write_split(source, batch)
        return []

    async def _write_split(self, source: SourceFile, batch: Rows) -> list[Duplicate]:
        table = _table(source)
        existing = await self._existing(table, [row[0] for row in batch.rows])
        fresh: list[Row] = []
        duplicates: list[Duplicate] = []
        seen: set[str] = set()
        for row, index in zip(batch.rows, batch.indexes, strict=True):
            if row[0] in existing:  # before `seen`: the first copy is the earlier file's
                first = await self._source_of(table, existing[row[0]])
                duplicates.append(Duplicate(index, row[0], first))
            elif row[0] in seen:
                duplicates.append(Duplicate(index, row[0], source.rel))
            else:
                fresh.append(row)
            seen.add(row[0])
        sql = (
            f"INSERT INTO {table} (id, data, created_at, updated_at) VALUES "
            f"(?, {self.data_sql}, ?, ?)"
        )
        async with self.transaction():
            await self.conn.executemany(sql, fresh)
            await self._progress(source, batch.consumed, len(fresh))
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

    async def _progress(self, source: SourceFile, consumed: int, inserted: int) -> None:
        if inserted:
            await self.conn.execute(
                "UPDATE asyncmig_files SET consumed = ?, last_rowid = last_insert_rowid(), "
                "first_rowid = coalesce(first_rowid, last_insert_rowid() - ? + 1) "
                "WHERE file_no = ?",
                (consumed, inserted, source.file_no),
            )
        else:
            await self.conn.execute(
                "UPDATE asyncmig_files SET consumed = ? WHERE file_no = ?",
                (consumed, source.file_no),
            )

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """BEGIN ... COMMIT, rolled back on any BaseException (cancellation included).

        The rollback runs shielded and time-limited; if it fails too, the original error
        is the one that propagates, because it is the one that explains the failure."""
        await self.conn.execute("BEGIN")
        try:
            for statement, parameters in self._pending:
                await self.conn.execute(statement, parameters)
            yield
        except BaseException:
            with anyio.move_on_after(_CLEANUP_SECONDS, shield=True), contextlib.suppress(Exception):
                await self.conn.execute("ROLLBACK")
            raise
        await self.conn.execute("COMMIT")
        self._pending.clear()

    async def finish(self) -> None:
        """Indexes, ANALYZE, optimize, WAL checkpoint: the database the server opens."""
        await self.flush()
        await target.finish(self.conn)


class DryRunWriter(Writer):
    """The same writer on a private temporary database that SQLite deletes on close.

    It keeps ids only (``data`` is bound but stored empty), so duplicates and orphans are
    found exactly as in a real run while nothing is written where the user can see it."""

    data_sql = "substr(?, 1, 0)"

    def __init__(self) -> None:
        super().__init__("")

    async def finish(self) -> None:
        return None


class _HasDuplicates(Exception):
    """The batch holds ids the table already has: redo it the slow way."""


def _table(source: SourceFile) -> str:
    assert source.entity is not None
    return source.entity.table


def make_writer(db: Path, *, dry_run: bool) -> Writer:
    return DryRunWriter() if dry_run else Writer(str(db))
