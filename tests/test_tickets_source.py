"""Tickets, tasks and ticket-file links read from real files: schemas, v0.5.3 upgrades,
``--strict``, the processing order of ``ticket_storage/``; and MCP tools' any-JSON enums."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from asyncmig.source.layout import BY_TABLE
from asyncmig.source.messages import Done, Job, Notice, Opened, Reject, Rows
from asyncmig.source.plan import plan
from asyncmig.source.records import read_job
from asyncmig.targets.octoprompt import TABLES

if TYPE_CHECKING:
    from pathlib import Path

    from asyncmig.source.messages import Message

MIGRATED_AT = 1_800_000_000_000
TICKET_ID = 1_700_000_000_100
PROJECT_ID = 1_700_000_000_001
FILE_ID = 1_700_000_000_050


def ticket(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": TICKET_ID,
        "projectId": PROJECT_ID,
        "title": "Fix the parser",
        "overview": "It loses records",
        "status": "in_progress",
        "priority": "high",
        "suggestedFileIds": [str(FILE_ID)],
        "created": 1_700_000_000_200,
        "updated": 1_700_000_000_300,
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def task(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": 1_700_000_000_400,
        "ticketId": TICKET_ID,
        "content": "Write the test",
        "done": True,
        "orderIndex": 2,
        "created": 1_700_000_000_500,
        "updated": 1_700_000_000_600,
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def read(
    tmp_path: Path, table: str, entries: list[dict[str, Any]], *, strict: bool = False
) -> list[Message]:
    """Every message of reading ``entries`` written as the server wrote the table's file."""
    entity = BY_TABLE[table]
    body: object = entries
    if entity.top_level == "object":
        body = {str(e.get("id", n)): e for n, e in enumerate(entries)}
    path = tmp_path / entity.file_names[0]
    path.write_text(json.dumps(body, indent=2), encoding="utf-8")
    job = Job(0, str(path), table, entity.top_level, strict=strict, migrated_at=MIGRATED_AT)
    return list(read_job(job))


def one(tmp_path: Path, table: str, record: dict[str, Any], *, strict: bool = False) -> Any:
    """The one record's (data, upgraded) or its Reject."""
    messages = [m for m in read(tmp_path, table, [record], strict=strict) if not _framing(m)]
    assert len(messages) == 1, messages
    (message,) = messages
    if isinstance(message, Reject):
        return message
    assert isinstance(message, Rows)
    (row,) = message.rows
    return json.loads(bytes(row[1])), len(message.upgraded)


def _framing(message: Message) -> bool:
    return isinstance(message, Opened | Done | Notice)


def test_a_current_ticket_migrates_as_it_is(tmp_path: Path) -> None:
    data, upgraded = one(tmp_path, "tickets", ticket(extra="dropped", attachments=[1]))
    assert upgraded == 0
    assert data == ticket()
    assert list(data) == list(ticket())


def test_ticket_defaults(tmp_path: Path) -> None:
    bare = ticket(overview=..., status=..., priority=..., suggestedFileIds=...)
    data, upgraded = one(tmp_path, "tickets", bare)
    assert upgraded == 0
    assert data == ticket(overview="", status="open", priority="normal", suggestedFileIds=[])
    assert list(data) == list(ticket())


@pytest.mark.parametrize(
    ("legacy", "want"),
    [
        ({"status": "done"}, {"status": "closed"}),
        (
            {"suggestedFileIds": [FILE_ID, "7", 1_700_000_000_051]},
            {"suggestedFileIds": [str(FILE_ID), "7", "1700000000051"]},
        ),
        ({"suggestedFileIds": [5.0]}, {"suggestedFileIds": ["5"]}),
        (
            {
                "created": ...,
                "updated": ...,
                "createdAt": 1_700_000_000,
                "updatedAt": 1_700_000_001,
            },
            {"created": 1_700_000_000_000, "updated": 1_700_000_001_000},
        ),
    ],
    ids=["status-done", "numeric-file-ids", "whole-float-file-id", "createdAt-updatedAt"],
)
def test_v053_ticket_upgrades_unless_strict(
    tmp_path: Path, legacy: dict[str, Any], want: dict[str, Any]
) -> None:
    data, upgraded = one(tmp_path, "tickets", ticket(**legacy))
    assert upgraded == 1
    assert data == ticket(**want)
    assert list(data) == list(ticket())
    rejected = one(tmp_path, "tickets", ticket(**legacy), strict=True)
    assert isinstance(rejected, Reject)
    assert rejected.record_id == str(TICKET_ID)
    named = {e.split(":")[0] for e in rejected.errors}
    assert named == {f"$.{name}" for name in want}


