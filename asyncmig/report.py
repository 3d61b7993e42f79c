"""The run's report: per-table counts that add up, per-file outcomes, rejections, summary."""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from asyncmig.layout import ENTITIES

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_INCOMPLETE: Final = 3

FileStatus = Literal["migrated", "damaged", "orphaned", "not_migrated", "unreadable"]


class Counts(msgspec.Struct, frozen=True):
    """What became of one table's records; ``found`` is the sum of the four outcomes."""

    found: int = 0
    migrated: int = 0
    upgraded: int = 0
    rejected: int = 0
    orphaned: int = 0
    duplicate: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(_fields(self), _fields(other), strict=True)))


def _fields(counts: Counts) -> tuple[int, ...]:
    return msgspec.structs.astuple(counts)


class FileOutcome(msgspec.Struct, frozen=True):
    """One file under the data root and what became of it."""

    path: str
    status: FileStatus
    table: str | None = None
    records: int = 0
    reason: str | None = None
    damage_offset: int | None = None
    damage_message: str | None = None


class Rejection(msgspec.Struct, frozen=True):
    """A record that was not migrated because it is invalid or a duplicate."""

    path: str
    index: int
    table: str
    outcome: Literal["rejected", "duplicate"]
    record_id: str | None
    errors: tuple[str, ...]
    offset: int | None = None


class Report(msgspec.Struct, kw_only=True):
    """What a run did. The CLI prints it; :func:`asyncmig.migrate` returns it."""

    data_dir: str
    db: str
    dry_run: bool
    migrated_at: int
    tables: dict[str, Counts] = msgspec.field(
        default_factory=lambda: {e.table: Counts() for e in ENTITIES}
    )
    files: list[FileOutcome] = msgspec.field(default_factory=list)
    rejections: list[Rejection] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)
    elapsed: float = 0.0
    bytes_read: int = 0
    #: The backup folder this run made (or the resumed run made), if any.
    backup: str | None = None
    #: The one command that undoes the run and restores the backup.
    restore_command: str | None = None
    #: Files an interrupted run had finished, counted here from the checkpoint.
    kept_files: int = 0
    resumed: bool = False
    #: Why files an interrupted run had loaded were loaded again.
    redone: list[str] = msgspec.field(default_factory=list)

    @property
    def totals(self) -> Counts:
        total = Counts()
        for counts in self.tables.values():
            total += counts
        return total

    @property
    def damaged(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status in ("damaged", "unreadable")]

    @property
    def not_migrated(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status in ("not_migrated", "orphaned")]

    @property
    def exit_code(self) -> int:
        """0 when every record migrated; 3 when anything was rejected, orphaned, duplicated or
        damaged (files that are not migrated by design do not count)."""
        t = self.totals
        problems = t.rejected + t.orphaned + t.duplicate + len(self.damaged)
        return EXIT_INCOMPLETE if problems else EXIT_OK

    @property
    def records_per_second(self) -> float:
        return self.totals.found / self.elapsed if self.elapsed else 0.0

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes_read / 1e6 / self.elapsed if self.elapsed else 0.0

    def summary(self) -> str:
        """The human summary printed on stdout at the end of a run."""
        return "\n".join(_summary_lines(self))


#: Records listed one per line in the summary; the report object holds all of them.
_LISTED: Final = 100
_COLUMNS: Final = ("found", "migrated", "upgraded", "rejected", "orphaned", "duplicate")


def _summary_lines(report: Report) -> list[str]:
    verb = "would migrate" if report.dry_run else "migrated"
    lines = [
        f"asyncmig {'dry run' if report.dry_run else 'migration'}: {report.data_dir} -> "
        f"{'(nothing written)' if report.dry_run else report.db}",
        "",
    ]
    width = max(len(t) for t in report.tables)
    lines.append(f"{'table':<{width}}  " + "  ".join(f"{c:>9}" for c in _COLUMNS))
    for table, counts in [*report.tables.items(), ("total", report.totals)]:
        values = msgspec.structs.astuple(counts)
        lines.append(f"{table:<{width}}  " + "  ".join(f"{v:>9,}" for v in values))
    lines.append("")
    for title, outcomes in (
        ("damaged files", report.damaged),
        ("files not migrated", report.not_migrated),
    ):
        lines.append(f"{title}: {len(outcomes)}")
        lines.extend(f"  {_describe(f)}" for f in outcomes)
    if report.rejections:
        lines.append(f"records not migrated: {len(report.rejections)}")
        lines.extend(f"  {_describe_rejection(r)}" for r in report.rejections[:_LISTED])
        if len(report.rejections) > _LISTED:
            hidden = len(report.rejections) - _LISTED
            lines.append(f"  ... and {hidden:,} more (--verbose logs every one on stderr)")
    lines.extend(_session_lines(report))
    lines.append("")
    lines.append(
        f"{verb} {report.totals.migrated:,} of {report.totals.found:,} records in "
        f"{report.elapsed:.2f} s ({report.records_per_second:,.0f} records/s, "
        f"{report.megabytes_per_second:,.1f} MB/s of JSON)"
    )
    return lines


def _session_lines(report: Report) -> list[str]:
    """Resume and backup: what was kept from an earlier run, and how to undo this one."""
    lines = []
    if report.resumed:
        lines.append(
            f"resumed: {report.kept_files:,} file(s) were already migrated by the interrupted "
            "run (counted above; their rejected records were listed by that run)"
        )
    lines.extend(f"  {why}" for why in report.redone)
    if report.backup is not None:
        lines.append(f"backup: {report.backup}")
    if report.restore_command is not None:
        lines.append(f"to undo the migration and restore the backup: {report.restore_command}")
    return lines


def _describe(outcome: FileOutcome) -> str:
    text = f"{outcome.path}: "
    if outcome.damage_message is not None:
        text += (
            f"damaged at byte {outcome.damage_offset}: {outcome.damage_message}; "
            f"{outcome.records} complete record(s) read before it"
        )
        return text
    text += outcome.reason or outcome.status
    if outcome.path.endswith(".json"):
        text += f" ({outcome.records} record(s))"
    return text


def _describe_rejection(rejection: Rejection) -> str:
    record = f" id {rejection.record_id}" if rejection.record_id is not None else ""
    head = f"{rejection.path} #{rejection.index}{record} ({rejection.table}, {rejection.outcome})"
    return head + ": " + "; ".join(rejection.errors)
