"""Batches into transactions: a transaction holds at most ``batch_rows`` rows and about
``batch_bytes`` of JSON, one batch of a big file or the batches of several small files,
and commits the ledger's file rows for those batches with them.

Committing once per small file cost 1.5 ms a file (each commit appends whole 64 KiB pages
to the WAL): 29 s for 20,000 chats of three messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import msgspec
import xxhash

from asyncmig.load import conflicts, ledger
from asyncmig.load.conflicts import Resolved
from asyncmig.safety import faults

if TYPE_CHECKING:
    from collections.abc import Callable

    from asyncmig.load.writer import Writer
    from asyncmig.source.messages import Row, Rows
    from asyncmig.source.plan import SourceFile


class Batches:
    """Writes batches through the writer and keeps each file's ledger row in step."""

    def __init__(self, writer: Writer, *, batch_rows: int, batch_bytes: int) -> None:
        self.writer = writer
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        #: File rows to commit with the current (or next) transaction.
        self.files = ledger.FileRows()
        #: Called before each commit: the pipeline flushes the rejects file there, so that
        #: a killed run's file lists every record its checkpoint counts as not migrated.
        self.before_commit: Callable[[], None] = _nothing
        self._rows = 0
        self._bytes = 0

    async def write(self, source: SourceFile, batch: Rows) -> Resolved:
        """Insert a batch (one executemany) into the open transaction, committing first if
        it would grow past its bounds; what became of its rows whose id was taken."""
        writer = self.writer
        full = self._rows + len(batch.rows) > self.batch_rows
        if writer.in_transaction and (full or self._bytes + batch.nbytes > self.batch_bytes):
            await self.commit()
        if writer.digests and source.table not in _KEPT_WHOLE:
            batch = msgspec.structs.replace(batch, rows=[_digested(row) for row in batch.rows])
        table = source.table
        async with writer.guard():
            await writer.begin()
            first, inserted = await writer.insert(table, batch.rows)
            resolved = Resolved()
            if inserted != len(batch.rows):
                # Earlier batches' rowid ranges name holders: written when one is named.
                settle = self._write_file_rows
                resolved = await conflicts.resolve(writer, source, batch, first, settle)
        last = first + inserted - 1 if inserted else None
        self.files.batch(source, batch.consumed, (first if inserted else None, last))
        self._rows += len(batch.rows)
        self._bytes += batch.nbytes
        return resolved

    async def commit(self) -> None:
        """Commit the open transaction and the file rows still pending."""
        if not self.writer.in_transaction and not self.files.pending:
            return
        self.before_commit()
        async with self.writer.transaction():
            await self._write_file_rows()
        faults.reached("commit")
        self._rows = self._bytes = 0

    async def _write_file_rows(self) -> None:
        if self.files.pending:
            await self.writer.conn.executemany(ledger.FileRows.statement, self.files.take())


#: Tables a dry run keeps whole: links are folded into tickets, which needs their data.
_KEPT_WHOLE: Final = frozenset({"tickets"})


def _nothing() -> None:
    pass


def _digested(row: Row) -> Row:
    return row[0], xxhash.xxh3_128_hexdigest(row[1]).encode(), row[2], row[3]
