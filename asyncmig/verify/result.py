"""What verify found: per-table counts and differences, schema and integrity, and its summary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, Literal

import msgspec

from asyncmig.errors import one_line
from asyncmig.load.ledger import RunSettings  # noqa: TC001 - msgspec reads field types at runtime

#: Mismatches listed per table; the counts hold all of them.
LISTED: Final = 20

MismatchKind = Literal["missing", "altered", "extra", "not text"]


class Mismatch(msgspec.Struct, frozen=True):
    """One row that differs: expected but not in the database (missing), stored otherwise
    than the source gives it (altered), in the database but not expected (extra), or
    holding a value of another type where a migration stores TEXT (not text)."""

    table: str
    row_id: str
    kind: MismatchKind
    detail: str = ""


class Rekey(msgspec.Struct, frozen=True):
    """A re-key verify derived from the source: the record at ``source`` (file and
    position) whose id ``old`` an earlier record holds, expected under ``new``."""

    old: str
    new: str
    source: str
    #: Whether the database holds the row under ``new`` as expected.
    confirmed: bool


class TableCheck(msgspec.Struct):
    """One table: rows expected from the source, rows in the database, and differences."""

    table: str
    expected: int = 0
    stored: int = 0
    missing: int = 0
    altered: int = 0
    extra: int = 0
    #: Values stored as another type than TEXT in a column a migration fills with text.
    not_text: int = 0
    #: The first ``LISTED`` mismatches.
    listed: list[Mismatch] = msgspec.field(default_factory=list)
    #: Rows expected under a new id (spec section 5), and how many the database holds so.
    rekeyed: int = 0
    confirmed: int = 0
    #: Records derived as not stored: copies of an earlier record with their id
    #: (duplicates), earlier states of a server (superseded), other data under a string id
    #: an earlier record holds (conflicting: the migration rejects them).
    duplicate: int = 0
    superseded: int = 0
    conflicting: int = 0
    #: Values of other records folded into this table's rows (ticket file links).
    folded: int = 0
    #: The first ``LISTED`` re-keys.
    rekeys: list[Rekey] = msgspec.field(default_factory=list)

    @property
    def differences(self) -> int:
        return self.missing + self.altered + self.extra + self.not_text

    def add(self, row_id: str, kind: MismatchKind, detail: str = "") -> None:
        counter = kind.replace(" ", "_")
        setattr(self, counter, getattr(self, counter) + 1)
        if len(self.listed) < LISTED:
            self.listed.append(Mismatch(self.table, row_id, kind, detail))

    def add_rekey(self, old: str, new: str, source: str, *, confirmed: bool) -> None:
        self.rekeyed += 1
        self.confirmed += confirmed
        if len(self.rekeys) < LISTED:
            self.rekeys.append(Rekey(old, new, source, confirmed))


class Verification(msgspec.Struct):
    """Everything verify found; ``ok`` only when all of it matches."""

    data_dir: str
    db: str
    settings: RunSettings
    tables: dict[str, TableCheck]
    #: Tables, indexes, other objects and the journal mode where they are not as a
    #: migration makes them.
    schema: list[str] = msgspec.field(default_factory=list)
    #: What ``PRAGMA integrity_check`` reported, when it was not "ok".
    integrity: list[str] = msgspec.field(default_factory=list)
    #: Source files that cannot be read now, so their rows could not be checked.
    unreadable: list[str] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)

    @property
    def differences(self) -> int:
        rows = sum(check.differences for check in self.tables.values())
        return rows + len(self.schema) + len(self.integrity) + len(self.unreadable)

    @property
    def ok(self) -> bool:
        return self.differences == 0

    def summary(self) -> str:
        """The human report printed on stdout, one line per finding: what the database
        names (an object, an id) may hold a newline or an escape sequence, so each line is
        escaped as a file name is."""
        return "\n".join(map(one_line, _summary_lines(self)))


_COLUMNS: Final = ("expected", "in db", "re-keyed", "missing", "altered", "extra")


def _summary_lines(result: Verification) -> list[str]:
    lines = [*_head_lines(result), *_table_lines(result), ""]
    for check in result.tables.values():
        lines.extend(_describe_derived(check))
    for check in result.tables.values():
        lines.extend(_describe_rows(check))
    schema_ok = (
        "the target's tables and indexes, asyncmig's own tables beside them, nothing else, "
        "WAL mode: as asyncmig makes them"
    )
    lines.extend(_section("schema", result.schema, schema_ok))
    lines.extend(_section("integrity_check", result.integrity, "ok"))
    if result.unreadable:
        lines.extend(_section("source files that cannot be read", result.unreadable, ""))
    lines.append("")
    if result.ok:
        lines.append("verified: the database matches the source")
    else:
        lines.append(f"NOT verified: {result.differences:,} difference(s)")
    return lines


def _head_lines(result: Verification) -> list[str]:
    s = result.settings
    assert s.migrated_at is not None, "verify reads only finished migrations"
    return [
        f"asyncmig verify: {result.db} against {result.data_dir}",
        f"migrated at {_when(s.migrated_at)}, strict: {_yes(s.strict)}, "
        f"include orphans: {_yes(s.include_orphans)}",
        *(f"note: {note}" for note in result.notes),
        "",
    ]


def _table_lines(result: Verification) -> list[str]:
    width = max(len(t) for t in result.tables)
    lines = [f"{'table':<{width}}  " + "  ".join(f"{c:>9}" for c in _COLUMNS)]
    for check in result.tables.values():
        values = (
            check.expected,
            check.stored,
            check.rekeyed,
            check.missing,
            check.altered,
            check.extra,
        )
        mark = "ok" if not check.differences else "DIFFERS"
        cells = "  ".join(f"{v:>9,}" for v in values)
        lines.append(f"{check.table:<{width}}  {cells}  {mark}")
    return lines


def _describe_derived(check: TableCheck) -> list[str]:
    """What verify derived beyond "one row per id": re-keys (each listed with its check),
    and the records it expects nowhere."""
    parts = [
        f"{count:,} {what}"
        for count, what in (
            (check.duplicate, "duplicate(s) not stored"),
            (check.superseded, "superseded state(s) not stored"),
            (check.conflicting, "conflicting record(s) not stored"),
            (check.folded, "folded value(s)"),
        )
        if count
    ]
    if check.rekeyed:
        parts.insert(0, f"{check.rekeyed:,} re-keyed ({check.confirmed:,} confirmed)")
    if not parts:
        return []
    lines = [f"{check.table}: " + ", ".join(parts)]
    lines.extend(
        f"  re-keyed {check.table} id {r.old} -> {r.new} ({r.source}): "
        + ("confirmed" if r.confirmed else "NOT as expected")
        for r in check.rekeys
    )
    if check.rekeyed > len(check.rekeys):
        lines.append(f"  ... and {check.rekeyed - len(check.rekeys):,} more re-keyed")
    return lines


def _describe_rows(check: TableCheck) -> list[str]:
    if not check.differences:
        return []
    head = f"{check.table}: {check.missing:,} missing, {check.altered:,} altered, "
    head += f"{check.extra:,} extra"
    lines = [head + (f", {check.not_text:,} not text" if check.not_text else "")]
    lines.extend(
        f"  {m.table} id {m.row_id}: {m.kind}" + (f" ({m.detail})" if m.detail else "")
        for m in check.listed
    )
    if check.differences > len(check.listed):
        lines.append(f"  ... and {check.differences - len(check.listed):,} more in {check.table}")
    return lines


def _section(title: str, problems: list[str], fine: str) -> list[str]:
    if not problems:
        return [f"{title}: {fine}"]
    return [f"{title}: {len(problems)} problem(s)", *(f"  {p}" for p in problems)]


def _when(ms: int) -> str:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"


def _yes(flag: bool | None) -> str:
    return "yes" if flag else "no"
