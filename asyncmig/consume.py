"""The writer's side of one file: its messages -> writes, counts and report entries."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asyncmig.errors import ParserCrashed, SourceChanged
from asyncmig.protocol import Done, Failed, Notice, Opened, Reject, Rows
from asyncmig.report import Counts, FileOutcome, FileStatus, Rejection

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from asyncmig.protocol import Message
    from asyncmig.source import SourceFile
    from asyncmig.writer import Writer

log = logging.getLogger("asyncmig")


@dataclass(slots=True)
class FileResult:
    """What one file contributed to the report."""

    outcome: FileOutcome
    counts: Counts = field(default_factory=Counts)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


async def consume(
    source: SourceFile,
    messages: AsyncIterator[Message],
    writer: Writer,
    *,
    include_orphans: bool,
    release: Callable[[int], None],
    earlier: Counts | None = None,
) -> FileResult:
    """Apply one file's messages in order; ``release`` returns a batch's bytes to the budget.
    ``earlier``: the counts of the part an interrupted run committed (``--resume``)."""
    if source.entity is None:
        return await _count_only(source, messages)
    table = source.entity.table
    orphan_reason = await _orphan_reason(source, writer)
    writes = orphan_reason is None or include_orphans
    tally = _Tally.resumed(earlier) if earlier else _Tally()
    result = FileResult(FileOutcome(source.rel, "migrated", table))
    async for message in messages:
        if isinstance(message, Rows):
            try:
                await _apply_rows(source, message, writer if writes else None, tally, result)
            finally:
                release(message.nbytes)
            writer.progress(source, message.consumed, tally.counts(message.consumed))
        elif isinstance(message, Opened):
            _check_unchanged(source, message.size, message.mtime_ns)
            writer.start_file(source, message.digest)
        elif isinstance(message, Reject):
            tally.rejected += 1
            result.rejections.append(
                Rejection(
                    source.rel,
                    message.index,
                    table,
                    "rejected",
                    message.record_id,
                    tuple(message.errors),
                    message.offset,
                )
            )
        elif isinstance(message, Notice):
            result.warnings.append(f"{source.rel} #{message.index}: {message.message}")
        elif isinstance(message, Done):
            if message.changed:
                raise SourceChanged(_changed_message(source, "while it was read"))
            status: FileStatus = "migrated" if writes else "orphaned"
            if message.damage_message is not None:
                status = "damaged"
            result.outcome = FileOutcome(
                source.rel,
                status,
                table,
                message.found,
                reason=orphan_reason,
                damage_offset=message.damage_offset,
                damage_message=message.damage_message,
            )
            result.counts = tally.counts(message.found)
            writer.end_file(source, result.outcome, result.counts)
            return result
        else:  # Failed: an OS error part-way; what was written stays written and counted
            unreadable = _unreadable(source, message)
            unreadable.counts = tally.counts(tally.seen)
            unreadable.rejections = result.rejections
            unreadable.warnings = result.warnings
            return unreadable
    raise ParserCrashed(f"a parser process ended while reading {source.path}")


def _check_unchanged(source: SourceFile, size: int, mtime_ns: int) -> None:
    if (size, mtime_ns) != (source.size, source.mtime_ns):
        raise SourceChanged(_changed_message(source, "since the run started"))


def _changed_message(source: SourceFile, when: str) -> str:
    return (
        f"{source.path} changed {when}: is the OctoPrompt server still running? Stop it "
        "(the migration guide asks for that) and run again with --resume; files migrated "
        "so far are kept, and a changed file is migrated again from its start"
    )


async def _apply_rows(
    source: SourceFile, batch: Rows, writer: Writer | None, tally: _Tally, result: FileResult
) -> None:
    """Write one batch (or count it as orphaned when ``writer`` is None)."""
    if writer is None:
        tally.add_orphans(batch)
        return
    table = result.outcome.table or ""
    duplicates = await writer.write(source, batch)
    tally.add_rows(batch, len(duplicates))
    result.rejections.extend(
        Rejection(
            source.rel,
            d.index,
            table,
            "duplicate",
            d.row_id,
            (f"id {d.row_id} is already migrated from {d.first_path}",),
        )
        for d in duplicates
    )


async def _orphan_reason(source: SourceFile, writer: Writer) -> str | None:
    entity = source.entity
    if entity is None or entity.parent_table is None:
        return None
    folder = source.rel.rsplit("/", 2)[-2]
    if source.parent_id is None:
        return f"orphan: folder name {folder!r} is not a valid {entity.parent_table} id"
    if await writer.has_row(entity.parent_table, str(source.parent_id)):
        return None
    return f"orphan: no migrated record in {entity.parent_table} has id {source.parent_id}"


async def _count_only(source: SourceFile, messages: AsyncIterator[Message]) -> FileResult:
    async for message in messages:
        if isinstance(message, Done):
            reason = source.reason
            if message.damage_message is not None:
                reason = f"{reason}; damaged"
            return FileResult(
                FileOutcome(
                    source.rel,
                    "not_migrated",
                    None,
                    message.found,
                    reason,
                    message.damage_offset,
                    message.damage_message,
                )
            )
        if isinstance(message, Failed):
            return _unreadable(source, message)
    raise ParserCrashed(f"a parser process ended while reading {source.path}")


def _unreadable(source: SourceFile, message: Message) -> FileResult:
    text = message.message if isinstance(message, Failed) else repr(message)
    table = source.entity.table if source.entity else None
    return FileResult(FileOutcome(source.rel, "unreadable", table, 0, text))


@dataclass(slots=True)
class _Tally:
    migrated: int = 0
    upgraded: int = 0
    rejected: int = 0
    orphaned: int = 0
    duplicate: int = 0

    @classmethod
    def resumed(cls, counts: Counts) -> _Tally:
        """The tally of the part of the file an interrupted run committed."""
        return cls(
            counts.migrated, counts.upgraded, counts.rejected, counts.orphaned, counts.duplicate
        )

    def add_rows(self, batch: Rows, duplicates: int) -> None:
        self.migrated += len(batch.rows) - duplicates
        self.duplicate += duplicates
        self.upgraded += batch.upgraded

    def add_orphans(self, batch: Rows) -> None:
        self.orphaned += len(batch.rows)
        self.upgraded += batch.upgraded

    @property
    def seen(self) -> int:
        return self.migrated + self.rejected + self.orphaned + self.duplicate

    def counts(self, found: int) -> Counts:
        return Counts(
            found, self.migrated, self.upgraded, self.rejected, self.orphaned, self.duplicate
        )
