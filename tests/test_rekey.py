"""Records whose id is taken (spec section 5): copies are duplicates, different records
move to the next free id, states keep the last, string ids reject; the same database
whatever the workers, and after a kill at any point of the step that moves them."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Any

import pytest
from conftest import db_rows, run_cli

from asyncmig.load import ledger
from asyncmig.load.ledger import rekeys

if TYPE_CHECKING:
    from pathlib import Path

T0 = 1_700_000_000_000
P1, P2 = T0, T0 + 1000


def _file(file_id: int, project: int, content: str) -> dict[str, Any]:
    return {
        "id": file_id, "projectId": project, "name": "a.py", "path": "src/a.py",
        "extension": ".py", "size": len(content), "content": content, "summary": None,
        "summaryLastUpdated": None, "meta": None, "checksum": None, "created": T0, "updated": T0,
    }  # fmt: skip


def _write(root: Path, rel: str, value: object) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))


def _projects(root: Path, *ids: int) -> None:
    project = {"name": "p", "description": "", "path": "/p", "created": T0, "updated": T0}
    _write(root, "project_storage/projects.json", {str(i): {"id": i, **project} for i in ids})


def _files(root: Path, project: int, records: list[dict[str, Any]]) -> None:
    rel = f"project_storage/project_data/{project}/files.json"
    _write(root, rel, {str(r["id"]): r for r in records})


def _bulk_sync_root(root: Path) -> None:
    """Project 2's sync ran ahead of the clock into the ids project 1's sync used: ids
    105..109 collide (106 an exact copy), 110..114 are its own."""
    _projects(root, P1, P2)
    _files(root, P1, [_file(T0 + n, P1, f"one {n}") for n in range(100, 110)])
    two = [_file(T0 + n, P2, f"two {n}") for n in range(105, 115)]
    two[1] = _file(T0 + 106, P1, "one 106")  # a copy of project 1's file
    _files(root, P2, two)


def _migrate(root: Path, db: Path, *more: str) -> Any:
    rejects = db.with_suffix(".rejects.jsonl")
    done = run_cli("--data-dir", root, "--db", db, "--no-backup", "--rejects", rejects, *more)
    return done, rejects


def _lines(rejects: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in rejects.read_text().splitlines()]


def test_a_different_record_with_a_taken_id_moves_to_the_next_free_id(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _bulk_sync_root(root)
    done, rejects = _migrate(root, tmp_path / "o.db")
    assert done.returncode == 3, done.stderr  # the exact copy is a duplicate
    rows = db_rows(tmp_path / "o.db", "project_files")
    assert len(rows) == 19
    # Project 2's ids 105, 107, 108, 109 were taken: 110..114 are its own, so 115 on.
    moved = {T0 + 105: T0 + 115, T0 + 107: T0 + 116, T0 + 108: T0 + 117, T0 + 109: T0 + 118}
    for old, new in moved.items():
        data = json.loads(rows[str(new)][0])
        assert data["id"] == new
        assert data["content"] == f"two {old - T0}"
        assert json.loads(rows[str(old)][0])["content"] == f"one {old - T0}"
    lines = _lines(rejects)
    rekeyed = [(x["index"], x["id"]) for x in lines if x["outcome"] == "rekeyed"]
    assert rekeyed == [
        (0, str(T0 + 115)),
        (2, str(T0 + 116)),
        (3, str(T0 + 117)),
        (4, str(T0 + 118)),
    ]
    assert all("was taken" in x["errors"][0]["message"] for x in lines if x["outcome"] == "rekeyed")
    (duplicate,) = [x for x in lines if x["outcome"] == "duplicate"]
    assert duplicate["id"] == str(T0 + 106)
    assert f"project_data/{P1}/files.json" in duplicate["errors"][0]["message"]
    summary = done.stdout
    assert "re-keyed" in summary
    assert f"id {T0 + 105} -> {T0 + 115}" in summary
    report = _counts(tmp_path / "o.db")
    assert report == {"found": 20, "migrated": 19, "duplicate": 1, "rekeyed": 4}


def _counts(db: Path) -> dict[str, int]:
    """The ledger's counts of project files, non-zero ones."""
    with closing(sqlite3.connect(db)) as conn:
        total: dict[str, int] = {}
        for (counts,) in conn.execute(
            "SELECT counts FROM asyncmig_files WHERE tbl = 'project_files'"
        ):
            for key, value in json.loads(counts).items():
                total[key] = total.get(key, 0) + value
    return {k: v for k, v in total.items() if v}


