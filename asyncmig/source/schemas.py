"""msgspec Structs for every OctoPrompt record, and the timestamp ("ts") normaliser.

Each Struct's field order is the order in which the record is written to ``data``.
Timestamp fields are typed :data:`TsMs` (or ``TsMs | None``): an int already in epoch
milliseconds. That type is what the fast path decodes straight from JSON; anything else
(seconds, numeric strings, ISO dates, legacy shapes) fails the fast decode and goes to
:mod:`asyncmig.validate`, which normalises the value and builds the same Struct.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

SECONDS_BELOW: Final = 10_000_000_000
MAX_TS: Final = 2_524_608_000_000  # 2050-01-01T00:00:00Z

#: A timestamp that needs no normalising: whole milliseconds, at or past the seconds cut-off.
TsMs = Annotated[int, Meta(ge=SECONDS_BELOW, le=MAX_TS)]
PositiveInt = Annotated[int, Meta(gt=0)]
Number = int | float
NonEmpty = Annotated[str, Meta(min_length=1)]
# JavaScript's `new URL()` is looser and stricter in places; a scheme and a non-blank
# remainder is the approximation every reader of the spec can reproduce.
Url = Annotated[str, Meta(pattern=r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")]


class Record(msgspec.Struct, kw_only=True, omit_defaults=False):
    """Base of every record: keyword-only so schema order is free of default placement,
    unknown keys are ignored (the spec's non-strict objects), UNSET optionals are omitted."""


class ProviderKey(Record, kw_only=True):
    id: TsMs
    name: str
    provider: str
    key: str
    isDefault: bool = False
    isActive: bool = True
    environment: str = "production"
    description: str | UnsetType = UNSET
    expiresAt: Number | UnsetType = UNSET
    lastUsed: Number | UnsetType = UNSET
    created: Number
    updated: Number


class Project(Record, kw_only=True):
    id: TsMs
    name: str
    description: str
    path: str
    created: TsMs
    updated: TsMs


class ProjectFile(Record, kw_only=True):
    id: TsMs
    projectId: TsMs
    name: str
    path: str
    extension: str
    size: Number
    content: str | None
    summary: str | None
    summaryLastUpdated: TsMs | None
    meta: str | None
    checksum: str | None
    created: TsMs
    updated: TsMs


class Chat(Record, kw_only=True):
    id: TsMs
    title: str
    projectId: TsMs | UnsetType = UNSET
    created: TsMs
    updated: TsMs


class Attachment(Record, kw_only=True):
    id: TsMs
    fileName: str
    mimeType: str
    size: PositiveInt
    url: Url
    created: TsMs


class ChatMessage(Record, kw_only=True):
    id: TsMs
    chatId: TsMs
    role: Literal["assistant", "user", "system"]
    content: str
    type: str | UnsetType = UNSET
    created: TsMs
    updated: TsMs
    attachments: list[Attachment] | UnsetType = UNSET


class Prompt(Record, kw_only=True):
    id: TsMs
    name: str
    content: str
    projectId: TsMs | UnsetType = UNSET
    created: TsMs
    updated: TsMs


class PromptProject(Record, kw_only=True):
    id: TsMs
    promptId: TsMs
    projectId: TsMs


class McpServerConfig(Record, kw_only=True):
    id: PositiveInt
    projectId: PositiveInt
    name: NonEmpty
    command: NonEmpty
    args: list[str] = msgspec.field(default_factory=list)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    enabled: bool = True
    autoStart: bool = False
    created: TsMs
    updated: TsMs


class McpServerState(Record, kw_only=True):
    serverId: PositiveInt
    status: Literal["stopped", "starting", "running", "error"]
    pid: PositiveInt | None
    error: str | None
    startedAt: TsMs | None
    lastHeartbeat: TsMs | None


class McpToolParameter(Record, kw_only=True):
    name: str
    type: str
    description: str | UnsetType = UNSET
    required: bool = True
    default: Any | UnsetType = UNSET
    enum: list[str] | UnsetType = UNSET


class McpTool(Record, kw_only=True):
    id: str
    name: str
    description: str
    parameters: list[McpToolParameter] = msgspec.field(default_factory=list)
    inputSchema: dict[str, Any] | UnsetType = UNSET
    serverId: PositiveInt


class McpResource(Record, kw_only=True):
    uri: str
    name: str
    description: str | UnsetType = UNSET
    mimeType: str | UnsetType = UNSET
    serverId: PositiveInt


class McpToolExecution(Record, kw_only=True):
    id: str
    toolId: str
    serverId: PositiveInt
    status: Literal["pending", "running", "success", "error"]
    result: Any | UnsetType = UNSET
    error: str | None
    startedAt: TsMs
    completedAt: TsMs | None


# --- the timestamp normaliser (spec sections 3 and 6) ---------------------------------

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
#: Ids of v0.5.1/v0.5.2: ``proj_<base36 ms>_<5 chars>`` and the like.
_LEGACY_ID = re.compile(r"[a-z]+_[0-9a-z]{6,}_[0-9a-z]{5}")


class TsError(ValueError):
    """A value that the timestamp rule cannot turn into epoch milliseconds."""


def normalise_ts(value: object) -> int | None:
    """Return ``value`` as whole epoch milliseconds, or ``None`` for null; raise TsError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TsError(f"expected a number or a date string, got {type_name(value)}")
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL.fullmatch(text):
            try:
                number: int | float = int(text) if _INTEGER.fullmatch(text) else float(text)
            except ValueError:  # more digits than int() accepts: far past 2050 anyway
                raise TsError(f"{text[:30]!r}... is outside 1970-01-01 .. 2050-01-01") from None
        elif _LEGACY_ID.fullmatch(text):
            raise TsError(
                f"{text!r} is a v0.5.1/v0.5.2 string id; there is no safe mapping to the "
                "numeric ids of v0.6.0"
            )
        else:
            return _check_range(_parse_date(value), value)
    else:
        number = value
    if number < SECONDS_BELOW:
        number = number * 1000
    return _check_range(number, value)


def _check_range(number: int | float, original: object) -> int:
    if isinstance(number, float):
        if not number.is_integer():
            raise TsError(f"{original!r} is not a whole number of milliseconds")
        number = int(number)
    if not 0 <= number <= MAX_TS:
        raise TsError(f"{original!r} is outside 1970-01-01 .. 2050-01-01")
    return number


def _parse_date(text: str) -> int:
    stripped = text.strip()
    if not stripped:
        raise TsError("empty string is not a timestamp")
    try:
        parsed = datetime.fromisoformat(stripped)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(stripped)  # RFC 2822, as Date.parse also reads
        except (TypeError, ValueError, IndexError):
            raise TsError(f"{text!r} is not a number or a date") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _ONE_MS


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC) - _EPOCH


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__
