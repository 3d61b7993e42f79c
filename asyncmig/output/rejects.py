"""Every record not migrated, as it arrives: a JSON Lines file, a capped sample, the limit.

One line per rejected, orphaned or duplicate record, and per damaged or unreadable file,
written the moment the writer meets it (nothing is gathered in memory). A line holds the
source file, the index in it, the byte offset where the reader knew it, the table, the
record's id, the outcome, every error with its JSON path, and the original record as read
(one line of JSON, its secrets redacted by :mod:`asyncmig.source.redact`; no excerpt of a
damaged file of secrets). Rejected records bring their original from the parser; orphans
and duplicates were sent as rows, so their originals are read again from the file, only
when a rejects file is being written. The file is meant to be shareable for support.
"""

from __future__ import annotations

import logging
import os
from typing import IO, TYPE_CHECKING, Final, Literal

import anyio
import msgspec

from asyncmig.errors import ConfigError, WriteFailed, describe_os_error
from asyncmig.output.originals import Originals, read_excerpt
from asyncmig.results import Rejection
from asyncmig.source import redact
from asyncmig.storage import path_text

if TYPE_CHECKING:
    from pathlib import Path

    from asyncmig.results import Conflict, Moved
    from asyncmig.source.messages import Reject, Rows
    from asyncmig.source.plan import SourceFile

log = logging.getLogger("asyncmig")

#: Rejections kept in memory (for the summary); the rejects file holds every one.
SAMPLE: Final = 100

Outcome = Literal[
    "rejected", "orphaned", "duplicate", "damaged", "unreadable", "rekeyed", "not_carried"
]


class LineError(msgspec.Struct, frozen=True):
    """One error: where in the record (a JSON path, None for the record as a whole)."""

    path: str | None
    message: str


class RejectLine(msgspec.Struct, frozen=True):
    """One line of the rejects file."""

    file: str
    index: int | None
    offset: int | None
    table: str | None
    id: str | None
    outcome: Outcome
    errors: list[LineError]
    #: The record's JSON text as read (compact, secrets redacted); None when unknown.
    record: msgspec.Raw | None = None
    #: For a damaged file: the text around the damage.
    excerpt: str | None = None


def split_error(text: str) -> LineError:
    """``"$.a.b: message"`` -> its path and message."""
    if text.startswith("$"):
        path, sep, message = text.partition(": ")
        if sep:
            return LineError(path, message)
    return LineError(None, text)


def _line_error(rejection: Rejection, text: str) -> LineError:
    if rejection.outcome == "duplicate":
        return LineError("$.id", text)
    return split_error(text)


