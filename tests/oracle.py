"""Test oracle: a second, deliberately simple reading of the data spec (sections 1-6).

The migrator's end-to-end tests compare its SQLite output, row by row, with what `expected`
says it must be. Whole files in memory, plain dicts, standard library only, and nothing shared
with `asyncmig`, so the two readings of the spec stay independent.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    Check = Callable[[Any], Any]
    Fields = tuple[tuple[str, Check, object], ...]

__all__ = (
    "COUNTED",
    "LINKS",
    "MAX_TS",
    "SCHEMAS",
    "TABLES",
    "Counts",
    "Expected",
    "Invalid",
    "expected",
    "normalize_ts",
    "parse_entries",
    "row_id",
    "row_times",
    "validate",
)

TABLES = (
    "provider_keys",
    "projects",
    "project_files",
    "chats",
    "chat_messages",
    "prompts",
    "prompt_projects",
    "mcp_server_configs",
    "mcp_server_states",
    "mcp_tools",
    "mcp_resources",
    "mcp_tool_executions",
    "tickets",
    "ticket_tasks",
)
#: Ticket-file links have no table: each is folded into its ticket (spec section 4).
LINKS = "ticket_file_links"
#: Everything counted: the tables, then the links.
COUNTED = (*TABLES, LINKS)
MAX_TS = 2_524_608_000_000  # 2050-01-01 UTC
SECONDS_BELOW = 10_000_000_000


class Invalid(ValueError):
    """A value or a record does not match its schema (internal: becomes a rejected record)."""


# ---------------------------------------------------------------- the ts normaliser (3, 6)

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def normalize_ts(value: object) -> int | None:
    """Normalise one ts value to epoch ms; None passes; raise `Invalid` on anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise Invalid(f"bool is not a ts: {value!r}")
    if isinstance(value, int | float):
        return _ts_range(_seconds_rule(value))
    if isinstance(value, str):
        return _ts_from_string(value)
    raise Invalid(f"not a ts: {value!r}")


