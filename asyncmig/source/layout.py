"""Where each OctoPrompt entity lives on disk, its table, its parent: data, not code paths."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, Literal

from asyncmig.source import schemas

if TYPE_CHECKING:
    from collections.abc import Callable

    from asyncmig.source.schemas import Record


@dataclass(frozen=True, slots=True)
class Entity:
    """One kind of record: where its files are, which Struct validates it, where it goes."""

    table: str
    struct: type[Record]
    #: File names accepted, first one processed first (spec section 6).
    file_names: tuple[str, ...]
    #: Folder under the data root holding the file(s) (for containers, the parent folder).
    folder: str
    top_level: Literal["object", "array"] = "object"
    #: For per-parent containers: the parent table and the record field naming the parent.
    parent_table: str | None = None
    parent_field: str | None = None
    row_id: Callable[[Record], str] = lambda record: str(record.id)  # type: ignore[attr-defined]
    #: What a record whose row id the table already holds becomes (spec section 5):
    #: "rekey" (integer ids: a copy is a duplicate, other data moves to a new id),
    #: "duplicate" (a repeated link, whatever its data), "reject" (string ids: a copy is a
    #: duplicate, other data is rejected naming both), "replace" (a current state: the
    #: last record wins, the earlier ones are superseded).
    on_conflict: Literal["rekey", "duplicate", "reject", "replace"] = "rekey"
    #: For records that have no table of their own: the table they are folded into.
    folds_into: str | None = None

    @property
    def is_container(self) -> bool:
        return self.parent_table is not None


def _prompt_project_id(record: Record) -> str:
    assert isinstance(record, schemas.PromptProject)
    return f"{record.promptId}_{record.projectId}"


def _state_id(record: Record) -> str:
    assert isinstance(record, schemas.McpServerState)
    return str(record.serverId)


def _resource_id(record: Record) -> str:
    assert isinstance(record, schemas.McpResource)
    return f"{record.serverId}:{record.uri}"


def _link_ticket_id(record: Record) -> str:
    assert isinstance(record, schemas.TicketFileLink)
    return str(record.ticketId)


def _mcp(
    table: str,
    struct: type[Record],
    row_id: Callable[[Record], str] | None = None,
    on_conflict: Literal["rekey", "duplicate", "reject", "replace"] = "reject",
) -> Entity:
    name = table.removeprefix("mcp_") + ".json"
    entity = Entity(table, struct, (f"mcp_{name}", name), "mcp_storage", on_conflict=on_conflict)
    return entity if row_id is None else replace(entity, row_id=row_id)


#: Entities in processing order: parents before children (spec section 6).
ENTITIES: Final[tuple[Entity, ...]] = (
    Entity("provider_keys", schemas.ProviderKey, ("provider_keys.json",), "provider_key_storage"),
    Entity("projects", schemas.Project, ("projects.json",), "project_storage"),
    Entity(
        "project_files",
        schemas.ProjectFile,
        ("files.json",),
        "project_storage/project_data",
        parent_table="projects",
        parent_field="projectId",
    ),
    Entity("chats", schemas.Chat, ("chats.json",), "chat_storage"),
    Entity(
        "chat_messages",
        schemas.ChatMessage,
        ("messages.json",),
        "chat_storage/chat_data",
        parent_table="chats",
        parent_field="chatId",
    ),
    Entity("prompts", schemas.Prompt, ("prompts.json",), "prompt_storage"),
    Entity(
        "prompt_projects",
        schemas.PromptProject,
        ("prompt-projects.json", "prompt_projects.json"),
        "prompt_storage",
        top_level="array",
        row_id=_prompt_project_id,
        on_conflict="duplicate",
    ),
    _mcp("mcp_server_configs", schemas.McpServerConfig, on_conflict="rekey"),
    _mcp("mcp_server_states", schemas.McpServerState, row_id=_state_id, on_conflict="replace"),
    _mcp("mcp_tools", schemas.McpTool),
    _mcp("mcp_resources", schemas.McpResource, row_id=_resource_id),
    _mcp("mcp_tool_executions", schemas.McpToolExecution),
    # Tickets after every project file: their file references follow re-keyed files.
    Entity("tickets", schemas.Ticket, ("tickets.json",), "ticket_storage"),
    Entity(
        "ticket_tasks",
        schemas.TicketTask,
        ("tasks.json",),
        "ticket_storage/ticket_data",
        parent_table="tickets",
        parent_field="ticketId",
    ),
    # Not a table: each link's file id is folded into its ticket's suggestedFileIds.
    Entity(
        "ticket_file_links",
        schemas.TicketFileLink,
        ("files.json",),
        "ticket_storage/ticket_data",
        top_level="array",
        parent_table="tickets",
        parent_field="ticketId",
        row_id=_link_ticket_id,
        on_conflict="duplicate",
        folds_into="tickets",
    ),
)

#: Every entity by its table name (folded entities, which have no table, included).
BY_TABLE: Final = {entity.table: entity for entity in ENTITIES}
