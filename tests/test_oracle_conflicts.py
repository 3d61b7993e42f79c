"""The oracle's reading of the changed spec (issue 10): re-keys, duplicates, last-wins
states, string-keyed conflicts, tickets with their tasks and links; tiny roots, exact ids."""

from __future__ import annotations

import json
from dataclasses import astuple
from typing import TYPE_CHECKING, Any

from oracle import COUNTED, LINKS, Counts, Expected, expected
from test_oracle import (
    CHATS,
    NOW,
    PROJECTS,
    T0,
    chat,
    files_of,
    keyed,
    message,
    project,
    project_file,
    without,
    write,
)

if TYPE_CHECKING:
    from pathlib import Path

F = 1_700_000_000_000  # a Date.now() id: above the seconds rule
A, B = F - 10_000, F - 5_000  # two projects
DATA = "project_storage/project_data"
TICKETS = "ticket_storage/tickets.json"
TICKET_DATA = "ticket_storage/ticket_data"
STATES = "mcp_storage/mcp_server_states.json"


def entries(*records: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(str(record["id"]), record) for record in records]


def write_object(root: Path, rel: str, members: list[tuple[str, dict[str, Any]]]) -> None:
    """A JSON object that may repeat a key (as a hand-edited or merged file can)."""
    body = ",\n".join(f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in members)
    write(root, rel, "{\n" + body + "\n}")


def assert_adds_up(result: Expected) -> None:
    for table in COUNTED:
        c = result.counts[table]
        assert c.found == c.migrated + c.rejected + c.orphaned + c.duplicate + c.superseded, table
        assert c.upgraded <= c.migrated
        assert c.rekeyed <= c.migrated


def two_projects(root: Path) -> None:
    write(root, PROJECTS, keyed(project(A), project(B)))


# ---------------------------------------------------------------- re-keying


def test_new_ids_are_chosen_after_every_keeper_is_known(tmp_path: Path) -> None:
    two_projects(tmp_path)
    write(tmp_path, f"{DATA}/{A}/files.json", keyed(*(project_file(F + i, A) for i in range(3))))
    copy = project_file(F + 2, A)  # an identical copy, in the other project's folder
    other = project_file(F, B, name="b.py")
    write_object(
        tmp_path,
        f"{DATA}/{B}/files.json",
        entries(project_file(F + 1, B), copy, project_file(F + 3, B), other, other),
    )
    result = expected(tmp_path, migrated_at=NOW)

    b_file = f"{DATA}/{B}/files.json"
    # F+3 keeps its own id although it comes after the first collider: F+1 moves to F+4.
    assert result.rekeys == [
        ("project_files", b_file, 0, F + 1, F + 4),
        ("project_files", b_file, 3, F, F + 5),
    ]
    assert result.duplicates == [(b_file, 1), (b_file, 4)]  # a copy of a waiting one too
    assert sorted(files_of(result)) == [str(F + i) for i in range(6)]
    moved, created_at, updated_at = files_of(result)[str(F + 5)]
    assert moved == project_file(F + 5, B, name="b.py")  # data.id changed, nothing else
    assert (created_at, updated_at) == (T0, T0 + 1)
    assert result.counts["project_files"] == Counts(found=8, migrated=6, duplicate=2, rekeyed=2)
    assert_adds_up(result)


def test_rejected_and_orphaned_records_hold_no_id(tmp_path: Path) -> None:
    two_projects(tmp_path)
    invalid = project_file(F + 1, A, size="big")
    write(tmp_path, f"{DATA}/{A}/files.json", keyed(project_file(F, A), invalid))
    write(tmp_path, f"{DATA}/99/files.json", keyed(project_file(F + 2, 99)))  # an orphan
    write(tmp_path, f"{DATA}/{B}/files.json", keyed(project_file(F, B)))
    result = expected(tmp_path, migrated_at=NOW)
    assert [rekey[3:] for rekey in result.rekeys] == [(F, F + 1)]
    assert result.counts["project_files"] == Counts(
        found=4, migrated=2, rejected=1, orphaned=1, rekeyed=1
    )

    included = expected(tmp_path, migrated_at=NOW, include_orphans=True)
    assert [rekey[3:] for rekey in included.rekeys] == [(F, F + 1)]
    write(tmp_path, f"{DATA}/99/files.json", keyed(project_file(F + 1, 99)))
    included = expected(tmp_path, migrated_at=NOW, include_orphans=True)
    assert [rekey[3:] for rekey in included.rekeys] == [(F, F + 2)]  # orphans hold theirs