def _ts_from_string(text: str) -> int:
    stripped = text.strip()
    if _DECIMAL.fullmatch(stripped):
        if not _INTEGER.fullmatch(stripped):
            return _ts_range(_seconds_rule(float(stripped)))
        digits = stripped.lstrip("+-").lstrip("0") or "0"
        if len(digits) > 20:  # far out of range, and int() refuses over 4300 digits
            raise Invalid(f"ts out of range: {text!r}")
        sign = -1 if stripped.startswith("-") else 1
        return _ts_range(_seconds_rule(sign * int(digits)))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(f"not a date: {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # Floor division of timedeltas is integer arithmetic: sub-millisecond digits are cut.
    return _ts_range((parsed - _EPOCH) // timedelta(milliseconds=1))


def _seconds_rule(number: int | float) -> int | float:
    # Float times int is the IEEE double product, the same as JavaScript's.
    return number * 1000 if number < SECONDS_BELOW else number


def _ts_range(number: int | float) -> int:
    if isinstance(number, float):
        if not math.isfinite(number) or not number.is_integer():
            raise Invalid(f"ts is not an integer: {number!r}")
        number = int(number)
    if not 0 <= number <= MAX_TS:
        raise Invalid(f"ts out of range: {number!r}")
    return number


# ---------------------------------------------------------------- field checks (section 2)

_REQUIRED = object()
_OPTIONAL = object()
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")


def _ts(value: object) -> int:
    result = normalize_ts(value)
    if result is None:
        raise Invalid("ts is null")
    return result


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise Invalid(f"not a string: {value!r}")
    return value


def _nonempty(value: object) -> str:
    if not _string(value):
        raise Invalid("empty string")
    return str(value)


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"not a bool: {value!r}")
    return value


def _number(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"not a number: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"not a finite number: {value!r}")
    return value


def _pos_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Invalid(f"not a positive int: {value!r}")
    return value


def _anything(value: object) -> object:
    return value


def _url(value: object) -> str:
    if not _URL.fullmatch(_string(value)):
        raise Invalid(f"not a URL: {value!r}")
    return str(value)


def _id_or_string(value: object) -> int | str:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise Invalid(f"not an integer or a string: {value!r}")


def _non_negative(value: object) -> int | float:
    if _number(value) < 0:
        raise Invalid(f"negative: {value!r}")
    return _number(value)


def _json_object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"not an object: {value!r}")
    return value


def _str_map(value: object) -> dict[str, str]:
    return {key: _string(item) for key, item in _json_object(value).items()}


def _nullable(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def _one_of(*choices: str) -> Check:
    return lambda value: value if isinstance(value, str) and value in choices else _fail(value)


def _list_of(check: Check) -> Check:
    return lambda value: (
        [check(item) for item in value] if isinstance(value, list) else _fail(value)
    )


def _nested(fields: Fields) -> Check:
    return lambda value: _record(fields, value)


def _fail(value: object) -> Any:
    raise Invalid(f"unexpected value: {value!r}")


def _record(fields: Fields, value: object) -> dict[str, Any]:
    """Build `data`: schema order, defaults filled, optional keys left absent, others dropped."""
    record = _json_object(value)
    out: dict[str, Any] = {}
    for name, check, presence in fields:
        if name in record:
            out[name] = check(record[name])
        elif presence is _REQUIRED:
            raise Invalid(f"missing {name}")
        elif presence is not _OPTIONAL:
            out[name] = copy.deepcopy(presence)
    return out


# fmt: off
REQ, OPT = _REQUIRED, _OPTIONAL
_TS_OR_NULL = _nullable(_ts)
_STR_OR_NULL = _nullable(_string)
_ATTACHMENT: Fields = (
    ("id", _ts, REQ), ("fileName", _string, REQ), ("mimeType", _string, REQ),
    ("size", _pos_int, REQ), ("url", _url, REQ), ("created", _ts, REQ),
)
_TOOL_PARAMETER: Fields = (
    ("name", _string, REQ), ("type", _string, REQ), ("description", _string, OPT),
    ("required", _boolean, True), ("default", _anything, OPT), ("enum", _list_of(_anything), OPT),
)
SCHEMAS: dict[str, Fields] = {
    "provider_keys": (
        ("id", _ts, REQ), ("name", _string, REQ), ("provider", _string, REQ), ("key", _string, REQ),
        ("isDefault", _boolean, False), ("isActive", _boolean, True),
        ("environment", _string, "production"), ("description", _string, OPT),
        ("expiresAt", _number, OPT), ("lastUsed", _number, OPT),
        ("created", _number, REQ), ("updated", _number, REQ),
    ),
    "projects": (
        ("id", _ts, REQ), ("name", _string, REQ), ("description", _string, REQ),
        ("path", _string, REQ), ("created", _ts, REQ), ("updated", _ts, REQ),
    ),
    "project_files": (
        ("id", _ts, REQ), ("projectId", _ts, REQ), ("name", _string, REQ), ("path", _string, REQ),
        ("extension", _string, REQ), ("size", _number, REQ), ("content", _STR_OR_NULL, REQ),
        ("summary", _STR_OR_NULL, REQ), ("summaryLastUpdated", _TS_OR_NULL, REQ),
        ("meta", _STR_OR_NULL, REQ), ("checksum", _STR_OR_NULL, REQ),
        ("created", _ts, REQ), ("updated", _ts, REQ),
    ),
    "chats": (
        ("id", _ts, REQ), ("title", _string, REQ), ("projectId", _ts, OPT),
        ("created", _ts, REQ), ("updated", _ts, REQ),
    ),
    "chat_messages": (
        ("id", _ts, REQ), ("chatId", _ts, REQ),
        ("role", _one_of("assistant", "user", "system"), REQ),
        ("content", _string, REQ), ("type", _string, OPT), ("created", _ts, REQ),
        ("updated", _ts, REQ), ("attachments", _list_of(_nested(_ATTACHMENT)), OPT),
    ),
    "prompts": (
        ("id", _ts, REQ), ("name", _string, REQ), ("content", _string, REQ),
        ("projectId", _ts, OPT), ("created", _ts, REQ), ("updated", _ts, REQ),
    ),
    "prompt_projects": (("id", _ts, REQ), ("promptId", _ts, REQ), ("projectId", _ts, REQ)),
    "mcp_server_configs": (
        ("id", _pos_int, REQ), ("projectId", _pos_int, REQ), ("name", _nonempty, REQ),
        ("command", _nonempty, REQ), ("args", _list_of(_string), []), ("env", _str_map, {}),
        ("enabled", _boolean, True), ("autoStart", _boolean, False),
        ("created", _ts, REQ), ("updated", _ts, REQ),
    ),
    "mcp_server_states": (
        ("serverId", _pos_int, REQ),
        ("status", _one_of("stopped", "starting", "running", "error"), REQ),
        ("pid", _nullable(_pos_int), REQ), ("error", _STR_OR_NULL, REQ),
        ("startedAt", _TS_OR_NULL, REQ), ("lastHeartbeat", _TS_OR_NULL, REQ),
    ),
    "mcp_tools": (
        ("id", _string, REQ), ("name", _string, REQ), ("description", _string, REQ),
        ("parameters", _list_of(_nested(_TOOL_PARAMETER)), []),
        ("inputSchema", _json_object, OPT), ("serverId", _pos_int, REQ),
    ),
    "mcp_resources": (
        ("uri", _string, REQ), ("name", _string, REQ), ("description", _string, OPT),
        ("mimeType", _string, OPT), ("serverId", _pos_int, REQ),
    ),
    "mcp_tool_executions": (
        ("id", _string, REQ), ("toolId", _string, REQ), ("serverId", _pos_int, REQ),
        ("status", _one_of("pending", "running", "success", "error"), REQ),
        ("result", _anything, OPT), ("error", _STR_OR_NULL, REQ),
        ("startedAt", _ts, REQ), ("completedAt", _TS_OR_NULL, REQ),
    ),
    "tickets": (
        ("id", _ts, REQ), ("projectId", _ts, REQ), ("title", _nonempty, REQ),
        ("overview", _string, ""), ("status", _one_of("open", "in_progress", "closed"), "open"),
        ("priority", _one_of("low", "normal", "high"), "normal"),
        ("suggestedFileIds", _list_of(_string), []), ("created", _ts, REQ), ("updated", _ts, REQ),
    ),
    "ticket_tasks": (
        ("id", _ts, REQ), ("ticketId", _ts, REQ), ("content", _nonempty, REQ),
        ("done", _boolean, False), ("orderIndex", _non_negative, REQ),
        ("created", _ts, REQ), ("updated", _ts, REQ),
    ),
    LINKS: (("ticketId", _ts, REQ), ("fileId", _id_or_string, REQ)),
}
del REQ, OPT
# fmt: on


# ---------------------------------------------------------------- upgrades (section 4)

_NULLABLE_FILE_FIELDS = ("content", "summary", "summaryLastUpdated", "meta", "checksum")


def _upgrade(table: str, record: dict[str, Any]) -> dict[str, Any]:
    """Apply every legacy-shape upgrade of section 4, each only where the current key is absent."""
    out = dict(record)
    renames = [("createdAt", "created"), ("updatedAt", "updated")]
    if table == "project_files":
        renames.append(("summaryLastUpdatedAt", "summaryLastUpdated"))
    if any(name == "created" for name, _, _ in SCHEMAS[table]):
        for old, new in renames:
            if new not in out and old in out:
                out[new] = out.pop(old)
    if table == "chat_messages" and "updated" not in out and "created" in out:
        out["updated"] = out["created"]
    if table == "project_files":
        for name in _NULLABLE_FILE_FIELDS:
            out.setdefault(name, None)
    if table == "tickets":
        _upgrade_ticket(out)
    if table == "ticket_tasks" and out.get("done") in (0, 1) and not isinstance(out["done"], bool):
        out["done"] = out["done"] == 1  # v0.5.3 wrote 1/0
    return out


def _upgrade_ticket(out: dict[str, Any]) -> None:
    """v0.5.3 tickets: status "done", numeric suggestedFileIds."""
    if out.get("status") == "done":
        out["status"] = "closed"
    ids = out.get("suggestedFileIds")
    if isinstance(ids, list):
        out["suggestedFileIds"] = [str(item) if _is_number(item) else item for item in ids]


def validate(table: str, value: object, *, strict: bool) -> tuple[dict[str, Any] | None, bool]:
    """Return (data or None if rejected, whether the record is valid only thanks to upgrades)."""
    try:
        return _record(SCHEMAS[table], value), False
    except Invalid:
        if strict or not isinstance(value, dict):
            return None, False
    try:
        return _record(SCHEMAS[table], _upgrade(table, value)), True
    except Invalid:
        return None, False


def row_id(table: str, data: dict[str, Any]) -> str:
    """The SQLite `id` of a validated record (section 5)."""
    if table == "prompt_projects":
        return f"{data['promptId']}_{data['projectId']}"
    if table == "mcp_server_states":
        return str(data["serverId"])
    if table == "mcp_resources":
        return f"{data['serverId']}:{data['uri']}"
    return str(data["id"])


def row_times(data: dict[str, Any], migrated_at: int) -> tuple[int | float, int | float]:
    """(created_at, updated_at): zero or absent falls through to the next candidate."""
    created = data.get("created") or migrated_at
    updated = data.get("updated") or data.get("created") or migrated_at
    return created, updated


# ---------------------------------------------------------------- reading files (section 6)

_WHITESPACE = " \t\n\r"


def _reject_constant(name: str) -> Any:
    raise Invalid(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def parse_entries(raw: bytes, *, array: bool) -> tuple[list[Any], bool]:
    """Return (top-level entry values that parsed completely, whether the file is damaged).

    Decoding stops at the first invalid UTF-8 byte; each member is then parsed on its own,
    so every member whose value ended before the damage is kept, in file order.
    """
    try:
        text, cut = raw.decode("utf-8"), False
    except UnicodeDecodeError as exc:
        text, cut = raw[: exc.start].decode("utf-8"), True
    entries: list[Any] = []
    complete = _scan(text, "[" if array else "{", entries)
    return entries, cut or not complete


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _scan(text: str, opener: str, entries: list[Any]) -> bool:
    """Append complete entries of `text` to `entries`; True when the whole text is valid."""
    closer = "]" if opener == "[" else "}"
    pos = _skip(text, 0)
    if text[pos : pos + 1] != opener:
        return False  # empty, `null`, another type or garbage: nothing readable
    pos = _skip(text, pos + 1)
    if text[pos : pos + 1] == closer:
        return _skip(text, pos + 1) == len(text)
    try:
        while True:
            if opener == "{":
                pos = _member_value_start(text, pos)
            value, end = _DECODER.raw_decode(text, pos)
            if _is_number(value) and end == len(text):
                return False  # a number cut by the end may have had more digits
            entries.append(value)
            pos = _skip(text, end)
            if text[pos : pos + 1] == closer:
                return _skip(text, pos + 1) == len(text)
            if text[pos : pos + 1] != ",":
                return False
            pos = _skip(text, pos + 1)
    except (ValueError, RecursionError):
        return False


def _member_value_start(text: str, pos: int) -> int:
    if text[pos : pos + 1] != '"':
        raise Invalid("expected a member name")
    _, end = _DECODER.raw_decode(text, pos)
    pos = _skip(text, end)
    if text[pos : pos + 1] != ":":
        raise Invalid("expected ':'")
    return _skip(text, pos + 1)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------- where entities live (1, 6)

_SINGLE_FILES: dict[str, tuple[str, ...]] = {
    "provider_keys": ("provider_key_storage/provider_keys.json",),
    "projects": ("project_storage/projects.json",),
    "chats": ("chat_storage/chats.json",),
    "prompts": ("prompt_storage/prompts.json",),
    "prompt_projects": (
        "prompt_storage/prompt-projects.json",
        "prompt_storage/prompt_projects.json",
    ),
    **{
        f"mcp_{kind}": (f"mcp_storage/mcp_{kind}.json", f"mcp_storage/{kind}.json")
        for kind in ("server_configs", "server_states", "tools", "resources", "tool_executions")
    },
    "tickets": ("ticket_storage/tickets.json",),
}
# first child table -> (folder holding the containers, parent table, (file name, table) in
# the order they are processed inside each container)
_CHILD_FILES: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "project_files": (
        "project_storage/project_data",
        "projects",
        (("files.json", "project_files"),),
    ),
    "chat_messages": ("chat_storage/chat_data", "chats", (("messages.json", "chat_messages"),)),
    "ticket_tasks": (
        "ticket_storage/ticket_data",
        "tickets",
        (("tasks.json", "ticket_tasks"), ("files.json", LINKS)),
    ),
}
_ARRAY_TABLES = frozenset({"prompt_projects", LINKS})
#: What a record whose row id is taken becomes (section 5); every other table re-keys.
_ON_CONFLICT = {
    "prompt_projects": "duplicate",
    "mcp_tools": "reject",
    "mcp_tool_executions": "reject",
    "mcp_resources": "reject",
    "mcp_server_states": "replace",
}


@dataclass(frozen=True)
class _Container:
    folder: str  # relative posix path of the folder
    parent_id: int | None  # the folder name read as a ts, None when it is not one


def _containers(root: Path, base: str, names: tuple[str, ...]) -> list[_Container]:
    """Folders under `base` holding one of `names`, in processing order (section 6)."""
    if not (root / base).is_dir():
        return []
    found: list[tuple[tuple[bool, int, str], _Container]] = []
    for entry in (root / base).iterdir():
        if not entry.is_dir() or entry.name.startswith("backup-"):
            continue
        if not any((entry / name).is_file() for name in names):
            continue
        try:
            parent_id = normalize_ts(entry.name)
        except Invalid:
            parent_id = None
        key = (parent_id is None, parent_id or 0, entry.name)
        found.append((key, _Container(f"{base}/{entry.name}", parent_id)))
    return [container for _, container in sorted(found, key=lambda pair: pair[0])]


# ---------------------------------------------------------------- the expectation


@dataclass
class Counts:
    """Per-table record outcomes: found = migrated + rejected + orphaned + duplicate +
    superseded; upgraded and rekeyed are parts of migrated."""

    found: int = 0
    migrated: int = 0
    upgraded: int = 0
    rejected: int = 0
    orphaned: int = 0
    duplicate: int = 0
    rekeyed: int = 0
    superseded: int = 0


@dataclass
class Expected:
    """Everything a correct migration of one data root must produce."""

    # table -> row id -> (data, created_at, updated_at)
    rows: dict[str, dict[str, tuple[Any, int | float, int | float]]] = field(
        default_factory=lambda: {table: {} for table in TABLES}
    )
    #: Keyed by COUNTED: every table, then the ticket-file links (folded, so "migrated"
    #: there means folded into their ticket).
    counts: dict[str, Counts] = field(
        default_factory=lambda: {table: Counts() for table in COUNTED}
    )
    damaged: dict[str, int] = field(default_factory=dict)
    not_migrated: set[str] = field(default_factory=set)
    rejected: list[tuple[str, int]] = field(default_factory=list)
    duplicates: list[tuple[str, int]] = field(default_factory=list)
    orphan_folders: set[str] = field(default_factory=set)
    #: (table, file, index in the file, old id, new id), in processing order.
    rekeys: list[tuple[str, str, int, int, int]] = field(default_factory=list)
    #: (file, index) of each MCP state replaced by a later one for its serverId.
    superseded: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class _Load:
    """The state of one reading of a data root, in processing order."""

    result: Expected
    strict: bool
    include_orphans: bool
    migrated_at: int
    #: table -> row id -> canonical JSON of each distinct record seen with that id.
    seen: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: table -> row ids of rows that needed an upgrade.
    upgraded: dict[str, set[str]] = field(default_factory=dict)
    #: table -> row id -> (file, index) the row came from (for superseded states).
    origin: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)
    #: Colliding records waiting for a new id: (table, file, index, data, upgraded).
    waiting: list[tuple[str, str, int, dict[str, Any], bool]] = field(default_factory=list)


def expected(
    root: Path, *, migrated_at: int, strict: bool = False, include_orphans: bool = False
) -> Expected:
    """What migrating `root` at `migrated_at` (epoch ms) must give, read from the spec only."""
    load = _Load(Expected(), strict, include_orphans, migrated_at)
    entity_files: set[str] = set()
    for table, rel, orphan in _sources(root, load.result):
        entity_files.add(rel)
        _process(root, rel, table, load, orphan=orphan)
    _rekey(load)
    _follow_rekeyed_files(load.result)
    _final_counts(load)
    load.result.not_migrated = {rel for rel in _all_files(root) if rel not in entity_files}
    return load.result


def _sources(root: Path, result: Expected) -> Iterator[tuple[str, str, bool]]:
    """(table, relative path, is in an orphan folder) of each entity file, in processing
    order; lazily, so each parent table is complete before its folders are looked at."""
    for table in TABLES:
        if table in _SINGLE_FILES:
            yield from (
                (table, rel, False) for rel in _SINGLE_FILES[table] if (root / rel).is_file()
            )
        if table not in _CHILD_FILES:
            continue
        base, parent, files = _CHILD_FILES[table]
        for container in _containers(root, base, tuple(name for name, _ in files)):
            orphan = (
                container.parent_id is None or str(container.parent_id) not in result.rows[parent]
            )
            if orphan:
                result.orphan_folders.add(container.folder)
            for name, child in files:
                if (root / container.folder / name).is_file():
                    yield child, f"{container.folder}/{name}", orphan


def _process(root: Path, rel: str, table: str, load: _Load, *, orphan: bool) -> None:
    result = load.result
    entries, damaged = parse_entries((root / rel).read_bytes(), array=table in _ARRAY_TABLES)
    if damaged:
        result.damaged[rel] = len(entries)
    counts = result.counts[table]
    for index, value in enumerate(entries):
        counts.found += 1
        data, upgraded = validate(table, value, strict=load.strict)
        if data is None or (table == LINKS and load.strict):  # folding is an upgrade
            counts.rejected += 1
            result.rejected.append((rel, index))
        elif orphan and (table == LINKS or not load.include_orphans):
            counts.orphaned += 1  # a link in an orphan folder has no ticket to fold into
        elif table == LINKS:
            _fold(load, rel, index, data)
        else:
            _take(load, table, rel, index, data, upgraded)


def _canonical(value: Any) -> str:
    """Compact JSON for "equal" (section 5): 3.0 equals 3."""

    def ints(item: Any) -> Any:
        if isinstance(item, float) and item.is_integer():
            return int(item)
        if isinstance(item, dict):
            return {key: ints(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [ints(inner) for inner in item]
        return item

    return json.dumps(ints(value), separators=(",", ":"), ensure_ascii=False)


def _take(
    load: _Load, table: str, rel: str, index: int, data: dict[str, Any], upgraded: bool
) -> None:
    """One valid record that is not in an orphan folder (or orphans are included)."""
    result, key, text = load.result, row_id(table, data), _canonical(data)
    rows, seen = result.rows[table], load.seen.setdefault(table, {})
    kind = _ON_CONFLICT.get(table, "rekey")
    if key in rows and kind == "replace":  # last wins: the earlier one is superseded
        result.counts[table].superseded += 1
        result.superseded.append(load.origin[table][key])
        load.upgraded.setdefault(table, set()).discard(key)
        del rows[key]
    if key not in rows:
        rows[key] = (data, *row_times(data, load.migrated_at))
        seen[key] = [text]
        load.origin.setdefault(table, {})[key] = (rel, index)
        if upgraded:
            load.upgraded.setdefault(table, set()).add(key)
    elif text in seen[key] or kind == "duplicate":
        result.counts[table].duplicate += 1
        result.duplicates.append((rel, index))
    elif kind == "reject":
        result.counts[table].rejected += 1
        result.rejected.append((rel, index))
    else:
        seen[key].append(text)
        load.waiting.append((table, rel, index, data, upgraded))


def _fold(load: _Load, rel: str, index: int, link: dict[str, Any]) -> None:
    """Append the link's fileId (once, as a string) to its ticket. Folding is an upgrade,
    counted on the link that changed the ticket (the ticket's own count is settled when
    its file is done, before its links are read)."""
    result, key = load.result, str(link["ticketId"])
    counts = result.counts[LINKS]
    if key not in result.rows["tickets"]:  # a link naming no migrated ticket
        counts.rejected += 1
        result.rejected.append((rel, index))
        return
    counts.migrated += 1
    ticket, created_at, updated_at = result.rows["tickets"][key]
    file_id = str(link["fileId"])
    if file_id not in ticket["suggestedFileIds"]:
        ids = [*ticket["suggestedFileIds"], file_id]
        result.rows["tickets"][key] = (ticket | {"suggestedFileIds": ids}, created_at, updated_at)
        counts.upgraded += 1


def _rekey(load: _Load) -> None:
    """New ids for the colliding records, once every record that keeps its id is known."""
    result = load.result
    held: dict[str, set[int]] = {}
    for table, rel, index, data, upgraded in load.waiting:
        taken = held.setdefault(table, {int(key) for key in result.rows[table]})
        old = new = data["id"]
        while new in taken:
            new += 1
        taken.add(new)
        moved = data | {"id": new}
        result.rows[table][str(new)] = (moved, *row_times(moved, load.migrated_at))
        result.rekeys.append((table, rel, index, old, new))
        if upgraded:
            load.upgraded.setdefault(table, set()).add(str(new))


def _follow_rekeyed_files(result: Expected) -> None:
    """A ticket's file reference "X" becomes "Y" when a file of the ticket's own project
    moved from X to Y (the first such re-key); not an upgrade."""
    moved: dict[tuple[int, str], str] = {}
    for table, _, _, old, new in result.rekeys:
        if table == "project_files":
            project = result.rows[table][str(new)][0]["projectId"]
            moved.setdefault((project, str(old)), str(new))
    tickets = result.rows["tickets"]
    for key, (ticket, created_at, updated_at) in list(tickets.items()):
        project = ticket["projectId"]
        ids = [moved.get((project, file_id), file_id) for file_id in ticket["suggestedFileIds"]]
        tickets[key] = (ticket | {"suggestedFileIds": ids}, created_at, updated_at)


def _final_counts(load: _Load) -> None:
    result = load.result
    for table in TABLES:
        counts, rows = result.counts[table], result.rows[table]
        counts.migrated = len(rows)
        counts.rekeyed = sum(1 for rekey in result.rekeys if rekey[0] == table)
        counts.upgraded = len(load.upgraded.get(table, set()) & rows.keys())


def _all_files(root: Path) -> Iterator[str]:
    for directory, _, files in os.walk(root):
        for name in files:
            yield (Path(directory) / name).relative_to(root).as_posix()
