"""The writer's side of one file: its messages in, its rows written, its FileResult out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from asyncmig.errors import ParserCrashed, SourceChanged
from asyncmig.load import fold
from asyncmig.results import Counts, FileOutcome, FileResult, FileStatus
from asyncmig.source.messages import Done, Failed, Notice, Opened, Reject, Rows

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from asyncmig.load.batches import Batches
    from asyncmig.output.progress import Progress
    from asyncmig.output.rejects import Rejects
    from asyncmig.source.messages import Message
    from asyncmig.source.plan import SourceFile


async def apply_file(
    source: SourceFile,
    messages: AsyncIterator[Message],
    batches: Batches,
    rejects: Rejects,
    progress: Progress,
    *,
    include_orphans: bool,
    strict: bool = False,
    earlier: Counts | None = None,
) -> FileResult:
    """Apply one file's messages in order. Ends early (status "stopped") once ``rejects``
    is over its limit. ``earlier``: the counts of the part of the file an interrupted run
    committed (``--resume``)."""
    if source.entity is None:
        return await _count_only(source, messages)
    orphan_reason = await _orphan_reason(source, batches)
    # Orphaned links have no ticket to fold into, whatever --include-orphans says.
    folds = source.entity.folds_into is not None
    writes = orphan_reason is None or (include_orphans and not folds)
    applying = _Applying(source, batches, rejects, progress, writes, orphan_reason, strict)
    applying.counts = earlier or Counts()
    try:
        return await applying.apply(messages)
    finally:
        rejects.file_done()


class _Applying:
    """One file of a table on its way in: its counts, warnings, where its news goes.
    ``writes`` False: the file is orphaned and its rows are only counted and listed; its
    ledger row is still kept (resume skips it like any finished file)."""

    def __init__(  # noqa: PLR0917 - one file's parts, each used once
        self,
        source: SourceFile,
        batches: Batches,
        rejects: Rejects,
        progress: Progress,
        writes: bool,
        orphan_reason: str | None,
        strict: bool,
    ) -> None:
        assert source.entity is not None
        self.source, self.batches, self.rejects, self.progress = source, batches, rejects, progress
        self.writes = writes
        self.reason = orphan_reason
        self.table = source.entity.table
        self.counts = Counts()
        self.warnings: list[str] = []
        self.strict = strict

    async def apply(self, messages: AsyncIterator[Message]) -> FileResult:
        """Every message of the file, in order, to its Done (or Failed, or the stop)."""
        async for message in messages:
            if isinstance(message, Rows):
                await self.rows(message)
            elif isinstance(message, Opened):
                self.opened(message)
            elif isinstance(message, Reject):
                self.reject(message)
            elif isinstance(message, Notice):
                self.warnings.append(f"{self.source.rel} #{message.index}: {message.message}")
            elif isinstance(message, Done):
                return self.done(message)
            else:  # Failed: an OS error part-way; what was written stays written and counted
                return self.failed(message)
            if self.rejects.exceeded:
                return self.stopped()
        raise ParserCrashed(f"a parser process ended while reading {self.source.path}")

    async def rows(self, batch: Rows) -> None:
        """Write one batch (or list it as orphaned)."""
        added = len(batch.rows)
        if not self.writes:
            self._count(orphaned=added)
            await self.rejects.orphaned(self.source, batch, self.reason or "")
        elif self.source.entity is not None and self.source.entity.folds_into is not None:
            folded = await fold.links(self.batches, self.source, batch, strict=self.strict)
            self._count(**folded.counts)
            if folded.listed:
                await self.rejects.conflicts(self.source, folded.listed)
        else:
            resolved = await self.batches.write(self.source, batch)
            missed = resolved.not_migrated
            self._count(
                migrated=added - len(missed) - resolved.superseded,
                duplicate=sum(c.outcome == "duplicate" for c in resolved.listed),
                rejected=sum(c.outcome == "rejected" for c in resolved.listed),
                upgraded=sum(pos not in missed for pos in batch.upgraded),
                rekeyed=resolved.rekeyed,
                superseded=resolved.superseded,
            )
            if resolved.listed:
                await self.rejects.conflicts(self.source, resolved.listed)
        self.batches.files.progress(self.source, batch.consumed, self._so_far(batch.consumed))
        self.progress.advance(self.table, added, batch.position)

    def opened(self, message: Opened) -> None:
        """The file's fingerprint as its parser read it: the plan's, or the file changed."""
        if (message.size, message.mtime_ns) != (self.source.size, self.source.mtime_ns):
            raise SourceChanged(_changed_message(self.source, "since the run started"))
        self.batches.files.started(self.source, message.digest)

    def reject(self, message: Reject) -> None:
        self._count(rejected=1)
        self.rejects.rejected(self.source, message)
        self.progress.advance(self.table, 1, message.offset or 0)

    def done(self, message: Done) -> FileResult:
        """The file's end: its outcome and counts; written and orphan files alike."""
        if message.changed:
            raise SourceChanged(_changed_message(self.source, "while it was read"))
        status: FileStatus = "migrated" if self.writes else "orphaned"
        if message.damage_message is not None:
            status = "damaged"
            self.rejects.damaged(
                self.source, message.found, message.damage_offset, message.damage_message
            )
        outcome = FileOutcome(
            self.source.rel,
            status,
            self.table,
            message.found,
            reason=self.reason,
            damage_offset=message.damage_offset,
            damage_message=message.damage_message,
        )
        counts = self._so_far(message.found)
        self.batches.files.ended(self.source, outcome, counts)
        return FileResult(outcome, counts, tuple(self.warnings))

    def failed(self, message: Failed) -> FileResult:
        _vanished(self.source)
        self.rejects.unreadable(self.source, message.message)
        outcome = FileOutcome(self.source.rel, "unreadable", self.table, 0, message.message)
        return FileResult(outcome, self._so_far(self.counts.seen), tuple(self.warnings))

    def stopped(self) -> FileResult:
        """The run stops in the middle of this file (too many records not migrated)."""
        seen = self.counts.seen
        reason = "the run stopped (--max-rejects) before the end of this file"
        outcome = FileOutcome(self.source.rel, "stopped", self.table, seen, reason)
        return FileResult(outcome, self._so_far(seen), tuple(self.warnings))

    def _count(self, **more: int) -> None:
        self.counts += Counts(**more)

    def _so_far(self, found: int) -> Counts:
        return msgspec.structs.replace(self.counts, found=found)