def test_equal_means_equal_compact_json(tmp_path: Path) -> None:
    two_projects(tmp_path)
    write(tmp_path, f"{DATA}/{A}/files.json", keyed(project_file(F, A, size=3)))
    write(tmp_path, f"{DATA}/{B}/files.json", keyed(project_file(F, A, size=3.0)))
    result = expected(tmp_path, migrated_at=NOW)
    assert result.rekeys == []
    assert result.duplicates == [(f"{DATA}/{B}/files.json", 0)]


def test_a_rekeyed_parent_leaves_its_folder_to_the_keeper(tmp_path: Path) -> None:
    write_object(tmp_path, CHATS, entries(chat(F), chat(F, title="fork"), chat(F + 1)))
    original = [message(F + 10 + i, F) for i in range(2)]
    write(tmp_path, f"chat_storage/chat_data/{F}/messages.json", keyed(*original))
    forked = [message(F + 10, F + 1), message(F + 11, F + 1, content="edited"), original[0]]
    write_object(tmp_path, f"chat_storage/chat_data/{F + 1}/messages.json", entries(*forked))
    result = expected(tmp_path, migrated_at=NOW)

    assert result.rekeys == [
        ("chats", CHATS, 1, F, F + 2),  # F+1 is held by the third chat
        ("chat_messages", f"chat_storage/chat_data/{F + 1}/messages.json", 0, F + 10, F + 12),
        ("chat_messages", f"chat_storage/chat_data/{F + 1}/messages.json", 1, F + 11, F + 13),
    ]
    assert result.rows["chats"][str(F + 2)][0]["title"] == "fork"
    messages = result.rows["chat_messages"]
    assert messages[str(F + 10)][0]["chatId"] == F  # the folder belongs to the keeper
    assert messages[str(F + 13)][0] == message(F + 13, F + 1, content="edited")
    assert result.duplicates == [(f"chat_storage/chat_data/{F + 1}/messages.json", 2)]
    assert result.orphan_folders == set()
    assert_adds_up(result)


def test_upgraded_counts_only_migrated_records(tmp_path: Path) -> None:
    write(tmp_path, CHATS, keyed(chat(F), chat(F + 1)))
    legacy = without(message(F + 5, F), "updated")
    write(tmp_path, f"chat_storage/chat_data/{F}/messages.json", keyed(legacy))
    moved = without(message(F + 5, F, content="other"), "updated")
    write_object(tmp_path, f"chat_storage/chat_data/{F + 1}/messages.json", entries(legacy, moved))
    result = expected(tmp_path, migrated_at=NOW)
    # The copy is a duplicate (not counted as upgraded); the re-keyed one is migrated, upgraded.
    assert result.counts["chat_messages"] == Counts(
        found=3, migrated=2, upgraded=2, duplicate=1, rekeyed=1
    )
    assert result.rows["chat_messages"][str(F + 6)][0]["updated"] == T0


def test_provider_keys_and_configs_rekey_too(tmp_path: Path) -> None:
    key = {"id": F, "name": "k", "provider": "p", "key": "s", "created": 1, "updated": 2}
    write_object(
        tmp_path, "provider_key_storage/provider_keys.json", entries(key, key | {"key": "t"})
    )
    config = {"id": 7, "projectId": 1, "name": "n", "command": "c", "created": F, "updated": F}
    write_object(
        tmp_path, "mcp_storage/mcp_server_configs.json", entries(config, config | {"name": "m"})
    )
    result = expected(tmp_path, migrated_at=NOW)
    assert [rekey[3:] for rekey in result.rekeys] == [(F, F + 1), (7, 8)]
    assert result.rows["mcp_server_configs"]["8"][0]["name"] == "m"


# ---------------------------------------------------------------- other conflict kinds


def test_string_keyed_mcp_tables_reject_other_data(tmp_path: Path) -> None:
    tool = {"id": "t1", "name": "n", "description": "d", "serverId": 3}
    param = {"name": "n", "type": "number", "enum": [1, 2, 3], "default": {"a": [None]}}
    write_object(
        tmp_path,
        "mcp_storage/mcp_tools.json",
        entries(tool | {"parameters": [param]}, tool | {"parameters": [param]}, tool),
    )
    run = {"id": "e1", "toolId": "t1", "serverId": 3, "status": "success", "error": None}
    run |= {"startedAt": F, "completedAt": None}
    write_object(tmp_path, "mcp_storage/mcp_tool_executions.json", entries(run))
    write_object(tmp_path, "mcp_storage/tool_executions.json", entries(run | {"result": 1}))
    result = expected(tmp_path, migrated_at=NOW)

    assert result.rows["mcp_tools"]["t1"][0]["parameters"][0]["enum"] == [1, 2, 3]
    assert result.duplicates == [("mcp_storage/mcp_tools.json", 1)]
    assert result.rejected == [
        ("mcp_storage/mcp_tools.json", 2),
        ("mcp_storage/tool_executions.json", 0),
    ]
    assert result.rekeys == []
    assert result.counts["mcp_tools"] == Counts(found=3, migrated=1, rejected=1, duplicate=1)


