"""The run's report (what a run did, as :mod:`asyncmig.output.fold` built it) and its
summary in words. Only the fold changes a Report; everything else reads it."""

from __future__ import annotations

from typing import Final

import msgspec

from asyncmig.errors import ExitStatus, one_line, size_text
from asyncmig.options import Options  # noqa: TC001 - msgspec reads field types at runtime
from asyncmig.results import (
    Counts,
    DiskNeed,
    EarlierRuns,
    FileOutcome,
    Moved,
    PeakMemory,
    Rejection,
)


class Report(msgspec.Struct, kw_only=True):
    """What a run did. The CLI prints it; :func:`asyncmig.migrate` returns it.

    ``rejections`` holds the first 100 records not migrated; ``tables`` counts every one,
    and the rejects file (``rejects_file``, when the run wrote one) lists them."""

    data_dir: str
    db: str
    dry_run: bool
    migrated_at: int
    tables: dict[str, Counts] = msgspec.field(default_factory=dict)
    files: list[FileOutcome] = msgspec.field(default_factory=list)
    rejections: list[Rejection] = msgspec.field(default_factory=list)
    #: The first 100 records migrated under a new id (their id was taken by a different
    #: record); ``tables`` counts every one, and the rejects file lists them.
    rekeyed: list[Moved] = msgspec.field(default_factory=list)
    #: Moves this run listed (a resume of a finished migration lists none: its earlier
    #: run's rejects file holds them).
    rekeyed_listed: int = 0
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
    options: Options | None = None
    rejects_file: str | None = None
    rejects_lines: int = 0
    peak_memory: PeakMemory | None = None
    #: Why the run stopped before its end (``--max-rejects``), or None.
    stopped: str | None = None
    #: How a run that did not get to its end ended (interrupted, failed, refused), as the
    #: command line writes it into the JSON report; None for a run that got there.
    ended: str | None = None
    #: The backup's copy of the database that was there before (moved out by ``--force``,
    #: or the server's empty one, which the new database replaces).
    moved_db: str | None = None
    #: A resume: what the earlier runs did (their records are in ``tables``, not in the
    #: throughput; ``bytes_read`` leaves out the files they finished).
    earlier: EarlierRuns | None = None
    #: The space a real run needs, per file system (a dry run prints it).
    disk: list[DiskNeed] = msgspec.field(default_factory=list)
    #: What the target has no place for, per (table, field, reason): the records (or
    #: fields) kept in the database's ``asyncmig_not_carried`` table instead.
    not_carried: list[tuple[str, str, str, int]] = msgspec.field(default_factory=list)

    @property
    def target(self) -> str:
        """The database written (``--target``)."""
        chosen = self.options.target if self.options is not None else None
        return chosen or "octoprompt-0.6"

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
        damaged (files that are not migrated by design do not count); 4 when it stopped early
        because too many records were not migrated."""
        if self.stopped is not None:
            return ExitStatus.TOO_MANY_REJECTS
        return ExitStatus.INCOMPLETE if self.problems else ExitStatus.OK

    @property
    def problems(self) -> int:
        """Records rejected, orphaned or duplicated, and files damaged or unreadable."""
        t = self.totals
        return t.rejected + t.orphaned + t.duplicate + len(self.damaged)

    @property
    def records_this_run(self) -> int:
        """Records this run read (a resume's earlier runs read the rest)."""
        return self.totals.found - (self.earlier.records if self.earlier else 0)

    @property
    def records_per_second(self) -> float:
        return self.records_this_run / self.elapsed if self.elapsed else 0.0

    @property
    def estimated_seconds(self) -> float:
        """A dry run's guess at a real run's time: twice its own. Measured here, a real run
        (backup included) took 1.55-2.0 times a dry run of the same root, 2 MB to 1 GB:
        both parse the same JSON; the real run also copies it and writes every row. Rough
        (within about a factor of two): a slow disk slows the real run, not the dry one.
        A Promptliano run then converts what it loaded: three times longer again."""
        factor = CONVERSION_FACTOR if self.target == "promptliano-0.12" else 1.0
        return REAL_RUN_PER_DRY_RUN * factor * self.elapsed

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes_read / 1e6 / self.elapsed if self.elapsed else 0.0

    def summary(self) -> str:
        """The human summary printed on stdout at the end of a run."""
        return "\n".join(map(one_line, _summary_lines(self)))


COLUMNS: Final = (
    "found",
    "migrated",
    "upgraded",
    "rejected",
    "orphaned",
    "duplicate",
    "re-keyed",
    "superseded",
)
#: How much longer a real run takes than a dry run of the same root (1.55-2.0 measured).
REAL_RUN_PER_DRY_RUN: Final = 2.0
#: How much longer a Promptliano run takes than a v0.6.0 one (2.3x on 100 MB, 3.6x on
#: 1 GB measured: the staging load, the conversion and a VACUUM).
CONVERSION_FACTOR: Final = 3.0


def _summary_lines(report: Report) -> list[str]:
    return [*title_lines(report), *_table_lines(report), "", *detail_lines(report)]


def title_lines(report: Report) -> list[str]:
    """The summary's first line and the blank after it."""
    return [
        f"asyncmig {'dry run' if report.dry_run else 'migration'}: {report.data_dir} -> "
        f"{'(nothing written)' if report.dry_run else report.db}",
        "",
    ]


def columns(report: Report) -> tuple[str, ...]:
    """The summary's columns: ``superseded`` only when a record was (MCP server states)."""
    return COLUMNS if report.totals.superseded else COLUMNS[:-1]


def table_rows(report: Report) -> list[tuple[str, tuple[int, ...]]]:
    """(table, counts in :func:`columns` order) per table, then the total."""
    rows = [*report.tables.items(), ("total", report.totals)]
    shown = len(columns(report))
    return [(table, msgspec.structs.astuple(counts)[:shown]) for table, counts in rows]


def _table_lines(report: Report) -> list[str]:
    width = max(len(t) for t in report.tables)
    lines = [f"{'table':<{width}}  " + "  ".join(f"{c:>10}" for c in columns(report))]
    for table, values in table_rows(report):
        lines.append(f"{table:<{width}}  " + "  ".join(f"{v:>10,}" for v in values))
    return lines


def detail_lines(report: Report) -> list[str]:
    """What follows the table: files and records not migrated, throughput, rejects file."""
    verb = "would migrate" if report.dry_run else "migrated"
    lines = []
    for title, outcomes in (
        ("damaged files", report.damaged),
        ("files not migrated", report.not_migrated),
    ):
        lines.append(f"{title}: {len(outcomes)}")
        lines.extend(f"  {_describe(f)}" for f in outcomes)
    lines.extend(_rejection_lines(report))
    lines.extend(_rekey_lines(report))
    lines.extend(_session_lines(report))
    lines.extend(_target_lines(report))
    lines.append("")
    if report.stopped:
        lines.append(f"stopped early: {report.stopped}")
    lines.append(_throughput_line(report, verb))
    if report.dry_run:
        lines.extend(_estimate_lines(report))
    lines.append(rejects_line(report))
    return lines


#: Tables of records Promptliano has no table for (a dry run can count them).
_NO_TABLE: Final = ("mcp_server_states", "mcp_tools", "mcp_resources", "mcp_tool_executions")


def _target_lines(report: Report) -> list[str]:
    """Which server reads the database, and what it had no place for."""
    if report.target == "octoprompt-0.6":
        return [
            "target: the OctoPrompt v0.6.0 database (the migration guide's); OctoPrompt "
            "v0.9 and later and Promptliano do not read it: for them, migrate with "
            "--target promptliano-0.12"
        ]
    lines = [f"target: {report.target} (the Promptliano v0.12 server's database)"]
    if report.dry_run:
        runtime = sum(report.tables[t].migrated for t in _NO_TABLE if t in report.tables)
        lines.append(
            "not carried: a dry run does not convert, so what has no place in the target is "
            f"counted by a real run (at least the {runtime:,} MCP runtime record(s): "
            "Promptliano has no table for them), and kept in its asyncmig_not_carried table"
        )
    if report.not_carried:
        total = sum(count for *_, count in report.not_carried)
        lines.append(
            f"not carried (no place in the target; kept in the database's "
            f"asyncmig_not_carried table and listed in the rejects file): {total:,}"
        )
        lines.extend(
            f"  {table}.{field}: {count:,} ({reason})"
            for table, field, reason, count in report.not_carried
        )
    return lines


def _rejection_lines(report: Report) -> list[str]:
    """The records not migrated: the first ones, and where the rest are listed."""
    listed = report.totals.rejected + report.totals.duplicate
    if not listed:
        return []
    lines = [f"records not migrated: {listed:,}"]
    lines.extend(f"  {_describe_rejection(r)}" for r in report.rejections)
    if listed > len(report.rejections):
        where = "the rejects file lists every one"
        if report.earlier is not None:  # its file lists only what this run read
            where = "this run's rejects file lists those it read" + (
                "; the earlier runs' files named below list theirs"
                if report.earlier.rejects_files
                else ""
            )
        lines.append(f"  ... and {listed - len(report.rejections):,} more ({where})")
    return lines


#: Moves the summary shows (the report holds 100, the rejects file every one).
_MOVES_SHOWN: Final = 10


def _rekey_lines(report: Report) -> list[str]:
    """The records migrated under a new id: the first ones, and where every one is listed."""
    moved = report.totals.rekeyed
    if not moved:
        return []
    lines = [
        f"records re-keyed: {moved:,} (their id was taken by a different record, so they were "
        "migrated under the next free id; nothing was lost)"
    ]
    shown = report.rekeyed[:_MOVES_SHOWN]
    lines.extend(f"  {m.path} #{m.index} ({m.table}): id {m.old_id} -> {m.new_id}" for m in shown)
    if moved > len(shown):
        lines.append(f"  ... and {moved - len(shown):,} more")
    listed = report.rekeyed_listed
    if not report.rejects_file:
        where = '--rejects FILE lists each one (outcome "rekeyed")'
    elif listed == moved:
        where = f'each one is listed in {report.rejects_file} (outcome "rekeyed")'
    else:
        where = (
            f'{listed:,} of them are listed in {report.rejects_file} (outcome "rekeyed"); '
            "the earlier runs' rejects files list the others"
        )
    lines.append(f"  {where}")
    return lines


def _throughput_line(report: Report, verb: str) -> str:
    speed = (
        f"{report.elapsed:.2f} s ({report.records_per_second:,.0f} records/s, "
        f"{report.megabytes_per_second:,.1f} MB/s of JSON)"
    )
    done = f"{verb} {report.totals.migrated:,} of {report.totals.found:,} records"
    if report.earlier is None:
        return f"{done} in {speed}"
    return (
        f"{done} ({report.earlier.records:,} of them read by earlier runs); this run: "
        f"{report.records_this_run:,} records in {speed}"
    )


def _estimate_lines(report: Report) -> list[str]:
    """A dry run: the disk a real run needs, and about how long it takes."""
    lines = [
        f"a real run needs about {size_text(need.nbytes)} free on the file system of "
        f"{need.folder} ({need.what})"
        for need in report.disk
    ]
    how = "twice this dry run's time"
    if report.target == "promptliano-0.12":
        how += ", and three times that for the conversion into Promptliano's tables"
    lines.append(
        f"a real run takes about {_duration(report.estimated_seconds)} ({how}, as measured "
        "here; rough: within about a factor of two)"
    )
    return lines


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    return f"{seconds / 60:.0f} min"


def _session_lines(report: Report) -> list[str]:
    """Resume and backup: what was kept from earlier runs, and how to undo this one."""
    lines = []
    earlier = report.earlier
    if report.resumed:
        if earlier is not None and earlier.status == "complete":
            lines.append(
                f"brought up to date: {report.kept_files:,} unchanged file(s) of the finished "
                "migration were kept (counted above)"
            )
        else:
            lines.append(
                f"resumed: {report.kept_files:,} file(s) were already migrated by the "
                "interrupted run (counted above)"
            )
    lines.extend(f"  {why}" for why in report.redone)
    if earlier is not None and earlier.rejects_files:
        lines.append("the earlier runs' rejects files (the records they did not migrate):")
        lines.extend(f"  {path}" for path in earlier.rejects_files)
    elif earlier is not None:
        lines.append("the earlier runs left no rejects file")
    if report.moved_db is not None:
        lines.append(f"the database that was there before is kept in the backup: {report.moved_db}")
    if report.backup is not None:
        lines.append(f"backup: {report.backup}")
    if report.restore_command is not None:
        lines.append(f"to undo the migration and restore the backup: {report.restore_command}")
    return lines


def rejects_line(report: Report) -> str:
    """The summary's last line: where every record not migrated is listed."""
    if report.rejects_file is None:
        return "rejects file: none written"
    lines = report.rejects_lines
    return f"rejects file: {report.rejects_file} ({lines:,} line{'' if lines == 1 else 's'})"


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
