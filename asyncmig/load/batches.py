"""Batches into transactions: a transaction holds at most ``batch_rows`` rows and about
``batch_bytes`` of JSON, one batch of a big file or the batches of several small files,
and commits the ledger's file rows for those batches with them.

Committing once per small file cost 1.5 ms a file (each commit appends whole 64 KiB pages
to the WAL): 29 s for 20,000 chats of three messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncmig.load import ledger
from asyncmig.results import Duplicate
from asyncmig.safety import faults

if TYPE_CHECKING:
    from asyncmig.load.writer import Writer
    from asyncmig.source.messages import Rows
    from asyncmig.source.plan import SourceFile


class Batches:
    """Writes batches through the writer and keeps each file's ledger row in step."""

    def __init__(self, writer: Writer, *, batch_rows: int, batch_bytes: int) -> None:
        self.writer = writer
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        #: File rows to commit with the current (or next) transaction.
        self.files = ledger.FileRows()
        self._rows = 0
        self._bytes = 0

    async def write(self, source: SourceFile, batch: Rows) -> list[Duplicate]:
        """Insert a batch (one executemany) into the open transaction, committing first if
        it would grow past its bounds; the duplicates it held, first copy named."""
        writer = self.writer
        full = self._rows + len(batch.rows) > self.batch_rows
        if writer.in_transaction and (full or self._bytes + batch.nbytes > self.batch_bytes):
            await self.commit()
        table = source.table
        async with writer.guard():
            await writer.begin()
            first, inserted = await writer.insert(table, batch.rows)
            duplicates = []
            if inserted != len(batch.rows):
                duplicates = await self._duplicates(source, batch, first)
        last = first + inserted - 1 if inserted else None
        self.files.batch(source, batch.consumed, (first if inserted else None, last))
        self._rows += len(batch.rows)
        self._bytes += batch.nbytes
        return duplicates

    async def commit(self) -> None:
        """Commit the open transaction and the file rows still pending."""
        if not self.writer.in_transaction and not self.files.pending:
            return
        async with self.writer.transaction():
            await self._write_file_rows()
        faults.reached("commit")
        self._rows = self._bytes = 0

    async def _write_file_rows(self) -> None:
        if self.files.pending:
            await self.writer.conn.executemany(ledger.FileRows.statement, self.files.take())

    async def _duplicates(self, source: SourceFile, batch: Rows, first: int) -> list[Duplicate]:
        """The rows of ``batch`` the insert skipped: their id was already there (from an
        earlier batch: rowid below ``first``) or came earlier in the batch."""
        table = source.table
        await self._write_file_rows()  # earlier batches' rowid ranges name first copies
        existing = await self.writer.rowids(table, [row[0] for row in batch.rows])
        duplicates: list[Duplicate] = []
        seen: set[str] = set()
        for row, index in zip(batch.rows, batch.indexes, strict=True):
            rowid = existing.get(row[0], first)
            if rowid < first:
                first_path = await ledger.source_of(self.writer, table, rowid)
                duplicates.append(Duplicate(index, row[0], first_path))
            elif row[0] in seen:
                duplicates.append(Duplicate(index, row[0], source.rel))
            seen.add(row[0])
        return duplicates