def test_mcp_states_last_one_per_server_wins(tmp_path: Path) -> None:
    def state(server: int, status: str) -> dict[str, Any]:
        return {"serverId": server, "status": status, "pid": None, "error": None} | {
            "startedAt": None,
            "lastHeartbeat": None,
        }

    history = [state(3, "starting"), state(4, "running"), state(3, "running"), state(3, "stopped")]
    write_object(tmp_path, STATES, [(str(F + i), s) for i, s in enumerate(history)])
    write(tmp_path, "mcp_storage/server_states.json", {str(F + 9): state(4, "error")})
    result = expected(tmp_path, migrated_at=NOW)

    assert result.rows["mcp_server_states"]["3"][0]["status"] == "stopped"
    assert result.rows["mcp_server_states"]["4"][0]["status"] == "error"
    assert result.superseded == [(STATES, 0), (STATES, 2), (STATES, 1)]
    assert result.counts["mcp_server_states"] == Counts(found=5, migrated=2, superseded=3)
    assert_adds_up(result)


def test_prompt_links_repeat_as_duplicates_whatever_their_id(tmp_path: Path) -> None:
    links = [{"id": F, "promptId": 1, "projectId": 2}, {"id": F + 1, "promptId": 1, "projectId": 2}]
    write(tmp_path, "prompt_storage/prompt-projects.json", links)
    result = expected(tmp_path, migrated_at=NOW)
    assert result.counts["prompt_projects"] == Counts(found=2, migrated=1, duplicate=1)
    assert result.rekeys == []


# ---------------------------------------------------------------- tickets, tasks, links


def ticket(tid: int, pid: int, **extra: object) -> dict[str, Any]:
    base = {"id": tid, "projectId": pid, "title": "t", "overview": "", "status": "open"}
    return (
        base
        | {"priority": "normal", "suggestedFileIds": [], "created": T0}
        | {"updated": T0 + 1}
        | extra
    )


def task(kid: int, tid: int, **extra: object) -> dict[str, Any]:
    base = {"id": kid, "ticketId": tid, "content": "do", "done": False, "orderIndex": 0}
    return base | {"created": T0, "updated": T0 + 1} | extra


T1, T2 = F + 100, F + 200


def tickets_root(root: Path) -> None:
    """A v0.5.3 ticket (done, numeric file ids, 1/0 tasks, links) and a v0.6 one."""
    two_projects(root)
    write(root, f"{DATA}/{A}/files.json", keyed(project_file(F, A), project_file(F + 1, A)))
    old = ticket(T1, A, status="done", suggestedFileIds=[F, F + 1]) | {"junk": 1}
    write(root, TICKETS, keyed(old, ticket(T2, A, suggestedFileIds=[str(F)])))
    tasks = [task(F + 300, T1, done=1), task(F + 301, T1, done=0), task(F + 302, T1)]
    write(root, f"{TICKET_DATA}/{T1}/tasks.json", keyed(*tasks))
    links = [{"ticketId": T1, "fileId": F + 2}, {"ticketId": T1, "fileId": F + 2}]
    write(root, f"{TICKET_DATA}/{T1}/files.json", links)
    write(root, f"{TICKET_DATA}/{T2}/files.json", [{"ticketId": T2, "fileId": str(F)}])
    write(root, f"{TICKET_DATA}/{T2}/tasks.json", keyed(task(F + 400, T2)))


def test_v053_tickets_are_upgraded_and_links_folded(tmp_path: Path) -> None:
    tickets_root(tmp_path)
    result = expected(tmp_path, migrated_at=NOW)
    upgraded = ticket(T1, A, status="closed", suggestedFileIds=[str(F), str(F + 1), str(F + 2)])
    assert result.rows["tickets"][str(T1)] == (upgraded, T0, T0 + 1)
    assert result.rows["tickets"][str(T2)][0]["suggestedFileIds"] == [str(F)]  # once
    tasks = result.rows["ticket_tasks"]
    assert [tasks[str(F + 300 + i)][0]["done"] for i in range(3)] == [True, False, False]
    # The fold is counted on the link that changed its ticket (one of T1's two, which
    # repeat each other); T2's only link names a file it already suggests: no upgrade.
    assert result.counts["tickets"] == Counts(found=2, migrated=2, upgraded=1)
    assert result.counts["ticket_tasks"] == Counts(found=4, migrated=4, upgraded=2)
    assert result.counts[LINKS] == Counts(found=3, migrated=3, upgraded=1)
    assert result.not_migrated == set()
    assert_adds_up(result)