class Rejects:
    """The writer's account of records not migrated: file, sample, counts, limit."""

    def __init__(self, path: Path | None, limit: int | None) -> None:
        self.limit = limit
        self.path = path
        #: Records not migrated so far (rejected, orphaned, duplicate).
        self.count = 0
        #: The first :data:`SAMPLE` rejected or duplicate records.
        self.sample: list[Rejection] = []
        #: Records migrated under a new id, and the first :data:`SAMPLE` of them.
        self.moved = 0
        self.moved_sample: list[Moved] = []
        #: Lines written to the file, and its name once it is open.
        self.lines = 0
        self.file: str | None = None
        self._out: IO[bytes] | None = None
        self._encoder = msgspec.json.Encoder()
        self._originals: Originals | None = None

    def open(self) -> None:
        """Create the file now (owner-only: it holds other people's records), so a path
        that cannot be written fails the run before any record is."""
        if self.path is None:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as error:
            raise ConfigError(f"cannot write the rejects file {self.path}: {error}") from None
        self._out = os.fdopen(fd, "wb")
        self.file = path_text(self.path)  # for the report and the summary: UTF-8

    def close(self) -> None:
        self.file_done()
        if self._out is not None:
            out, self._out = self._out, None
            try:
                out.close()
            except OSError as error:
                raise self._failed(error) from error

    def flush(self) -> None:
        """Hand the lines so far to the system: called before each commit, so that a run
        killed after it leaves every record its checkpoint holds as not migrated listed."""
        if self._out is not None:
            try:
                self._out.flush()
            except OSError as error:
                raise self._failed(error) from error

    def reopen(self) -> None:
        """Append to the file again, after the load (what the target did not carry)."""
        if self.path is None or self._out is not None:
            return
        try:
            self._out = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_APPEND), "ab")
        except OSError as error:
            raise self._failed(error) from error

    def not_carried(self, row: tuple[str, str, str, str, str, str | None]) -> None:
        """A record (field ``*``) or a field the target has no place for, migrated all the
        same: (source file, table, id, field, reason, the record or the field's JSON)."""
        file, table, record_id, field, reason, value = row
        kept = None
        if value is not None:
            kept = msgspec.Raw(redact.original(value.encode(), table) if field == "*" else value)
        path = None if field == "*" else f"$.{field}"
        line = [LineError(path, reason)]
        self._write(RejectLine(file, None, None, table, record_id, "not_carried", line, kept))

    @property
    def exceeded(self) -> bool:
        """More records were not migrated than the limit allows."""
        return self.limit is not None and self.count > self.limit

    def rejected(self, source: SourceFile, message: Reject) -> None:
        rejection = Rejection(
            source.rel,
            message.index,
            source.table,
            "rejected",
            message.record_id,
            tuple(message.errors),
            message.offset,
        )
        self._listed(rejection, message.original)

    async def conflicts(self, source: SourceFile, conflicts: list[Conflict]) -> None:
        """Records whose id was taken and that are not migrated: copies, and records whose
        id cannot move (or links that cannot be folded), each naming the record it met."""
        originals = await self._read_again(source, [c.index for c in conflicts])
        for conflict, original in zip(conflicts, originals, strict=True):
            error = conflict.message
            rejection = Rejection(
                source.rel,
                conflict.index,
                source.table,
                conflict.outcome,
                conflict.row_id,
                (error,),
            )
            self._listed(rejection, original)

    def rekeyed(self, moved: Moved) -> None:
        """A record migrated under a new id (its own was taken by a different record)."""
        self.moved += 1
        if len(self.moved_sample) < SAMPLE:
            self.moved_sample.append(moved)
        if log.isEnabledFor(logging.INFO):  # a root may move tens of thousands
            log.info(
                "%s #%d (%s): id %s was taken, migrated as id %s",
                moved.path,
                moved.index,
                moved.table,
                moved.old_id,
                moved.new_id,
            )
        error = LineError("$.id", f"id {moved.old_id} was taken: migrated as id {moved.new_id}")
        self._write(
            RejectLine(moved.path, moved.index, None, moved.table, moved.new_id, "rekeyed", [error])
        )

    async def orphaned(self, source: SourceFile, batch: Rows, reason: str) -> None:
        self.count += len(batch.rows)
        if self._out is None:
            return
        originals = await self._read_again(source, batch.indexes)
        errors, table = [LineError(None, reason)], source.table
        for row, index, original in zip(batch.rows, batch.indexes, originals, strict=True):
            record = None if original is None else msgspec.Raw(original)
            self._write(
                RejectLine(source.rel, index, None, table, row[0], "orphaned", errors, record)
            )
        log.debug("%s: %d orphaned record(s) listed", source.rel, len(batch.rows))

    def damaged(self, source: SourceFile, found: int, offset: int | None, message: str) -> None:
        """The file ends early: ``found`` complete records were read before ``offset``."""
        excerpt = None if offset is None else read_excerpt(source.path, offset, source.table)
        error = LineError(None, f"{message} ({found} complete record(s) read before it)")
        line = RejectLine(source.rel, found, offset, source.table, None, "damaged", [error])
        self._write(msgspec.structs.replace(line, excerpt=excerpt))

    def unreadable(self, source: SourceFile, message: str) -> None:
        error = LineError(None, message)
        table = source.entity.table if source.entity else None
        self._write(RejectLine(source.rel, None, None, table, None, "unreadable", [error]))

    def file_done(self) -> None:
        """The writer is past the file: stop reading it again."""
        if self._originals is not None:
            self._originals.close()
            self._originals = None

    def _listed(self, rejection: Rejection, original: bytes | None) -> None:
        """A rejected or duplicate record: counted, sampled, logged and written."""
        self.count += 1
        if len(self.sample) < SAMPLE:
            self.sample.append(rejection)
        if log.isEnabledFor(logging.INFO):
            record = f" id {rejection.record_id}" if rejection.record_id is not None else ""
            log.info(
                "%s #%d%s (%s, %s): %s",
                rejection.path,
                rejection.index,
                record,
                rejection.table,
                rejection.outcome,
                "; ".join(rejection.errors),
            )
        if self._out is not None:
            self._write(
                RejectLine(
                    rejection.path,
                    rejection.index,
                    rejection.offset,
                    rejection.table,
                    rejection.record_id,
                    rejection.outcome,
                    [_line_error(rejection, e) for e in rejection.errors],
                    None if original is None else msgspec.Raw(original),
                )
            )

    def _write(self, line: RejectLine) -> None:
        if self._out is not None:
            try:  # per line: a plain try, not a context manager's generator
                self._out.write(self._encoder.encode(line) + b"\n")
            except OSError as error:
                raise self._failed(error) from error
            self.lines += 1

    def _failed(self, error: OSError) -> WriteFailed:
        """A write that failed (a full disk) ends the run as a failed write naming the file;
        from then on ``lines`` counts the whole lines the file holds, not those handed to it
        (the report said 6 for a file of none)."""
        self.lines = _whole_lines(self.path)
        doing = f"could not write the rejects file {self.path}"
        return WriteFailed(describe_os_error(error, doing, path=self.path))

    async def _read_again(self, source: SourceFile, indexes: list[int]) -> list[bytes | None]:
        """The originals of these entries (ascending), read again from the file."""
        if self._out is None:
            return [None] * len(indexes)
        if self._originals is None:
            self._originals = Originals(source)
        return await anyio.to_thread.run_sync(self._originals.take, indexes)


def _whole_lines(path: Path | None) -> int:
    """The lines of ``path`` that end with their newline (0 if it cannot be read)."""
    if path is None:
        return 0
    try:
        with path.open("rb") as stream:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    except OSError:
        return 0
