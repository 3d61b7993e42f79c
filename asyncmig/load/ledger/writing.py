"""Writing the ledger, through the writer: the run's settings, the plan, the file rows that
commit with the batches they describe, and where a row came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import msgspec

from asyncmig.load.ledger import rekeys
from asyncmig.load.ledger.tables import settings_rows

if TYPE_CHECKING:
    from collections.abc import Sequence

    from asyncmig.load.writer import Writer
    from asyncmig.results import Counts, FileOutcome
    from asyncmig.source.plan import SourceFile

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
_encoder: Final = msgspec.json.Encoder()


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
            "SELECT count(*) FROM asyncmig_files WHERE file_no >= ? AND status != 'planned'",
            (drop_from,),
        )
        row = await cursor.fetchone()
        if row and row[0]:
            await rekeys.undo(writer, drop_from)
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


async def sources_of(writer: Writer, table: str, rowids: Sequence[int]) -> dict[int, str]:
    """The file each row of ``table`` among ``rowids`` was loaded from (its file's rowid
    range says): one query for them all."""
    found = dict.fromkeys(rowids, "an earlier file")
    wanted = sorted(set(rowids))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        cursor = await writer.conn.execute(
            f"WITH wanted(r) AS (VALUES {', '.join(['(?)'] * len(chunk))}) "
            "SELECT wanted.r, f.path FROM wanted JOIN asyncmig_files AS f ON f.tbl = ? "
            "AND wanted.r BETWEEN f.first_rowid AND f.last_rowid",
            (*chunk, table),
        )
        found.update({rowid: str(path) for rowid, path in await cursor.fetchall()})
    return found


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