def test_strict_rejects_links_and_v053_shapes(tmp_path: Path) -> None:
    tickets_root(tmp_path)
    result = expected(tmp_path, migrated_at=NOW, strict=True)
    assert list(result.rows["tickets"]) == [str(T2)]
    assert result.orphan_folders == {f"{TICKET_DATA}/{T1}"}  # its ticket was rejected
    assert result.counts["ticket_tasks"] == Counts(found=4, migrated=1, rejected=2, orphaned=1)
    assert result.counts[LINKS] == Counts(found=3, rejected=3)
    assert (f"{TICKET_DATA}/{T2}/files.json", 0) in result.rejected
    assert_adds_up(result)


def test_orphan_ticket_folders(tmp_path: Path) -> None:
    tickets_root(tmp_path)
    missing = F + 999
    write(tmp_path, f"{TICKET_DATA}/{missing}/tasks.json", keyed(task(F + 500, missing)))
    write(tmp_path, f"{TICKET_DATA}/{missing}/files.json", [{"ticketId": missing, "fileId": 1}])
    result = expected(tmp_path, migrated_at=NOW)
    assert result.orphan_folders == {f"{TICKET_DATA}/{missing}"}
    assert result.counts["ticket_tasks"].orphaned == 1
    assert result.counts[LINKS].orphaned == 1
    included = expected(tmp_path, migrated_at=NOW, include_orphans=True)
    assert str(F + 500) in included.rows["ticket_tasks"]
    assert included.counts[LINKS].orphaned == 1  # no ticket to fold into, even then


def test_ticket_references_follow_their_projects_file_rekeys(tmp_path: Path) -> None:
    two_projects(tmp_path)
    write(tmp_path, f"{DATA}/{A}/files.json", keyed(project_file(F, A), project_file(F + 1, A)))
    write(tmp_path, f"{DATA}/{B}/files.json", keyed(project_file(F, B), project_file(F + 1, B)))
    mine = ticket(T1, B, suggestedFileIds=[str(F), "unknown"])
    theirs = ticket(T2, A, suggestedFileIds=[str(F)])
    write(tmp_path, TICKETS, keyed(mine, theirs))
    write(tmp_path, f"{TICKET_DATA}/{T1}/files.json", [{"ticketId": T1, "fileId": F + 1}])
    for strict in (False, True):
        result = expected(tmp_path, migrated_at=NOW, strict=strict)
        assert [rekey[3:] for rekey in result.rekeys] == [(F, F + 2), (F + 1, F + 3)]
        b_ids = [str(F + 2), "unknown"] + ([] if strict else [str(F + 3)])  # folded, followed
        assert result.rows["tickets"][str(T1)][0]["suggestedFileIds"] == b_ids
        assert result.rows["tickets"][str(T2)][0]["suggestedFileIds"] == [str(F)]
        assert result.counts["tickets"].upgraded == 0  # following a move is no upgrade
        assert result.counts[LINKS].upgraded == (0 if strict else 1)  # the fold is


def test_tickets_rekey_and_keep_their_folder(tmp_path: Path) -> None:
    write_object(tmp_path, TICKETS, entries(ticket(T1, A), ticket(T1, A, title="other")))
    write(tmp_path, f"{TICKET_DATA}/{T1}/tasks.json", keyed(task(F, T1)))
    write(tmp_path, f"{TICKET_DATA}/{T1}/files.json", [{"ticketId": T1, "fileId": 5}])
    result = expected(tmp_path, migrated_at=NOW)
    assert result.rekeys == [("tickets", TICKETS, 1, T1, T1 + 1)]
    assert result.rows["tickets"][str(T1)][0]["suggestedFileIds"] == ["5"]
    assert result.rows["tickets"][str(T1 + 1)][0]["suggestedFileIds"] == []
    assert result.counts["tickets"] == Counts(found=2, migrated=2, rekeyed=1)
    assert result.counts[LINKS] == Counts(found=1, migrated=1, upgraded=1)


def test_every_count_is_listed(tmp_path: Path) -> None:
    tickets_root(tmp_path)
    result = expected(tmp_path, migrated_at=NOW)
    assert list(result.counts) == list(COUNTED)
    assert all(len(astuple(counts)) == 8 for counts in result.counts.values())
