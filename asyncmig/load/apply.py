"""The writer's side of one file: its messages -> writes, counts and report entries."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asyncmig.errors import ParserCrashed, SourceChanged
from asyncmig.ipc.wire import Done, Failed, Notice, Opened, Reject, Rows
from asyncmig.output.report import Counts, FileOutcome, FileStatus

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from asyncmig.output.progress import Progress
    from asyncmig.ipc.wire import Message
    from asyncmig.output.rejects import Rejects
    from asyncmig.source.plan import SourceFile
    from asyncmig.load.writer import Writer

log = logging.getLogger("asyncmig")


@dataclass(slots=True)
class FileResult:
    """What one file contributed to the report (its records not migrated went to the
    rejects sink as they arrived)."""

    outcome: FileOutcome
    counts: Counts = field(default_factory=Counts)
    warnings: list[str] = field(default_factory=list)


async def consume(
    source: SourceFile,
    messages: AsyncIterator[Message],
    writer: Writer,
    *,
    include_orphans: bool,
    release: Callable[[int], None],
    rejects: Rejects,
    progress: Progress,
    earlier: Counts | None = None,
) -> FileResult:
    """Apply one file's messages in order; ``release`` returns a batch's bytes to the budget.
    Ends early (status "stopped") once ``rejects`` is over its limit. ``earlier``: the counts
    of the part of the file an interrupted run committed (``--resume``)."""
    if source.entity is None:
        return await _count_only(source, messages)
    orphan_reason = await _orphan_reason(source, writer)
    writes = orphan_reason is None or include_orphans
    applying = _Applying(source, writer, writes, orphan_reason, rejects, progress)
    if earlier is not None:
        applying.tally = _Tally.resumed(earlier)
    try:
        async for message in messages:
            if isinstance(message, Rows):
                try:
                    await applying.rows(message)
                finally:
                    release(message.nbytes)
            elif isinstance(message, Opened):
                applying.opened(message)
            elif isinstance(message, Reject):
                applying.reject(message)
            elif isinstance(message, Notice):
                applying.result.warnings.append(f"{source.rel} #{message.index}: {message.message}")
            elif isinstance(message, Done):
                return applying.done(message)
            else:  # Failed: an OS error part-way; what was written stays written and counted
                return applying.failed(message)
            if rejects.exceeded:
                return applying.stopped()
    finally:
        rejects.file_done()
    raise ParserCrashed(f"a parser process ended while reading {source.path}")


class _Applying:
    """One file of a table on its way in: its tally, its result, where its news goes.
    ``writes`` False: the file is orphaned and its rows are only counted and listed; the
    writer still keeps its checkpoint record (resume skips it like any finished file)."""

    def __init__(  # noqa: PLR0917 - one file's parts, each used once
        self,
        source: SourceFile,
        checkpoint: Writer,
        writes: bool,
        orphan_reason: str | None,
        rejects: Rejects,
        progress: Progress,
    ) -> None:
        assert source.entity is not None
        self.source, self.rejects, self.progress = source, rejects, progress
        self.checkpoint = checkpoint
        self.writer = checkpoint if writes else None
        self.table = source.entity.table
        self.tally = _Tally()
        self.result = FileResult(FileOutcome(source.rel, "migrated", self.table, 0, orphan_reason))

    async def rows(self, batch: Rows) -> None:
        """Write one batch (or list it as orphaned)."""
        if self.writer is None:
            self.tally.add_orphans(batch)
            await self.rejects.orphaned(self.source, batch, self.result.outcome.reason or "")
        else:
            duplicates = await self.writer.write(self.source, batch)
            self.tally.add_rows(batch, len(duplicates))
            if duplicates:
                await self.rejects.duplicates(self.source, duplicates)
        self.checkpoint.progress(self.source, batch.consumed, self.tally.counts(batch.consumed))
        self.progress.advance(self.table, len(batch.rows), batch.position)

    def opened(self, message: Opened) -> None:
        """The file's fingerprint as its parser read it: the plan's, or the file changed."""
        if (message.size, message.mtime_ns) != (self.source.size, self.source.mtime_ns):
            raise SourceChanged(_changed_message(self.source, "since the run started"))
        self.checkpoint.start_file(self.source, message.digest)

    def reject(self, message: Reject) -> None:
        self.tally.rejected += 1
        self.rejects.rejected(self.source, message)
        self.progress.advance(self.table, 1, message.offset or 0)

    def done(self, message: Done) -> FileResult:
        """The file's end: its outcome and counts; written and orphan files alike."""
        if message.changed:
            raise SourceChanged(_changed_message(self.source, "while it was read"))
        status: FileStatus = "migrated" if self.writer is not None else "orphaned"
        if message.damage_message is not None:
            status = "damaged"
            self.rejects.damaged(
                self.source, message.found, message.damage_offset, message.damage_message
            )
        self.result.outcome = FileOutcome(
            self.source.rel,
            status,
            self.table,
            message.found,
            reason=self.result.outcome.reason,
            damage_offset=message.damage_offset,
            damage_message=message.damage_message,
        )
        self.result.counts = self.tally.counts(message.found)
        self.checkpoint.end_file(self.source, self.result.outcome, self.result.counts)
        return self.result

    def failed(self, message: Failed) -> FileResult:
        self.rejects.unreadable(self.source, message.message)
        unreadable = _unreadable(self.source, message)
        unreadable.counts = self.tally.counts(self.tally.seen)
        unreadable.warnings = self.result.warnings
        return unreadable

    def stopped(self) -> FileResult:
        """The run stops in the middle of this file (too many records not migrated)."""
        seen = self.tally.seen
        reason = "the run stopped (--max-rejects) before the end of this file"
        self.result.outcome = FileOutcome(self.source.rel, "stopped", self.table, seen, reason)
        self.result.counts = self.tally.counts(seen)
        return self.result


def _changed_message(source: SourceFile, when: str) -> str:
    return (
        f"{source.path} changed {when}: is the OctoPrompt server still running? Stop it "
        "(the migration guide asks for that) and run again with --resume; files migrated "
        "so far are kept, and a changed file is migrated again from its start"
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