def test_a_copy_of_a_record_waiting_for_an_id_is_a_duplicate(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _projects(root, P1, P2, P2 + 1000)
    _files(root, P1, [_file(T0 + 1, P1, "first")])
    _files(root, P2, [_file(T0 + 1, P2, "second")])
    _files(root, P2 + 1000, [_file(T0 + 1, P2, "second")])  # a copy of the waiting one
    done, rejects = _migrate(root, tmp_path / "o.db")
    assert done.returncode == 3
    rows = db_rows(tmp_path / "o.db", "project_files")
    assert sorted(rows) == [str(T0 + 1), str(T0 + 2)]
    (duplicate,) = [x for x in _lines(rejects) if x["outcome"] == "duplicate"]
    assert f"project_data/{P2}/files.json #0" in duplicate["errors"][0]["message"]


def test_the_new_id_is_chosen_once_every_record_keeping_its_own_is_known(tmp_path: Path) -> None:
    """The collider in project 1 must not take id 2, which project 2 holds as its own."""
    root = tmp_path / "data"
    _projects(root, P1, P2)
    # Keyed apart, the same id inside: the second record meets a taken id first.
    path = root / f"project_storage/project_data/{P1}/files.json"
    first, second = json.dumps(_file(T0 + 1, P1, "a")), json.dumps(_file(T0 + 1, P1, "b"))
    path.parent.mkdir(parents=True)
    path.write_text(f'{{"{T0 + 1}": {first}, "{T0 + 9}": {second}}}')
    _files(root, P2, [_file(T0 + 2, P2, "own id")])
    done, _ = _migrate(root, tmp_path / "o.db")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = db_rows(tmp_path / "o.db", "project_files")
    assert json.loads(rows[str(T0 + 2)][0])["content"] == "own id"
    assert json.loads(rows[str(T0 + 3)][0])["content"] == "b"


def _config(config_id: int, name: str) -> dict[str, Any]:
    return {"id": config_id, "projectId": 1, "name": name, "command": "run", "created": T0,
            "updated": T0}  # fmt: skip


def test_the_next_free_id_may_have_one_more_digit(tmp_path: Path) -> None:
    root = tmp_path / "data"
    configs = [_config(98, "a"), _config(99, "b"), _config(100, "c")]
    body = ", ".join(f'"{c["id"]}": {json.dumps(c)}' for c in configs)
    body += f', "98": {json.dumps(_config(98, "moved"))}'
    _write(root, "mcp_storage/mcp_server_configs.json", {})
    (root / "mcp_storage/mcp_server_configs.json").write_text("{" + body + "}")
    done, _ = _migrate(root, tmp_path / "o.db")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = db_rows(tmp_path / "o.db", "mcp_server_configs")
    assert sorted(rows, key=int) == ["98", "99", "100", "101"]
    assert json.loads(rows["101"][0])["name"] == "moved"
    assert json.loads(rows["101"][0])["id"] == 101


def test_the_last_state_of_a_server_wins(tmp_path: Path) -> None:
    root = tmp_path / "data"
    states = {
        str(T0 + n): {"serverId": 7, "status": status, "pid": None, "error": None,
                      "startedAt": None, "lastHeartbeat": None}
        for n, status in enumerate(("starting", "running", "stopped"))
    }  # fmt: skip
    _write(root, "mcp_storage/mcp_server_states.json", states)
    done, _ = _migrate(root, tmp_path / "o.db")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = db_rows(tmp_path / "o.db", "mcp_server_states")
    assert list(rows) == ["7"]
    assert json.loads(rows["7"][0])["status"] == "stopped"
    assert "superseded" in done.stdout


def test_a_string_id_taken_by_other_data_is_rejected_and_a_copy_is_a_duplicate(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    tool = {"id": "t1", "name": "grep", "description": "d", "serverId": 7}
    body = (
        f'{{"t1": {json.dumps(tool)}, "t1": {json.dumps(tool)}, '
        f'"t1": {json.dumps(tool | {"description": "other"})}}}'
    )
    (root / "mcp_storage").mkdir(parents=True)
    (root / "mcp_storage/mcp_tools.json").write_text(body)
    done, rejects = _migrate(root, tmp_path / "o.db")
    assert done.returncode == 3
    outcomes = [(x["index"], x["outcome"]) for x in _lines(rejects)]
    assert outcomes == [(1, "duplicate"), (2, "rejected")]
    assert json.loads(db_rows(tmp_path / "o.db", "mcp_tools")["t1"][0])["description"] == "d"


def test_upgraded_counts_only_migrated_records(tmp_path: Path) -> None:
    """A legacy message (no ``updated``) that copies an earlier one is a duplicate, not an
    upgraded record."""
    root = tmp_path / "data"
    _write(
        root,
        "chat_storage/chats.json",
        {str(T0): {"id": T0, "title": "c", "created": T0, "updated": T0}},
    )
    message = {"id": T0 + 5, "chatId": T0, "role": "user", "content": "hi", "created": T0}
    body = f'{{"{T0 + 5}": {json.dumps(message)}, "{T0 + 5}": {json.dumps(message)}}}'
    (root / f"chat_storage/chat_data/{T0}").mkdir(parents=True)
    (root / f"chat_storage/chat_data/{T0}/messages.json").write_text(body)
    done, _ = _migrate(root, tmp_path / "o.db")
    report_line = next(
        line for line in done.stdout.splitlines() if line.startswith("chat_messages")
    )
    found, migrated, upgraded, _, _, duplicate = map(_number, report_line.split()[1:7])
    assert (found, migrated, upgraded, duplicate) == (2, 1, 1, 1)


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _all_rows(db: Path) -> dict[str, dict[str, tuple[str, Any, Any]]]:
    tables = ("project_files", "projects")
    return {table: db_rows(db, table) for table in tables}


@pytest.mark.parametrize("point", ["commit:2", "loaded:1", "rekey:1", "rekeyed:1"])
def test_killed_while_re_keying_then_resumed_equals_a_clean_run(tmp_path: Path, point: str) -> None:
    root = tmp_path / "data"
    _bulk_sync_root(root)
    clean, _ = _migrate(root, tmp_path / "clean.db", "--batch-size", "3")
    db = tmp_path / "k.db"
    rejects = tmp_path / "k.rejects.jsonl"
    args = (
        "--data-dir",
        root,
        "--db",
        db,
        "--no-backup",
        "--rejects",
        rejects,
        "--batch-size",
        "3",
    )
    killed = run_cli(*args, env={"ASYNCMIG_KILL_AT": point})
    assert killed.returncode == -9, killed.stderr
    resumed = run_cli(*args, "--resume")
    assert resumed.returncode == clean.returncode, resumed.stdout + resumed.stderr
    assert _all_rows(db) == _all_rows(tmp_path / "clean.db")
    assert f"id {T0 + 105} -> {T0 + 115}" in resumed.stdout


def test_verbose_names_each_move(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _bulk_sync_root(root)
    done = run_cli("--data-dir", root, "--db", tmp_path / "o.db", "--no-backup", "--verbose")
    moves = [line for line in done.stderr.splitlines() if "was taken, migrated as id" in line]
    assert len(moves) == 4
    assert (
        f"files.json #0 (project_files): id {T0 + 105} was taken, migrated as id {T0 + 115}"
        in moves[0]
    )


def test_the_same_database_whatever_the_workers(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _bulk_sync_root(root)
    one, _ = _migrate(root, tmp_path / "one.db", "--workers", "1", "--batch-size", "2")
    three, _ = _migrate(root, tmp_path / "three.db", "--workers", "3")
    assert one.returncode == three.returncode == 3
    assert _all_rows(tmp_path / "one.db") == _all_rows(tmp_path / "three.db")


def test_a_dry_run_counts_re_keys_as_the_real_run_does(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _bulk_sync_root(root)
    dry = run_cli("--data-dir", root, "--db", tmp_path / "o.db", "--dry-run")
    real, _ = _migrate(root, tmp_path / "o.db")
    table = [line for line in dry.stdout.splitlines() if line.startswith("project_files")]
    assert table == [line for line in real.stdout.splitlines() if line.startswith("project_files")]
    assert f"id {T0 + 105} -> {T0 + 115}" in dry.stdout


def test_the_waiting_records_are_read_in_seq_order_without_a_sort() -> None:
    """Reading the waiting records a few at a time must walk them, not sort every waiting
    record of the table for each few (that was quadratic: 84 s for 62,400 records)."""
    with closing(sqlite3.connect(":memory:")) as conn:
        for statement in ledger.SCHEMA:
            conn.execute(statement)
        plan = " ".join(
            row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {rekeys.WAITING}", ("t", 0, 64))
        )
    assert "TEMP B-TREE" not in plan, plan
    assert "asyncmig_rekeys_old" not in plan, plan


def test_moved_records_are_kept_once_and_moved_again_after_a_change(tmp_path: Path) -> None:
    """The finished database keeps no second copy of a moved record's data; a resume that
    loads a later file again takes the data back from the table and moves it again."""
    root = tmp_path / "data"
    _bulk_sync_root(root)
    chat = {"id": T0 + 7, "title": "c", "created": T0, "updated": T0}
    _write(root, "chat_storage/chats.json", {str(T0 + 7): chat})
    db = tmp_path / "k.db"
    args = ("--data-dir", root, "--db", db, "--no-backup")
    assert run_cli(*args, env={"ASYNCMIG_KILL_AT": "index:1"}).returncode == -9
    with closing(sqlite3.connect(db)) as conn:
        kept = conn.execute("SELECT count(*), sum(length(data)) FROM asyncmig_rekeys").fetchone()
    assert kept == (4, 0)
    _write(root, "chat_storage/chats.json", {str(T0 + 7): chat | {"title": "renamed"}})
    resumed = run_cli(*args, "--resume")
    assert resumed.returncode == 3, resumed.stdout + resumed.stderr
    _migrate(root, tmp_path / "fresh.db")
    assert _all_rows(db) == _all_rows(tmp_path / "fresh.db")
    assert db_rows(db, "chats") == db_rows(tmp_path / "fresh.db", "chats")