def test_every_v053_ticket_upgrade_at_once_counts_once(tmp_path: Path) -> None:
    legacy = ticket(status="done", suggestedFileIds=[FILE_ID], createdAt=1, created=...)
    data, upgraded = one(tmp_path, "tickets", legacy)
    assert upgraded == 1
    assert (data["status"], data["suggestedFileIds"], data["created"]) == (
        "closed",
        [str(FILE_ID)],
        1000,
    )


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": ...}, "title"),
        ({"status": "resolved"}, "status"),
        ({"priority": "urgent"}, "priority"),
        ({"suggestedFileIds": [True]}, "suggestedFileIds"),
        ({"suggestedFileIds": [{"id": 1}]}, "suggestedFileIds"),
        ({"suggestedFileIds": "[1, 2]"}, "suggestedFileIds"),
        ({"projectId": "proj_lx2a9k_ab12c"}, "projectId"),
        ({"updated": ...}, "updated"),
    ],
)
def test_tickets_that_do_not_match_are_rejected(
    tmp_path: Path, bad: dict[str, Any], field: str
) -> None:
    rejected = one(tmp_path, "tickets", ticket(**bad))
    assert isinstance(rejected, Reject)
    assert [e.split(":")[0] for e in rejected.errors] == [f"$.{field}"]


def test_a_current_task_migrates_as_it_is(tmp_path: Path) -> None:
    data, upgraded = one(tmp_path, "ticket_tasks", task(extra=1))
    assert upgraded == 0
    assert data == task()
    assert list(data) == list(task())
    data, upgraded = one(tmp_path, "ticket_tasks", task(done=..., orderIndex=1.5))
    assert (upgraded, data["done"], data["orderIndex"]) == (0, False, 1.5)
    assert list(data) == list(task())


@pytest.mark.parametrize(
    ("legacy", "want"),
    [
        ({"done": 1}, {"done": True}),
        ({"done": 0}, {"done": False}),
        (
            {
                "created": ...,
                "updated": ...,
                "createdAt": 1_700_000_000,
                "updatedAt": 1_700_000_001,
            },
            {"created": 1_700_000_000_000, "updated": 1_700_000_001_000},
        ),
    ],
    ids=["done-1", "done-0", "createdAt-updatedAt"],
)
def test_v053_task_upgrades_unless_strict(
    tmp_path: Path, legacy: dict[str, Any], want: dict[str, Any]
) -> None:
    data, upgraded = one(tmp_path, "ticket_tasks", task(**legacy))
    assert upgraded == 1
    assert data == task(**want)
    assert list(data) == list(task())
    rejected = one(tmp_path, "ticket_tasks", task(**legacy), strict=True)
    assert isinstance(rejected, Reject)
    assert {e.split(":")[0] for e in rejected.errors} == {f"$.{name}" for name in want}


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"done": 2}, "done"),
        ({"done": "true"}, "done"),
        ({"content": ""}, "content"),
        ({"orderIndex": -1}, "orderIndex"),
        ({"orderIndex": ...}, "orderIndex"),
        ({"orderIndex": True}, "orderIndex"),
        ({"ticketId": None}, "ticketId"),
    ],
)
def test_tasks_that_do_not_match_are_rejected(
    tmp_path: Path, bad: dict[str, Any], field: str
) -> None:
    rejected = one(tmp_path, "ticket_tasks", task(**bad))
    assert isinstance(rejected, Reject)
    assert [e.split(":")[0] for e in rejected.errors] == [f"$.{field}"]


def test_the_slow_path_rejects_an_empty_task(tmp_path: Path) -> None:
    rejected = one(tmp_path, "ticket_tasks", task(content="", done=1))
    assert isinstance(rejected, Reject)
    assert [e.split(":")[0] for e in rejected.errors] == ["$.content"]


def test_links_are_read_as_the_v053_server_wrote_them(tmp_path: Path) -> None:
    links: list[dict[str, Any]] = [
        {"ticketId": TICKET_ID, "fileId": FILE_ID},
        {"ticketId": TICKET_ID, "fileId": "1700000000051", "extra": 1},
        {"ticketId": TICKET_ID, "fileId": "file_lx2a9k_ab12c"},
        {"ticketId": TICKET_ID},
    ]
    messages = read(tmp_path, "ticket_file_links", links)
    (rows,) = [m for m in messages if isinstance(m, Rows)]
    assert [(r[0], json.loads(bytes(r[1])), r[2], r[3]) for r in rows.rows] == [
        (str(TICKET_ID), {"ticketId": TICKET_ID, "fileId": FILE_ID}, MIGRATED_AT, MIGRATED_AT),
        (str(TICKET_ID), {"ticketId": TICKET_ID, "fileId": FILE_ID + 1}, MIGRATED_AT, MIGRATED_AT),
    ]
    assert (rows.indexes, len(rows.upgraded)) == ([0, 1], 0)
    rejects = [m for m in messages if isinstance(m, Reject)]
    assert [(r.index, [e.split(":")[0] for e in r.errors]) for r in rejects] == [
        (2, ["$.fileId"]),
        (3, ["$.fileId"]),
    ]
    assert messages[-1] == Done(4)


def test_ticket_file_links_are_not_a_table() -> None:
    assert BY_TABLE["ticket_file_links"].folds_into == "tickets"
    assert "ticket_file_links" not in TABLES
    assert TABLES[-2:] == ("tickets", "ticket_tasks")
    assert len(TABLES) == len(set(TABLES)) == 14


