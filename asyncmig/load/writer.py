"""The single aiosqlite writer: the connection, transactions, batch inserts and id lookups.

Every write to the target database goes through this connection (the checks before the
run and verify open their own read-only ones). A batch is inserted with one
``executemany`` that never overwrites (``ON CONFLICT DO NOTHING``); each table's new rows
take consecutive rowids, tracked here rather than queried per batch.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from typing import TYPE_CHECKING, Final

import aiosqlite
import anyio

from asyncmig.errors import WriteFailed, full_disk
from asyncmig.safety import faults

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

    from asyncmig.source.messages import Row
    from asyncmig.targets import Target

_LOOKUP_CHUNK: Final = 500
_CLEANUP_SECONDS: Final = 10


class Writer:
    """One connection to the target database (``""``: a private temporary database that
    SQLite deletes on close, for the dry run)."""

    #: How ``data`` is bound: the compact JSON bytes stored as TEXT, never decoded in Python.
    DATA_SQL: Final = "CAST(? AS TEXT)"

    def __init__(
        self,
        path: str,
        target: Target,
        *,
        digests: bool = False,
        finishing: Sequence[tuple[str, str | None]] = (),
    ) -> None:
        self.path = path
        #: The dry run stores a digest of each record's data, not the data: enough to tell a
        #: copy from a different record, at 32 bytes a row.
        self.digests = digests
        #: Statements run after the load, each with its fault point (none in a dry run).
        self.finishing = finishing
        #: The database table each source table's rows go to (the target's staging table).
        self._stored = {table: target.staged(table) for table in target.tables}
        self._inserts = {table: target.insert(table, self.DATA_SQL) for table in target.tables}
        self._replaces = {
            table: f"UPDATE {self.stored(table)} SET data = {self.DATA_SQL}, created_at = ?, "
            "updated_at = ? WHERE id = ?"
            for table in target.tables
        }
        self._conn: aiosqlite.Connection | None = None
        self.in_transaction = False
        #: The rowid each table gives its next new row.
        self._next: dict[str, int] = {}

    def stored(self, table: str) -> str:
        """The database table the load writes ``table``'s rows into."""
        return self._stored[table]

    @property
    def conn(self) -> aiosqlite.Connection:
        assert self._conn is not None, "the writer is not open"
        return self._conn

    async def open(self, schema: Sequence[str]) -> None:
        """Connect and run ``schema`` (the target's, then the ledger's): its leading PRAGMAs
        one by one (a journal mode cannot change inside a transaction), the rest as one
        script in one transaction, where a statement each cost a commit and a round trip
        to the connection's thread (about 15 ms a run, twice for a new database)."""
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        pragmas = list(itertools.takewhile(lambda s: s.upper().startswith("PRAGMA "), schema))
        script = ";\n".join(["BEGIN", *schema[len(pragmas) :], "COMMIT"])
        try:
            async with self.guard():
                for statement in pragmas:
                    await self.conn.execute(statement)
                await self.conn.executescript(script)
        except BaseException:
            await self.close()  # its thread would keep the process alive
            raise

    async def close(self) -> None:
        """Close the connection; an open transaction is rolled back by SQLite."""
        if self._conn is not None:
            with anyio.move_on_after(_CLEANUP_SECONDS, shield=True):
                await self._conn.close()
            self._conn = None

    async def settle(self) -> None:
        """Wait (shielded, time-limited) until every statement already handed to SQLite's
        thread has run. A statement whose caller was cancelled still runs to its end there
        (a commit, a setting written on its own): what reads the database next must see
        it, as a resume will."""
        if self._conn is not None:
            with (
                anyio.move_on_after(_CLEANUP_SECONDS, shield=True),
                contextlib.suppress(Exception),
            ):
                await self._conn.execute("SELECT 1")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction around the block (joining the open one, if any), committed at
        its end and rolled back on any exception."""
        async with self.guard():
            await self.begin()
            yield self.conn
            await self.commit()

    async def begin(self) -> None:
        """Open a transaction if none is."""
        if not self.in_transaction:
            await self.conn.execute("BEGIN")
            self.in_transaction = True

    async def commit(self) -> None:
        if self.in_transaction:
            await self.conn.execute("COMMIT")
            self.in_transaction = False

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Roll the open transaction back on any BaseException (cancellation included), and
        word SQLite's errors as a failed write.

        The rollback runs shielded and time-limited; if it fails too, the original error
        is the one that propagates, because it is the one that explains the failure."""
        try:
            yield
        except BaseException as error:
            if self.in_transaction:
                self.in_transaction = False
                with (
                    anyio.move_on_after(_CLEANUP_SECONDS, shield=True),
                    contextlib.suppress(Exception),
                ):
                    await self.conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise WriteFailed(_could_not_write(self.path, error)) from error
            raise

    async def insert(self, table: str, rows: Sequence[Row]) -> tuple[int, int]:
        """Insert ``rows`` into the open transaction; (the first new rowid, rows inserted).
        Rows whose id the table holds, or an earlier row of the batch had, are skipped."""
        first = await self._next_rowid(table)
        before = self.conn.total_changes
        await self.conn.executemany(self._inserts[table], rows)
        inserted = self.conn.total_changes - before
        faults.reached("batch")
        self._next[table] = first + inserted  # new rows took the next rowids, in order
        return first, inserted

    async def replace(self, table: str, rows: Sequence[Row]) -> None:
        """Replace the rows of ``table`` holding these rows' ids with them, in order."""
        await self.conn.executemany(self._replaces[table], [(*row[1:], row[0]) for row in rows])

    async def taken(
        self, table: str, ids: Sequence[str], first: int
    ) -> dict[str, tuple[int, bytes | None]]:
        """For each of ``ids`` that ``table`` holds: its rowid, and its stored ``data`` when
        an earlier batch wrote it (rowid below ``first``; this batch's are in memory)."""
        found: dict[str, tuple[int, bytes | None]] = {}
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start : start + _LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            cursor = await self.conn.execute(
                "SELECT id, rowid, CASE WHEN rowid < ? THEN CAST(data AS BLOB) END "
                f"FROM {self.stored(table)} WHERE id IN ({marks})",
                (first, *chunk),
            )
            found.update({row[0]: (row[1], row[2]) for row in await cursor.fetchall()})
        return found

    async def data_of(self, table: str, ids: Sequence[str]) -> dict[str, bytes]:
        """The stored ``data`` of each of ``ids`` that ``table`` holds."""
        found: dict[str, bytes] = {}
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start : start + _LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            cursor = await self.conn.execute(
                f"SELECT id, CAST(data AS BLOB) FROM {self.stored(table)} WHERE id IN ({marks})",
                chunk,
            )
            found.update({row[0]: row[1] for row in await cursor.fetchall()})
        return found

    async def delete_from(self, table: str, first_rowid: int) -> None:
        """Delete the rows of ``table`` from ``first_rowid`` on (what later files loaded)."""
        await self.conn.execute(
            f"DELETE FROM {self.stored(table)} WHERE rowid >= ?", (first_rowid,)
        )
        self._next.pop(table, None)

    async def has_row(self, table: str, row_id: str) -> bool:
        cursor = await self.conn.execute(
            f"SELECT 1 FROM {self.stored(table)} WHERE id = ?", (row_id,)
        )
        return await cursor.fetchone() is not None

    async def checkpoint(self) -> None:
        """Copy the WAL into the main file and empty it (between transactions)."""
        assert not self.in_transaction, "a checkpoint waits for the commit"
        async with self.guard():
            await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def finish(self, done: Callable[[], None] = lambda: None) -> None:
        """Run the finishing statements outside any transaction, each one's fault point
        reached after it, and ``done`` called after each (progress)."""
        assert not self.in_transaction, "the load's last batch is committed first"
        async with self.guard():
            for statement, point in self.finishing:
                await self.conn.execute(statement)
                if point is not None:
                    faults.reached(point)
                done()

    async def _next_rowid(self, table: str) -> int:
        if table not in self._next:
            cursor = await self.conn.execute(
                f"SELECT coalesce(max(rowid), 0) + 1 FROM {self.stored(table)}"
            )
            row = await cursor.fetchone()
            self._next[table] = int(row[0]) if row else 1
        return self._next[table]


def _could_not_write(path: str, error: sqlite3.Error) -> str:
    """SQLite's failure in one line; a full disk named with its free space. What was
    committed, and the command that goes on, the command line says (it knows the options)."""
    text = f"could not write {path}: {error}"
    code = getattr(error, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL:
        text += "; " + full_disk(path)
    elif code is not None and code & 0xFF == sqlite3.SQLITE_BUSY:
        # Not another asyncmig run (its lock refuses that one up front): the server?
        text += "; another process is writing it (the OctoPrompt server?): stop that process"
    return text
