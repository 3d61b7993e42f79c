"""msgspec Structs for every OctoPrompt record.

Each Struct's field order is the order in which the record is written to ``data``.
Timestamp fields are typed :data:`TsMs` (or ``TsMs | None``): an int already in epoch
milliseconds. That type is what the fast path decodes straight from JSON; anything else
(seconds, numeric strings, ISO dates, legacy shapes) fails the fast decode and goes to
:mod:`asyncmig.source.validate`, which normalises the value and builds the same Struct.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from asyncmig.source.timestamps import MAX_TS, SECONDS_BELOW

#: A timestamp that needs no normalising: whole milliseconds, at or past the seconds cut-off.
TsMs = Annotated[int, Meta(ge=SECONDS_BELOW, le=MAX_TS)]
PositiveInt = Annotated[int, Meta(gt=0)]
Number = int | float
NonEmpty = Annotated[str, Meta(min_length=1)]
NonNegative = Annotated[int, Meta(ge=0)] | Annotated[float, Meta(ge=0)]
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
    # The server's schema allows any JSON values here (a numeric enum [1, 2, 3], say).
    enum: list[Any] | UnsetType = UNSET


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


class Ticket(Record, kw_only=True):
    """The v0.6.0 shape; v0.5.3's ``done`` status and numeric file ids are upgraded by
    :mod:`asyncmig.source.validate`."""

    id: TsMs
    projectId: TsMs
    title: NonEmpty
    overview: str = ""
    status: Literal["open", "in_progress", "closed"] = "open"
    priority: Literal["low", "normal", "high"] = "normal"
    suggestedFileIds: list[str] = msgspec.field(default_factory=list)
    created: TsMs
    updated: TsMs


class TicketTask(Record, kw_only=True):
    id: TsMs
    ticketId: TsMs
    content: NonEmpty
    done: bool = False
    orderIndex: NonNegative
    created: TsMs
    updated: TsMs


class TicketFileLink(Record, kw_only=True):
    """A v0.5.3 ``ticket_data/<id>/files.json`` entry; it has no table of its own: its
    file id is folded into the ticket's ``suggestedFileIds``. v0.5.3 wrote both as ts."""

    ticketId: TsMs
    fileId: TsMs
