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

import itertools
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


def _j(field: str, row: str = "s") -> str:
    return f"json_extract({row}.data, '$.{field}')"


#: A project that exists, by the id a record names (NULL when none does).
_PROJECT: Final = "(SELECT p.id FROM projects AS p WHERE p.id = {ref})"

#: Which file row holds each migrated file record: ``<projectId>_<path>`` by the record's
#: id. Kept beside the ledger, for verify and for anyone holding an old file id.
FILE_IDS_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS asyncmig_file_ids (id TEXT PRIMARY KEY, file_id TEXT NOT NULL)"
)

#: The file id a ticket's reference becomes: the file's server id when the file was migrated.
_SUGGESTED: Final = (
    "(SELECT json_group_array(coalesce((SELECT m.file_id FROM asyncmig_file_ids AS m WHERE "
    "m.id = CAST(e.value AS TEXT)), CAST(e.value AS TEXT))) "
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


def _whole(field: str) -> str:
    """A JSON number as the INTEGER column holding it: whole (its server reads each row back
    through a schema of integers); a fraction is kept in ``asyncmig_not_carried``."""
    return f"CAST(round({_j(field)}) AS INTEGER)"


#: (source table, field) of numbers the spec allows any and Promptliano stores whole.
_WHOLE: Final = (("project_files", "size"), ("ticket_tasks", "orderIndex"))


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
            "size": _whole("size"), "content": _j("content"), "meta": _j("meta"),
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
            "suggested_file_ids": _SUGGESTED, **ts,
        }, has_project),
        ("ticket_tasks", "ticket_tasks", {
            "id": "CAST(s.id AS INTEGER)", "ticket_id": _j("ticketId"), "content": _j("content"),
            "done": _j("done"),
            "status": f"CASE WHEN {_j('done')} THEN 'completed' ELSE 'pending' END",
            "order_index": _whole("orderIndex"), **ts,
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


class _Lost(NamedTuple):
    """Records of one source table (staging row ``s``) that lose ``field`` (``*``: the whole
    record) for ``reason``: those where ``where`` holds, each kept with ``value``."""

    table: str
    field: str
    reason: str
    value: str
    where: str


def _not_carried(stage: Callable[[str], str]) -> list[_Lost]:
    """What has no place in Promptliano, each table's entries side by side (one scan of its
    staging table reads them all, see :func:`_keep`); a record is kept whole, a field as
    its JSON value."""
    whole = "CAST(s.data AS TEXT)"
    fields: dict[str, list[_Lost]] = {
        "project_files": [
            _Lost("project_files", f, "files has no column for it", f"json_quote({_j(f)})",
                  f"{_j(f)} IS NOT NULL")
            for f in ("summary", "summaryLastUpdated")
        ],
    }  # fmt: skip
    for table, field in _WHOLE:
        fields.setdefault(table, []).append(
            _Lost(table, field, "a fraction, where Promptliano stores whole numbers: rounded "
                  "there", _j(field), f"{_j(field)} != round({_j(field)})")
        )  # fmt: skip
    named = _j("projectId")
    for table in ("chats", "prompts"):
        fields.setdefault(table, []).append(
            _Lost(table, "projectId", "it names no project: the row has project_id NULL", named,
                  f"{named} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM projects AS p WHERE "
                  f"p.id = {named})")
        )  # fmt: skip
    mcp = ("mcp_server_states", "mcp_tools", "mcp_resources", "mcp_tool_executions")
    lost = [_Lost(t, "*", "Promptliano has no table for it", whole, "1") for t in mcp]
    for table, source, columns, where in rows(stage):
        # Each row of ``table`` comes from one staging row of ``source``: with as many rows
        # as staging rows, none is unwritten, and SQLite tests this once, before any scan.
        fewer = f"(SELECT count(*) FROM {table}) < (SELECT count(*) FROM {stage(source)})"
        lost.append(
            _Lost(source, "*", f"no row in {table}: a parent it needs is missing, or an "
                  "earlier record has its id", whole,
                  f"{fewer} AND ({_unwritten(table, source, columns, where, stage)})")
        )  # fmt: skip
        lost += fields.pop(source, [])
    prompt = f"(SELECT 1 FROM prompts AS p WHERE p.id = {_j('promptId')}"
    return [
        *lost,
        *(entry for entries in fields.values() for entry in entries),
        _Lost("prompt_projects", "*", "the link names no migrated prompt", whole,
              f"NOT EXISTS {prompt})"),
        _Lost("prompt_projects", "*", "a prompt has one project in Promptliano", whole,
              f"EXISTS {prompt}) AND NOT EXISTS {prompt} AND p.project_id = {named})"),
    ]  # fmt: skip


def _keep(stage: Callable[[str], str], lost: Sequence[_Lost]) -> str:
    """The statement keeping what ``lost`` (entries of one table) names, reading the
    staging table once: every condition is a JSON lookup into a record that may hold a
    whole source file, and SQLite parses a record once for all the lookups of its row."""
    table = lost[0].table
    insert = "INSERT INTO asyncmig_not_carried (tbl, field, reason, id, file, value) "

    def keep(entry: _Lost, value: str) -> str:
        source = _SOURCE.format(table)
        return f"SELECT '{table}', '{entry.field}', '{entry.reason}', s.id, {source}, {value}"

    if len(lost) == 1:
        (only,) = lost
        return f"{insert}{keep(only, only.value)} FROM {stage(table)} AS s WHERE {only.where}"
    # Each condition is tested in the scan; a value is kept only where its condition holds
    # (a whole record is not copied into the temporary table for another field's sake).
    found = ", ".join(
        f"({e.where}) AS c{n}, CASE WHEN {e.where} THEN {e.value} END AS v{n}"
        for n, e in enumerate(lost)
    )
    any_of = " OR ".join(f"({e.where})" for e in lost)
    each = " UNION ALL ".join(
        f"{keep(e, f's.v{n}')} FROM m AS s WHERE s.c{n}" for n, e in enumerate(lost)
    )
    return (
        f"WITH m AS MATERIALIZED (SELECT s.rowid AS rowid, s.id AS id, {found} FROM "
        f"{stage(table)} AS s WHERE {any_of}) {insert}{each}"
    )


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


def _file_ids(stage: Callable[[str], str], row: tuple[str, str, dict[str, str], str]) -> str:
    """Each file record that has its row, by its id (an unwritten one has none)."""
    table, source, columns, where = row
    written = _unwritten(table, source, columns, where, stage)
    return (
        f"INSERT OR IGNORE INTO asyncmig_file_ids (id, file_id) SELECT s.id, {columns['id']} "
        f"FROM {stage(source)} AS s WHERE NOT ({written})"
    )


#: The source file a staging row came from: the ledger's rowid range of each file, or for
#: a re-keyed record (inserted after the load) the file the re-keying step names.
_FILES_INDEX: Final = (
    "CREATE INDEX IF NOT EXISTS asyncmig_files_rows ON asyncmig_files (tbl, first_rowid)"
)
_SOURCE: Final = (
    "coalesce((SELECT f.path FROM asyncmig_files AS f WHERE f.tbl = '{0}' AND f.first_rowid "
    "<= s.rowid AND s.rowid <= f.last_rowid ORDER BY f.first_rowid DESC LIMIT 1), (SELECT "
    "r.path FROM asyncmig_rekeys AS r WHERE r.tbl = '{0}' AND r.new_id = s.id))"
)


def statements(stage: Callable[[str], str]) -> list[str]:
    """The conversion's row statements: every table's rows, then what was not carried."""
    links, files = stage("prompt_projects"), stage("project_files")
    made = [  # staging indexes for the lookups below; they go with their tables
        f"CREATE INDEX IF NOT EXISTS {links}_prompt ON {links} (json_extract(data, '$.promptId'))",
        f"CREATE INDEX IF NOT EXISTS {files}_key ON {files} "
        "(json_extract(data, '$.projectId') || '_' || json_extract(data, '$.path'))",
        FILE_IDS_DDL,
    ]
    for row in rows(stage):
        made.append(_insert(stage, row))
        if row[0] == "files":
            made.append(_file_ids(stage, row))
    made.append(_FILES_INDEX)
    for _, group in itertools.groupby(_not_carried(stage), key=lambda lost: lost.table):
        made.append(_keep(stage, list(group)))
    return [*made, "DROP INDEX asyncmig_files_rows"]


#: Where verify finds each source table's records: the table, and how a row gives back the
#: source id and updated_at (a message keeps ``updated`` in its metadata).
_HOLDERS: Final = {
    "projects": "projects", "project_files": "files", "chats": "chats",
    "chat_messages": "chat_messages", "prompts": "prompts", "provider_keys": "provider_keys",
    "tickets": "tickets", "ticket_tasks": "ticket_tasks",
    "mcp_server_configs": "mcp_server_configs",
}  # fmt: skip
_UPDATED: Final = {
    "chat_messages": "coalesce(nullif(json_extract(t.metadata, '$.updated'), 0), t.created_at)"
}
#: Verify cannot see the prompt links the conversion read (they were staging rows): a prompt
#: whose own project exists must have it, any other may have the project of a link.
_VERIFY_EXPRESSIONS: Final = {
    # Verify's derivation lists the links it expects in temp.links, in processing order.
    ("prompts", "project_id"): "coalesce((SELECT p.id FROM main.projects AS p WHERE p.id = "
    "json_extract(s.data, '$.projectId')), (SELECT p.id FROM temp.links AS l JOIN "
    "main.projects AS p ON p.id = l.project WHERE l.prompt = CAST(s.id AS INTEGER) "
    "ORDER BY l.seq LIMIT 1))"
}
_NOT_CARRIED_RECORD: Final = (
    "EXISTS (SELECT 1 FROM main.asyncmig_not_carried AS n WHERE n.tbl = '{table}' AND "
    "n.id = s.id AND n.field = '*')"
)


#: Columns holding JSON text.
_JSON: Final = frozenset({"metadata", "args", "env", "suggested_file_ids"})


def holder(table: str) -> str | None:
    """The Promptliano table holding ``table``'s records; None: none does."""
    return _HOLDERS.get(table)


def _kept_fields(table: str) -> list[tuple[str, str]]:
    """For verify: (field, the value ``asyncmig_not_carried`` must keep for the source row
    ``s``, NULL when none) of each field of ``table`` that may have no column, as
    :func:`_not_carried` keeps them."""
    named = _j("projectId")
    missing = (
        f"{named} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM main.projects AS p "
        f"WHERE p.id = {named})"
    )
    fields = {
        "project_files": [
            # "|| ''": plain text, as the column holds it (json_quote's result would be
            # embedded as JSON by json_array, not as the string the column holds)
            *(
                (f, f"CASE WHEN {_j(f)} IS NOT NULL THEN json_quote({_j(f)}) || '' END")
                for f in ("summary", "summaryLastUpdated")
            ),
        ],
        # The kept values are TEXT (the column's affinity): numbers compared as their text.
        "chats": [("projectId", f"CASE WHEN {missing} THEN CAST({named} AS TEXT) END")],
        "prompts": [("projectId", f"CASE WHEN {missing} THEN CAST({named} AS TEXT) END")],
    }.get(table, [])
    fields += [
        (field, f"CASE WHEN {_j(field)} != round({_j(field)}) THEN CAST({_j(field)} AS TEXT) END")
        for source, field in _WHOLE
        if source == table
    ]
    return fields


def _kept_value(table: str, field: str, key: str) -> str:
    return (
        f"(SELECT n.value FROM main.asyncmig_not_carried AS n WHERE n.tbl = '{table}' AND "
        f"n.id = {key} AND n.field = '{field}')"
    )


def _absent(table: str) -> str:
    """The condition on a source row ``s`` that it has no row of its own: a parent it needs
    is not in the database, or (files) a record earlier in the conversion's order holds its
    ``<projectId>_<path>`` (verify lists the first one per key in temp.file_keys)."""
    _, _, columns, where = next(r for r in rows(lambda t: t) if r[1] == table)
    absent = f"NOT ({where})"
    if table == "project_files":
        absent += (
            " OR NOT EXISTS (SELECT 1 FROM temp.file_keys AS k WHERE k.key = "
            f"{columns['id']} AND k.id = s.id)"
        )
    return absent


def _compared(table: str) -> dict[str, str]:
    """The columns verify compares for a source table: {column: expression over ``s``}."""
    found = next(r for r in rows(lambda t: t) if r[1] == table)
    target, _, columns, _ = found
    skip = {"created_at", "updated_at"} | ({"id"} if target != "files" else set())
    return {c: _VERIFY_EXPRESSIONS.get((target, c), e) for c, e in columns.items() if c not in skip}


def read_back(table: str) -> str:
    """For verify: ``(id, data, created_at, updated_at)`` of every row holding one of
    ``table``'s records, ``data`` being the compared columns as a JSON array."""
    target = holder(table)
    if target is None:
        return (
            "SELECT * FROM (SELECT NULL AS id, NULL AS data, NULL AS created_at, "
            "NULL AS updated_at WHERE 0)"
        )
    updated = _UPDATED.get(table, "t.updated_at")
    if table == "project_files":
        source = "main.asyncmig_file_ids AS m JOIN main.files AS t ON t.id = m.file_id"
        key = "m.id"
    else:
        source, key = f"main.{target} AS t", "CAST(t.id AS TEXT)"
    kept = [_kept_value(table, field, key) for field, _ in _kept_fields(table)]
    values = ", ".join([*(f"t.{c}" for c in _compared(table)), *kept])
    return (
        f"SELECT * FROM (SELECT {key} AS id, json_array({values}) AS data, t.created_at AS "
        f"created_at, {updated} AS updated_at FROM {source})"
    )


def expect(table: str) -> str:
    """For verify: one source row (bound: id, data, created_at, updated_at) as
    :func:`read_back` gives it back. Whether the record has a row is derived from the
    source and the parents the database holds, not from what the database says it kept:
    ``data`` is NULL for a record with no row that ``asyncmig_not_carried`` keeps whole,
    and a marker no row equals for one it does not keep."""
    kept = _NOT_CARRIED_RECORD.format(table=table)
    if table == "prompt_projects":  # or carried as its prompt's project
        kept += (
            " OR EXISTS (SELECT 1 FROM main.prompts AS p WHERE p.id = "
            f"{_j('promptId')} AND p.project_id = {_j('projectId')})"
        )
    gone = f"CASE WHEN {kept} THEN NULL ELSE json_array('not kept in asyncmig_not_carried') END"
    if holder(table) is None:
        data = gone
    else:
        # JSON-valued expressions as plain text, as the columns hold them
        values = [f"({e}) || ''" if c in _JSON else e for c, e in _compared(table).items()]
        values += [expected for _, expected in _kept_fields(table)]
        data = f"CASE WHEN {_absent(table)} THEN {gone} ELSE json_array({', '.join(values)}) END"
    return (
        f"SELECT s.id, {data}, s.created_at, s.updated_at FROM (SELECT ? AS id, CAST(? AS TEXT) "
        "AS data, ? AS created_at, ? AS updated_at) AS s"
    )
