"""How each JSON-era record becomes a Promptliano row: one ``INSERT ... SELECT`` per table from
its staging table (parents first, so every foreign key holds), and what has no place there.

Decisions (README, "Choosing a target"): a file's id is the server's own
``<projectId>_<path>``, and a ticket's ``suggestedFileIds`` name those ids; a message keeps
``type``, ``attachments`` and ``updated`` in ``metadata``; a task that is done has status
``completed``; a prompt goes to one project (its own ``projectId`` if that project exists,
else its first link to one), because the server lists every prompt once in its prompt
library and a project's prompts by ``project_id``: a copy per project would show the user
the same prompt several times with diverging edits. A reference to a missing project
becomes NULL where the column allows it; a row whose required parent is missing is not
written. Every such field and record is kept in ``asyncmig_not_carried``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable


def _j(field: str, row: str = "s") -> str:
    return f"json_extract({row}.data, '$.{field}')"


#: A project that exists, by the id a record names (NULL when none does).
_PROJECT: Final = "(SELECT p.id FROM projects AS p WHERE p.id = {ref})"

#: The file id a ticket's reference becomes: the file's server id when the file was migrated.
_SUGGESTED: Final = (
    "(SELECT json_group_array(coalesce((SELECT f.id FROM files AS f, {files} AS x "
    "WHERE x.id = CAST(e.value AS TEXT) AND f.id = json_extract(x.data, '$.projectId') || '_' "
    "|| json_extract(x.data, '$.path')), CAST(e.value AS TEXT))) "
    "FROM json_each(s.data, '$.suggestedFileIds') AS e)"
)

#: The one project a prompt goes to.
_PROMPT_PROJECT: Final = (
    "coalesce((SELECT p.id FROM projects AS p WHERE p.id = {own}), (SELECT p.id FROM {links} "
    "AS l JOIN projects AS p ON p.id = json_extract(l.data, '$.projectId') WHERE "
    "json_extract(l.data, '$.promptId') = CAST(s.id AS INTEGER) ORDER BY l.rowid LIMIT 1))"
)

_METADATA: Final = (
    "json_patch('{{}}', json_object('type', {type}, 'attachments', "
    "json(json_extract(s.data, '$.attachments')), 'updated', {updated}))"
)


def rows(stage: Callable[[str], str]) -> list[tuple[str, str, dict[str, str], str]]:
    """(target table, source table, {column: expression over the staging row ``s``},
    condition), parents first."""
    own_project = _PROJECT.format(ref=_j("projectId"))
    ts = {"created_at": "s.created_at", "updated_at": "s.updated_at"}
    has_project = f"{_j('projectId')} IN (SELECT id FROM projects)"
    return [
        ("projects", "projects", {
            "id": "CAST(s.id AS INTEGER)", "name": _j("name"),
            "description": _j("description"), "path": _j("path"), **ts,
        }, "true"),
        ("files", "project_files", {
            "id": f"{_j('projectId')} || '_' || {_j('path')}", "project_id": _j("projectId"),
            "name": _j("name"), "path": _j("path"), "extension": _j("extension"),
            "size": _j("size"), "content": _j("content"), "meta": _j("meta"),
            "checksum": _j("checksum"), **ts,
        }, has_project),
        ("chats", "chats", {
            "id": "CAST(s.id AS INTEGER)", "project_id": own_project, "title": _j("title"), **ts,
        }, "true"),
        ("chat_messages", "chat_messages", {
            "id": "CAST(s.id AS INTEGER)", "chat_id": _j("chatId"), "role": _j("role"),
            "content": _j("content"),
            "metadata": _METADATA.format(type=_j("type"), updated=_j("updated")),
            "created_at": "s.created_at",
        }, f"{_j('chatId')} IN (SELECT id FROM chats)"),
        ("prompts", "prompts", {
            "id": "CAST(s.id AS INTEGER)",
            "project_id": _PROMPT_PROJECT.format(
                own=_j("projectId"), links=stage("prompt_projects")
            ),
            "title": _j("name"), "content": _j("content"), **ts,
        }, "true"),
        ("provider_keys", "provider_keys", {
            "id": "CAST(s.id AS INTEGER)", "provider": _j("provider"), "key_name": _j("name"),
            "name": _j("name"), "key": _j("key"), "is_default": _j("isDefault"),
            "is_active": _j("isActive"), "environment": _j("environment"),
            "description": _j("description"), "expires_at": _j("expiresAt"),
            "last_used": _j("lastUsed"), **ts,
        }, "true"),
        ("tickets", "tickets", {
            "id": "CAST(s.id AS INTEGER)", "project_id": _j("projectId"), "title": _j("title"),
            "overview": _j("overview"), "status": _j("status"), "priority": _j("priority"),
            "suggested_file_ids": _SUGGESTED.format(files=stage("project_files")), **ts,
        }, has_project),
        ("ticket_tasks", "ticket_tasks", {
            "id": "CAST(s.id AS INTEGER)", "ticket_id": _j("ticketId"), "content": _j("content"),
            "done": _j("done"),
            "status": f"CASE WHEN {_j('done')} THEN 'completed' ELSE 'pending' END",
            "order_index": _j("orderIndex"), **ts,
        }, f"{_j('ticketId')} IN (SELECT id FROM tickets)"),
        ("mcp_server_configs", "mcp_server_configs", {
            "id": "CAST(s.id AS INTEGER)", "project_id": _j("projectId"), "name": _j("name"),
            "command": _j("command"), "args": _j("args"), "env": _j("env"),
            "enabled": _j("enabled"), "auto_start": _j("autoStart"), **ts,
        }, has_project),
    ]  # fmt: skip


def _insert(stage: Callable[[str], str], row: tuple[str, str, dict[str, str], str]) -> str:
    table, source, columns, where = row
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns.values())} "
        f"FROM {stage(source)} AS s WHERE {where} ORDER BY s.rowid ON CONFLICT DO NOTHING"
    )


def _not_carried(stage: Callable[[str], str]) -> list[tuple[str, str, str, str]]:
    """(source table, field (``*``: the record), reason, the SELECT of (id, value) of each
    record affected); a record is kept whole, a field as its JSON value."""
    whole = "CAST(s.data AS TEXT)"
    mcp = ("mcp_server_states", "mcp_tools", "mcp_resources", "mcp_tool_executions")
    lost = [
        (t, "*", "Promptliano has no table for it", f"SELECT s.id, {whole} FROM {stage(t)} AS s")
        for t in mcp
    ]
    lost += [
        (source, "*", f"no row in {table}: a parent it needs is missing, or an earlier "
         "record has its id", f"SELECT s.id, {whole} FROM {stage(source)} AS s WHERE "
         + _unwritten(table, source, columns, where, stage))
        for table, source, columns, where in rows(stage)
    ]  # fmt: skip
    lost += [
        ("project_files", field, "files has no column for it", f"SELECT s.id, json_quote("
         f"{_j(field)}) FROM {stage('project_files')} AS s WHERE {_j(field)} IS NOT NULL")
        for field in ("summary", "summaryLastUpdated")
    ]  # fmt: skip
    named = _j("projectId")
    lost += [
        (table, "projectId", "it names no project: the row has project_id NULL", f"SELECT "
         f"s.id, {named} FROM {stage(table)} AS s WHERE {named} IS NOT NULL AND NOT EXISTS "
         f"(SELECT 1 FROM projects AS p WHERE p.id = {named})")
        for table in ("chats", "prompts")
    ]  # fmt: skip
    links = (
        f"SELECT s.id, {whole} FROM {stage('prompt_projects')} AS s WHERE NOT EXISTS (SELECT "
        f"1 FROM prompts AS p WHERE p.id = {_j('promptId')} AND p.project_id = {named})"
    )
    return [*lost, ("prompt_projects", "*", "a prompt has one project in Promptliano", links)]


def _unwritten(
    table: str, source: str, columns: dict[str, str], where: str, stage: Callable[[str], str]
) -> str:
    """The condition on a staging row ``s`` that its row was not written: its condition
    fails, or its key is not there, or an earlier staging row took that key (files)."""
    key = columns["id"]
    unwritten = f"NOT ({where}) OR NOT EXISTS (SELECT 1 FROM {table} AS t WHERE t.id = {key})"
    if table != "files":  # only a file's id is made from its fields: the others are unique
        return unwritten
    earlier = key.replace("s.data", "o.data")
    return (
        f"{unwritten} OR EXISTS (SELECT 1 FROM {stage(source)} AS o WHERE {earlier} = {key} "
        f"AND o.rowid < s.rowid AND ({where.replace('s.data', 'o.data')}))"
    )


def statements(stage: Callable[[str], str]) -> list[str]:
    """The conversion's row statements: every table's rows, then what was not carried."""
    links, files = stage("prompt_projects"), stage("project_files")
    made = [  # staging indexes for the lookups below; they go with their tables
        f"CREATE INDEX IF NOT EXISTS {links}_prompt ON {links} (json_extract(data, '$.promptId'))",
        f"CREATE INDEX IF NOT EXISTS {files}_key ON {files} "
        "(json_extract(data, '$.projectId') || '_' || json_extract(data, '$.path'))",
        *(_insert(stage, row) for row in rows(stage)),
    ]
    for table, field, reason, select in _not_carried(stage):
        made.append(
            "INSERT INTO asyncmig_not_carried (tbl, field, reason, id, value) "
            f"SELECT '{table}', '{field}', '{reason}', lost.* FROM ({select}) AS lost"
        )
    return made


def read_back(table: str) -> str:
    """For verify: the target table a source table's records went to, as a SELECT."""
    return f"SELECT * FROM main.{table}"