@pytest.mark.parametrize(
    ("enum", "default"),
    [([1, 2, 3], 2), (["a", 1, None, {"b": [True]}], {"a": [1]}), ([], [1, "x"])],
)
@pytest.mark.parametrize("strict", [False, True])
def test_mcp_tool_enum_and_default_hold_any_json(
    tmp_path: Path, enum: list[Any], default: Any, strict: bool
) -> None:
    parameter = {"name": "n", "type": "number", "required": False, "default": default}
    tool = {"id": "t1", "name": "tool", "description": "d", "serverId": 3}
    tool["parameters"] = [parameter | {"enum": enum}]
    data, upgraded = one(tmp_path, "mcp_tools", tool, strict=strict)
    assert upgraded == 0
    assert data["parameters"] == [parameter | {"enum": enum}]


def test_mcp_tool_enum_is_still_a_list(tmp_path: Path) -> None:
    parameter = {"name": "n", "type": "number", "enum": {"a": 1}}
    tool = {"id": "t1", "name": "tool", "description": "d", "serverId": 3}
    rejected = one(tmp_path, "mcp_tools", tool | {"parameters": [parameter]})
    assert isinstance(rejected, Reject)
    assert [e.split(":")[0] for e in rejected.errors] == ["$.parameters[0].enum"]


def _touch(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("[]" if rel.endswith("files.json") and "ticket" in rel else "{}")


def test_ticket_storage_order(tmp_path: Path) -> None:
    """tickets.json after every other migrated file, then each ticket folder by its
    ts-normalised id (1800000000 is seconds: after 1700000000000), tasks before links."""
    folders = ("10", "9", "100", "1800000000", "1700000000000", "not-an-id")
    tickets = "ticket_storage/ticket_data"
    _touch(
        tmp_path,
        *(f"{tickets}/{f}/{name}" for f in folders for name in ("files.json", "tasks.json")),
        "ticket_storage/tickets.json",
        "mcp_storage/tool_executions.json",
        "project_storage/projects.json",
        "project_storage/project_data/5/files.json",
        f"{tickets}/9/notes.json",
    )
    made = plan(tmp_path)
    order = [f.rel for f in made.migrated]
    in_order = ("9", "10", "100", "1700000000000", "1800000000", "not-an-id")
    assert order == [
        "project_storage/projects.json",
        "project_storage/project_data/5/files.json",
        "mcp_storage/tool_executions.json",
        "ticket_storage/tickets.json",
        *(f"{tickets}/{f}/{name}" for f in in_order for name in ("tasks.json", "files.json")),
    ]
    tables = {f.rel.rsplit("/", 1)[-1]: f.table for f in made.migrated if "ticket" in f.rel}
    assert tables == {
        "tickets.json": "tickets",
        "tasks.json": "ticket_tasks",
        "files.json": "ticket_file_links",
    }
    parents = [f.parent_id for f in made.migrated if f.rel.startswith(tickets)][::2]
    assert parents == [9000, 10000, 100000, 1_700_000_000_000, 1_800_000_000_000, None]
    assert [(f.rel, f.reason) for f in made.not_migrated] == [
        (f"{tickets}/9/notes.json", "not a file of OctoPrompt's JSON-era data layout")
    ]


def test_a_ticket_folder_reads_through_the_plan(tmp_path: Path) -> None:
    """A v0.5.3 ticket folder, planned and read as a run reads it: upgrades counted per file."""
    folder = tmp_path / "ticket_storage" / "ticket_data" / str(TICKET_ID)
    folder.mkdir(parents=True)
    (tmp_path / "ticket_storage" / "tickets.json").write_text(
        json.dumps({str(TICKET_ID): ticket(status="done", suggestedFileIds=[FILE_ID])}, indent=2)
    )
    tasks = {
        str(t["id"]): t for t in (task(id=1_700_000_000_401, done=1), task(id=1_700_000_000_402))
    }
    (folder / "tasks.json").write_text(json.dumps(tasks, indent=2))
    (folder / "files.json").write_text(json.dumps([{"ticketId": TICKET_ID, "fileId": FILE_ID}]))
    got = {}
    for item in plan(tmp_path).migrated:
        job = Job.of(
            item, strict=False, migrated_at=MIGRATED_AT, batch_rows=100, batch_bytes=1 << 20
        )
        (rows,) = [m for m in read_job(job) if isinstance(m, Rows)]
        got[item.table] = (
            [json.loads(bytes(r[1])) for r in rows.rows],
            len(rows.upgraded),
            item.parent_id,
        )
    assert got == {
        "tickets": ([ticket(status="closed", suggestedFileIds=[str(FILE_ID)])], 1, None),
        "ticket_tasks": (
            [task(id=1_700_000_000_401, done=True), task(id=1_700_000_000_402)],
            1,
            TICKET_ID,
        ),
        "ticket_file_links": ([{"ticketId": TICKET_ID, "fileId": FILE_ID}], 0, TICKET_ID),
    }