def _changed_message(source: SourceFile, when: str) -> str:
    return (
        f"{source.path} changed {when}: is the OctoPrompt server still running? Stop it "
        "(the migration guide asks for that) and run again with --resume; files migrated "
        "so far are kept, and a changed file is migrated again from its start"
    )


def _vanished(source: SourceFile) -> None:
    """A file the plan found and that is gone now is a change of the source (the data
    directory moved, a file deleted), not an unreadable file: the run stops, resumable."""
    if not source.path.exists():
        raise SourceChanged(
            f"{source.path} is gone since the run started (was the data directory moved, or "
            "the file deleted?): put it back and run again with --resume; files migrated "
            "so far are kept"
        )


async def _orphan_reason(source: SourceFile, batches: Batches) -> str | None:
    entity = source.entity
    if entity is None or entity.parent_table is None:
        return None
    folder = source.rel.rsplit("/", 2)[-2]
    if source.parent_id is None:
        return f"orphan: folder name {folder!r} is not a valid {entity.parent_table} id"
    if await batches.writer.has_row(entity.parent_table, str(source.parent_id)):
        return None
    return f"orphan: no migrated record in {entity.parent_table} has id {source.parent_id}"


async def _count_only(source: SourceFile, messages: AsyncIterator[Message]) -> FileResult:
    async for message in messages:
        if isinstance(message, Done):
            reason = source.reason
            if message.damage_message is not None:
                reason = f"{reason}; damaged"
            outcome = FileOutcome(
                source.rel,
                "not_migrated",
                None,
                message.found,
                reason,
                message.damage_offset,
                message.damage_message,
            )
            return FileResult(outcome)
        if isinstance(message, Failed):
            _vanished(source)
            return FileResult(FileOutcome(source.rel, "unreadable", None, 0, message.message))
    raise ParserCrashed(f"a parser process ended while reading {source.path}")
