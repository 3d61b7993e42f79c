"""Tickets, tasks and their file links end to end (spec sections 1, 4, 5, 6): links fold
into the ticket, references follow files of the ticket's own project that moved."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from conftest import db_rows, run_cli
from test_rekey import P1, P2, T0, _file, _files, _lines, _migrate, _projects, _write

if TYPE_CHECKING:
    from pathlib import Path

TICKET = T0 + 500


def _ticket(ticket_id: int, project: int, **more: Any) -> dict[str, Any]:
    return {"id": ticket_id, "projectId": project, "title": "fix it", "overview": "",
            "status": "open", "priority": "normal", "suggestedFileIds": [], "created": T0,
            "updated": T0, **more}  # fmt: skip


def _task(task_id: int, ticket: int) -> dict[str, Any]:
    return {"id": task_id, "ticketId": ticket, "content": "do it", "done": 0, "orderIndex": 0,
            "created": T0, "updated": T0}  # fmt: skip


def _root(root: Path) -> None:
    """Project 2's file 105 moves (project 1 holds 105); its ticket names 105 twice over:
    in suggestedFileIds (a number, v0.5.3) and in a link. Project 1's ticket names 105 too,
    which is its own file and stays."""
    _projects(root, P1, P2)
    _files(root, P1, [_file(T0 + 105, P1, "one")])
    _files(root, P2, [_file(T0 + 105, P2, "two"), _file(T0 + 106, P2, "two b")])
    tickets = {
        str(TICKET): _ticket(TICKET, P2, suggestedFileIds=[T0 + 105], status="done"),
        str(TICKET + 1): _ticket(TICKET + 1, P1, suggestedFileIds=[str(T0 + 105)]),
    }
    _write(root, "ticket_storage/tickets.json", tickets)
    folder = f"ticket_storage/ticket_data/{TICKET}"
    _write(root, f"{folder}/tasks.json", {str(T0 + 900): _task(T0 + 900, TICKET)})
    links = [{"ticketId": TICKET, "fileId": T0 + 105}, {"ticketId": TICKET, "fileId": T0 + 106}]
    _write(root, f"{folder}/files.json", links)


def test_links_fold_and_references_follow_moved_files_of_the_ticket_project(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    _root(root)
    done, _ = _migrate(root, tmp_path / "o.db")
    assert done.returncode == 0, done.stdout + done.stderr
    tickets = {k: json.loads(v[0]) for k, v in db_rows(tmp_path / "o.db", "tickets").items()}
    moved = str(T0 + 107)  # 105 was taken by project 1's file; 106 is project 2's own
    assert tickets[str(TICKET)]["suggestedFileIds"] == [moved, str(T0 + 106)]
    assert tickets[str(TICKET)]["status"] == "closed"
    assert tickets[str(TICKET + 1)]["suggestedFileIds"] == [str(T0 + 105)]
    (task,) = [json.loads(v[0]) for v in db_rows(tmp_path / "o.db", "ticket_tasks").values()]
    assert task["done"] is False
    files = db_rows(tmp_path / "o.db", "project_files")
    assert json.loads(files[moved][0])["content"] == "two"
    links = next(line for line in done.stdout.splitlines() if line.startswith("ticket_file_links"))
    found, migrated, upgraded = (int(n) for n in links.split()[1:4])
    assert (found, migrated, upgraded) == (2, 2, 1)  # 105 was in the ticket already


def test_strict_rejects_links_and_still_follows_moves(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _root(root)
    tickets = json.loads((root / "ticket_storage/tickets.json").read_text())
    tickets[str(TICKET)].update(status="open", suggestedFileIds=[str(T0 + 105)])
    _write(root, "ticket_storage/tickets.json", tickets)
    task = _task(T0 + 900, TICKET) | {"done": False}
    _write(root, f"ticket_storage/ticket_data/{TICKET}/tasks.json", {str(T0 + 900): task})
    done, rejects = _migrate(root, tmp_path / "o.db", "--strict")
    assert done.returncode == 3, done.stdout + done.stderr
    tickets = {k: json.loads(v[0]) for k, v in db_rows(tmp_path / "o.db", "tickets").items()}
    assert tickets[str(TICKET)]["suggestedFileIds"] == [str(T0 + 107)]
    refused = [x for x in _lines(rejects) if x["table"] == "ticket_file_links"]
    assert [(x["index"], x["outcome"]) for x in refused] == [(0, "rejected"), (1, "rejected")]
    assert "--strict" in refused[0]["errors"][0]["message"]


def test_a_resume_after_the_moves_loads_tickets_again(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _root(root)
    _migrate(root, tmp_path / "clean.db")
    db = tmp_path / "k.db"
    args = ("--data-dir", root, "--db", db, "--no-backup")
    assert run_cli(*args, env={"ASYNCMIG_KILL_AT": "index:1"}).returncode == -9
    # A changed project file after the moves: everything from it on is loaded again.
    _files(root, P2, [_file(T0 + 105, P2, "two"), _file(T0 + 106, P2, "two b"),
                      _file(T0 + 108, P2, "new")])  # fmt: skip
    resumed = run_cli(*args, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    _migrate(root, tmp_path / "fresh.db")
    for table in ("tickets", "project_files", "ticket_tasks"):
        assert db_rows(db, table) == db_rows(tmp_path / "fresh.db", table), table
