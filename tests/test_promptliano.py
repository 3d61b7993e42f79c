"""--target promptliano-0.12: the schema against the facts read from Promptliano's migrations,
every source record mapped field by field (against the same root migrated into v0.6.0,
whose rows are the validated records), foreign keys, the journal, resume, verify, refusals."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import SEED, db_rows, run_cli

from asyncmig.targets import promptliano
from benchmarks.generate import generate

if TYPE_CHECKING:
    from benchmarks.generate import GenerateResult

TARGET = ("--target", "promptliano-0.12")

# Facts read from packages/database/drizzle/0000_base.sql at 570e165e (PRAGMA table_info
# rows: name, type, notnull, default, pk), for the tables that receive data.
EXPECTED_COLUMNS: dict[str, list[tuple[str, str, int, str | None, int]]] = {
    "projects": [
        ("id", "integer", 1, None, 1), ("name", "text", 1, None, 0),
        ("description", "text", 0, None, 0), ("path", "text", 1, None, 0),
        ("created_at", "integer", 1, None, 0), ("updated_at", "integer", 1, None, 0),
    ],
    "files": [
        ("id", "text", 1, None, 1), ("project_id", "integer", 1, None, 0),
        ("name", "text", 1, None, 0), ("path", "text", 1, None, 0),
        ("extension", "text", 0, None, 0), ("size", "integer", 0, None, 0),
        ("last_modified", "integer", 0, None, 0), ("content_type", "text", 0, None, 0),
        ("content", "text", 0, None, 0), ("meta", "text", 0, None, 0),
        ("checksum", "text", 0, None, 0), ("imports", "text", 0, None, 0),
        ("exports", "text", 0, None, 0), ("is_relevant", "integer", 0, "false", 0),
        ("relevance_score", "real", 0, None, 0), ("created_at", "integer", 1, None, 0),
        ("updated_at", "integer", 1, None, 0),
    ],
    "chats": [
        ("id", "integer", 1, None, 1), ("project_id", "integer", 0, None, 0),
        ("title", "text", 1, None, 0), ("created_at", "integer", 1, None, 0),
        ("updated_at", "integer", 1, None, 0),
    ],
    "chat_messages": [
        ("id", "integer", 1, None, 1), ("chat_id", "integer", 1, None, 0),
        ("role", "text", 1, None, 0), ("content", "text", 1, None, 0),
        ("metadata", "text", 0, None, 0), ("created_at", "integer", 1, None, 0),
    ],
    "prompts": [
        ("id", "integer", 1, None, 1), ("project_id", "integer", 0, None, 0),
        ("title", "text", 1, None, 0), ("content", "text", 1, None, 0),
        ("description", "text", 0, None, 0), ("tags", "text", 1, "'[]'", 0),
        ("created_at", "integer", 1, None, 0), ("updated_at", "integer", 1, None, 0),
    ],
    "provider_keys": [
        ("id", "integer", 1, None, 1), ("provider", "text", 1, None, 0),
        ("key_name", "text", 1, None, 0), ("name", "text", 0, None, 0),
        ("secret_ref", "text", 0, None, 0), ("key", "text", 0, None, 0),
        ("base_url", "text", 0, None, 0), ("custom_headers", "text", 0, "'{}'", 0),
        ("is_default", "integer", 1, "false", 0), ("is_active", "integer", 1, "true", 0),
        ("environment", "text", 1, "'production'", 0), ("description", "text", 0, None, 0),
        ("expires_at", "integer", 0, None, 0), ("last_used", "integer", 0, None, 0),
        ("created_at", "integer", 1, None, 0), ("updated_at", "integer", 1, None, 0),
    ],
    "mcp_server_configs": [
        ("id", "integer", 1, None, 1), ("project_id", "integer", 1, None, 0),
        ("name", "text", 1, None, 0), ("command", "text", 1, None, 0),
        ("args", "text", 0, "'[]'", 0), ("env", "text", 0, "'{}'", 0),
        ("enabled", "integer", 1, "true", 0), ("auto_start", "integer", 1, "false", 0),
        ("created_at", "integer", 1, None, 0), ("updated_at", "integer", 1, None, 0),
    ],
    "chat_streams": [
        ("id", "integer", 0, None, 1), ("chat_id", "integer", 1, None, 0),
        ("direction", "text", 1, None, 0), ("provider", "text", 1, None, 0),
        ("model", "text", 1, None, 0), ("started_at", "integer", 1, None, 0),
        ("finished_at", "integer", 0, None, 0), ("finish_reason", "text", 0, None, 0),
        ("usage_json", "text", 0, None, 0), ("message_metadata_json", "text", 0, None, 0),
        ("format", "text", 1, "'ui'", 0), ("version", "integer", 1, "1", 0),
        ("assistant_message_id", "integer", 0, None, 0),
        ("created_at", "integer", 1, None, 0), ("updated_at", "integer", 1, None, 0),
    ],
}  # fmt: skip
#: tickets and ticket_tasks: (column, type, notnull, default) of those the load fills or
#: the server defaults, read from the same file.
EXPECTED_TICKETS = {
    "tickets": {
        "project_id": ("integer", 1, None), "title": ("text", 1, None),
        "overview": ("text", 0, None), "status": ("text", 1, "'open'"),
        "priority": ("text", 1, "'normal'"), "suggested_file_ids": ("text", 1, "'[]'"),
        "suggested_agent_ids": ("text", 1, "'[]'"), "queue_id": ("integer", 0, None),
    },
    "ticket_tasks": {
        "ticket_id": ("integer", 1, None), "content": ("text", 1, None),
        "done": ("integer", 1, "false"), "status": ("text", 1, "'pending'"),
        "order_index": ("integer", 1, "0"), "dependencies": ("text", 1, "'[]'"),
    },
}  # fmt: skip
#: (table, from column, parent table, on delete) for every foreign key of the tables above.
EXPECTED_KEYS = {
    ("files", "project_id", "projects", "CASCADE"),
    ("chats", "project_id", "projects", "CASCADE"),
    ("chat_messages", "chat_id", "chats", "CASCADE"),
    ("prompts", "project_id", "projects", "CASCADE"),
    ("tickets", "project_id", "projects", "CASCADE"),
    ("tickets", "queue_id", "queues", "SET NULL"),
    ("ticket_tasks", "ticket_id", "tickets", "CASCADE"),
    ("ticket_tasks", "queue_id", "queues", "SET NULL"),
    ("mcp_server_configs", "project_id", "projects", "CASCADE"),
    ("chat_streams", "chat_id", "chats", "CASCADE"),
    ("chat_streams", "assistant_message_id", "chat_messages", "SET NULL"),
}
#: Some indexes, read from the same files: name -> (table, columns, unique).
EXPECTED_INDEXES = {
    "files_project_idx": ("files", ["project_id"], 0),
    "chat_messages_chat_idx": ("chat_messages", ["chat_id"], 0),
    "ticket_tasks_order_idx": ("ticket_tasks", ["ticket_id", "order_index"], 0),
    "mcp_error_pattern_unique_idx": (
        "mcp_error_patterns",
        ["project_id", "tool_name", "error_pattern"],
        1,
    ),
    "idx_chat_stream_events_stream_seq": ("chat_stream_events", ["stream_id", "seq"], 0),
    # made by the server's start-up upgrades (migrate.ts ensureSchemaUpgrades)
    "process_ports_project_port_unique": ("process_ports", ["project_id", "port"], 1),
}


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerateResult, Path, Path]:
    """One awkward root (collisions, copies, tickets in old shapes with links, MCP history)
    migrated into v0.6.0 and into Promptliano."""
    root = tmp_path_factory.mktemp("pl") / "data"
    print(f"promptliano root seed: {SEED}")
    made = generate(
        root, size_bytes=500_000, seed=SEED, traps=True, collide=0.05, tickets=15, mcp_history=2
    )
    v06, pl = root.parent / "v06.db", root.parent / "pl.db"
    for db, extra in ((v06, ()), (pl, TARGET)):
        done = run_cli("--data-dir", root, "--db", db, "--no-backup", "--quiet", *extra)
        assert done.returncode == 3, done.stderr
    return made, v06, pl


def _rows(db: Path, query: str, *args: object) -> list[Any]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(query, args).fetchall()


def _by_id(db: Path, table: str) -> dict[Any, dict[str, Any]]:
    with closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in conn.execute(f"SELECT * FROM {table}")}  # noqa: S608


def test_schema_is_the_facts_read_from_its_migrations(
    both: tuple[GenerateResult, Path, Path],
) -> None:
    pl = both[2]
    for table, columns in EXPECTED_COLUMNS.items():
        # SQLite reports declared types in capitals (3.40); the facts are as written
        got = [(c[1], c[2].lower(), *c[3:6]) for c in _rows(pl, f"PRAGMA table_info({table})")]
        assert got == columns, table
    for table, wanted in EXPECTED_TICKETS.items():
        info = {c[1]: (c[2].lower(), c[3], c[4]) for c in _rows(pl, f"PRAGMA table_info({table})")}
        assert {c: info[c] for c in wanted} == wanted, table
        assert len(info) == {"tickets": 22, "ticket_tasks": 26}[table]
    keys = {
        (t, k[3], k[2], k[6])
        for (t,) in _rows(pl, "SELECT name FROM sqlite_master WHERE type = 'table'")
        for k in _rows(pl, f"PRAGMA foreign_key_list({t})")
    }
    assert keys >= EXPECTED_KEYS
    for name, (table, indexed, unique) in EXPECTED_INDEXES.items():
        listed = {i[1]: i[2] for i in _rows(pl, f"PRAGMA index_list({table})")}
        assert listed[name] == unique, name
        assert [c[2] for c in _rows(pl, f"PRAGMA index_info({name})")] == indexed, name
    tables = {t for (t,) in _rows(pl, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    ours = {"__drizzle_migrations", "sqlite_sequence", "sqlite_stat1"}
    ours |= {t for t in tables if t.startswith("asyncmig_")}
    assert len(tables - ours) == 43  # 0000_base's 43 and 0001's 2, less the 2 the server drops
    assert not tables & {"active_tabs", "project_tab_state"}
    assert not {t for t in tables if t.startswith(promptliano.STAGE)}  # staging is gone
    indexes = _rows(pl, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name "
                    "NOT LIKE 'sqlite_%' AND name NOT LIKE 'asyncmig_%'")  # fmt: skip
    assert indexes == [(154,)]
    assert _rows(pl, "PRAGMA page_size") == [(32768,)]
    assert _rows(pl, "PRAGMA journal_mode") == [("wal",)]


def test_journal_marks_both_migrations_applied(both: tuple[GenerateResult, Path, Path]) -> None:
    rows = _rows(both[2], "SELECT hash, created_at FROM __drizzle_migrations ORDER BY id")
    assert rows == [
        ("8a23f81ed9316d86d7d3dba50c62e64a583e495695629f13a7cf8d18c32dfbee", 1757260000000),
        ("162afe669eac0529456cd05bb014e5d39be2e5dd456d201e212549747f572b5d", 1758900000000),
    ]


def test_foreign_keys_hold(both: tuple[GenerateResult, Path, Path]) -> None:
    with closing(sqlite3.connect(both[2])) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def _not_carried(pl: Path) -> dict[tuple[str, str, str], str]:
    rows = _rows(pl, "SELECT tbl, id, field, value FROM asyncmig_not_carried")
    return {(t, i, f): v for t, i, f, v in rows}


def test_every_record_is_a_row_or_kept_whole(both: tuple[GenerateResult, Path, Path]) -> None:
    _, v06, pl = both
    lost = _not_carried(pl)
    file_ids = dict(_rows(pl, "SELECT id, file_id FROM asyncmig_file_ids"))
    holders = {t: t for t in ("projects", "chats", "chat_messages", "prompts", "provider_keys",
                              "tickets", "ticket_tasks", "mcp_server_configs")}  # fmt: skip
    for table in promptliano.SOURCE_TABLES:
        for row_id, (data, *_) in db_rows(v06, table).items():
            if table == "project_files" and row_id in file_ids:
                continue
            if table in holders and _rows(pl, f"SELECT 1 FROM {holders[table]} WHERE id = ?",  # noqa: S608
                                          int(row_id)):  # fmt: skip
                continue
            if table == "prompt_projects" and (table, row_id, "*") not in lost:
                record = json.loads(data)  # a link carried as its prompt's project
                got = _rows(pl, "SELECT project_id FROM prompts WHERE id = ?", record["promptId"])
                assert got == [(record["projectId"],)]
                continue
            assert lost[table, row_id, "*"] == data, (table, row_id)
    assert {t for t, _, f in lost if f == "*"} >= {"mcp_server_states", "mcp_tools"}


def test_each_field_maps(both: tuple[GenerateResult, Path, Path]) -> None:
    _, v06, pl = both
    lost = _not_carried(pl)
    projects = _by_id(pl, "projects")
    for row_id, (data, created, updated) in db_rows(v06, "projects").items():
        record, row = json.loads(data), projects[int(row_id)]
        assert row == {"id": record["id"], "name": record["name"], "path": record["path"],
                       "description": record["description"], "created_at": created,
                       "updated_at": updated}  # fmt: skip
    _check_files(v06, pl, lost)
    chats = _by_id(pl, "chats")
    for row_id, (data, created, updated) in db_rows(v06, "chats").items():
        record, row = json.loads(data), chats[int(row_id)]
        named = record.get("projectId")
        assert row["project_id"] == (named if named in projects else None)
        assert (row["title"], row["created_at"], row["updated_at"]) == (
            record["title"],
            created,
            updated,
        )
        if named is not None and named not in projects:
            assert lost["chats", row_id, "projectId"] == str(named)
    _check_messages(v06, pl, lost)
    _check_prompts(v06, pl)
    _check_keys_and_mcp(v06, pl)
    _check_tickets(v06, pl)


def _check_files(v06: Path, pl: Path, lost: dict[tuple[str, str, str], str]) -> None:
    files = _by_id(pl, "files")
    file_ids = dict(_rows(pl, "SELECT id, file_id FROM asyncmig_file_ids"))
    moved = 0
    for row_id, (data, created, updated) in db_rows(v06, "project_files").items():
        record = json.loads(data)
        for field in ("summary", "summaryLastUpdated"):
            if record[field] is not None:
                assert json.loads(lost["project_files", row_id, field]) == record[field]
        if row_id not in file_ids:
            continue
        row = files[file_ids[row_id]]
        assert row["id"] == f"{record['projectId']}_{record['path']}"
        for column, field in (("project_id", "projectId"), ("name", "name"), ("path", "path"),
                              ("extension", "extension"), ("size", "size"), ("content", "content"),
                              ("meta", "meta"), ("checksum", "checksum")):  # fmt: skip
            assert row[column] == record[field], column
        assert (row["created_at"], row["updated_at"]) == (created, updated)
        assert row["imports"] is row["exports"] is None
        moved += record["id"] != int(row_id)
    assert len(files) == len(file_ids)


def _check_messages(v06: Path, pl: Path, lost: dict[tuple[str, str, str], str]) -> None:
    messages = _by_id(pl, "chat_messages")
    kinds = set()
    for row_id, (data, created, _) in db_rows(v06, "chat_messages").items():
        record = json.loads(data)
        if ("chat_messages", row_id, "*") in lost:
            continue
        row = messages[int(row_id)]
        assert (row["chat_id"], row["role"], row["content"], row["created_at"]) == (
            record["chatId"],
            record["role"],
            record["content"],
            created,
        )
        kept = {k: record[k] for k in ("type", "attachments", "updated") if k in record}
        assert json.loads(row["metadata"]) == kept
        kinds |= set(kept)
    assert kinds == {"type", "attachments", "updated"}  # the root has each of them


def _check_prompts(v06: Path, pl: Path) -> None:
    prompts, projects = _by_id(pl, "prompts"), _by_id(pl, "projects")
    links: dict[int, list[int]] = {}
    for data, *_ in db_rows(v06, "prompt_projects").values():
        link = json.loads(data)
        links.setdefault(link["promptId"], []).append(link["projectId"])
    several = 0
    for row_id, (data, created, updated) in db_rows(v06, "prompts").items():
        record, row = json.loads(data), prompts[int(row_id)]
        assert (row["title"], row["content"], row["tags"], row["description"]) == (
            record["name"],
            record["content"],
            "[]",
            None,
        )
        assert (row["created_at"], row["updated_at"]) == (created, updated)
        own = record.get("projectId")
        linked = [p for p in links.get(record["id"], []) if p in projects]
        several += len(set(linked)) > 1
        wanted = own if own in projects else (linked[0] if linked else None)
        assert row["project_id"] == wanted


def _check_keys_and_mcp(v06: Path, pl: Path) -> None:
    keys = _by_id(pl, "provider_keys")
    for row_id, (data, created, updated) in db_rows(v06, "provider_keys").items():
        record, row = json.loads(data), keys[int(row_id)]
        assert row == {
            "id": record["id"], "provider": record["provider"], "key_name": record["name"],
            "name": record["name"], "secret_ref": None, "key": record["key"], "base_url": None,
            "custom_headers": "{}", "is_default": int(record["isDefault"]),
            "is_active": int(record["isActive"]), "environment": record["environment"],
            "description": record.get("description"), "expires_at": record.get("expiresAt"),
            "last_used": record.get("lastUsed"), "created_at": created, "updated_at": updated,
        }  # fmt: skip
    configs = _by_id(pl, "mcp_server_configs")
    for row_id, (data, created, updated) in db_rows(v06, "mcp_server_configs").items():
        record, row = json.loads(data), configs[int(row_id)]
        assert (row["project_id"], row["name"], row["command"]) == (
            record["projectId"],
            record["name"],
            record["command"],
        )
        assert (json.loads(row["args"]), json.loads(row["env"])) == (record["args"], record["env"])
        assert (row["enabled"], row["auto_start"]) == (record["enabled"], record["autoStart"])
        assert (row["created_at"], row["updated_at"]) == (created, updated)


def _check_tickets(v06: Path, pl: Path) -> None:
    tickets, tasks = _by_id(pl, "tickets"), _by_id(pl, "ticket_tasks")
    file_ids = dict(_rows(pl, "SELECT id, file_id FROM asyncmig_file_ids"))
    named = 0
    for row_id, (data, created, updated) in db_rows(v06, "tickets").items():
        record, row = json.loads(data), tickets[int(row_id)]
        for column, field in (("project_id", "projectId"), ("title", "title"),
                              ("overview", "overview"), ("status", "status"),
                              ("priority", "priority")):  # fmt: skip
            assert row[column] == record[field], column
        wanted = [file_ids.get(i, i) for i in record["suggestedFileIds"]]
        assert json.loads(row["suggested_file_ids"]) == wanted
        named += sum(i in file_ids for i in record["suggestedFileIds"])
        assert (row["created_at"], row["updated_at"]) == (created, updated)
    assert named  # references really became file ids of the server's form
    for row_id, (data, created, updated) in db_rows(v06, "ticket_tasks").items():
        record, row = json.loads(data), tasks[int(row_id)]
        assert (row["ticket_id"], row["content"], row["order_index"]) == (
            record["ticketId"],
            record["content"],
            record["orderIndex"],
        )
        assert (row["done"], row["status"]) == (
            int(record["done"]),
            "completed" if record["done"] else "pending",
        )
        assert (row["created_at"], row["updated_at"]) == (created, updated)


def _dump(db: Path) -> dict[str, list[Any]]:
    """Every Promptliano table's rows, and what was not carried."""
    with closing(sqlite3.connect(db)) as conn:
        names = [*promptliano.COLUMNS, "asyncmig_not_carried", "asyncmig_file_ids",
                 "__drizzle_migrations"]  # fmt: skip
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in names}  # noqa: S608


@pytest.mark.parametrize("point", ["batch:3", "rekey:1", "convert:1", "analyze:1"])
def test_interrupted_and_resumed_is_a_clean_run(
    both: tuple[GenerateResult, Path, Path], tmp_path: Path, point: str
) -> None:
    made, _, clean = both
    db = tmp_path / "pl.db"
    args = ("--data-dir", made.root, "--db", db, "--no-backup", "--quiet", "--batch-size", "50")
    killed = run_cli(*args, *TARGET, env={"ASYNCMIG_KILL_AT": point})
    assert killed.returncode not in (0, 3), killed.stderr
    resumed = run_cli(*args, "--resume")  # the database records its target
    assert resumed.returncode == 3, resumed.stderr
    assert _dump(db) == _dump(clean)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_resume_refuses_another_target(tmp_path: Path, clean_root: GenerateResult) -> None:
    db = tmp_path / "pl.db"
    args = ("--data-dir", clean_root.root, "--db", db, "--no-backup", "--quiet")
    killed = run_cli(*args, *TARGET, env={"ASYNCMIG_KILL_AT": "batch:1"})
    assert killed.returncode not in (0, 3)
    refused = run_cli(*args, "--resume", "--target", "octoprompt-0.6")
    assert refused.returncode == 2
    assert "holds a migration into promptliano-0.12, not octoprompt-0.6" in refused.stderr


def _without_links(made: GenerateResult, into: Path) -> Path:
    """The root without ticket link files (verify does not fold them yet)."""
    shutil.copytree(made.root, into)
    for links in into.glob("ticket_storage/ticket_data/*/files.json"):
        links.unlink()
    return into


def test_verify_catches_a_changed_row_in_each_target(tmp_path: Path) -> None:
    root = tmp_path / "data"
    generate(root, size_bytes=200_000, seed=SEED, traps=False, tickets=5)
    for links in root.glob("ticket_storage/ticket_data/*/files.json"):
        links.unlink()
    for target, table, change in (
        ("promptliano-0.12", "chat_messages", "UPDATE chat_messages SET content = 'x' WHERE "
         "id = (SELECT min(id) FROM chat_messages)"),
        ("promptliano-0.12", "project_files", "UPDATE files SET content = 'x' WHERE "
         "id = (SELECT min(id) FROM files)"),
        ("octoprompt-0.6", "chats", "UPDATE chats SET data = json_set(data, '$.title', 'x') "
         "WHERE id = (SELECT min(id) FROM chats)"),
    ):  # fmt: skip
        db = tmp_path / f"{target}-{table}.db"
        done = run_cli("--data-dir", root, "--db", db, "--no-backup", "--quiet", "--target", target)
        assert done.returncode == 0, done.stdout + done.stderr
        assert run_cli("verify", "--data-dir", root, "--db", db).returncode == 0
        with closing(sqlite3.connect(db)) as conn:
            conn.execute(change)
            conn.commit()
        found = run_cli("verify", "--data-dir", root, "--db", db)
        assert found.returncode == 3, target
        assert f"{table}: 0 missing, 1 altered" in found.stdout, found.stdout


def test_refuses_a_promptliano_database_holding_user_data(
    tmp_path: Path, clean_root: GenerateResult, both: tuple[GenerateResult, Path, Path]
) -> None:
    db = tmp_path / "promptliano.db"
    with closing(sqlite3.connect(db)) as conn:  # the server's schema, one project of the user's
        for statement in promptliano.TARGET.definitions():
            if "asyncmig" not in statement:
                conn.execute(statement)
        conn.execute("INSERT INTO model_configs (name, provider, model, created_at, updated_at)"
                     " VALUES ('seeded', 'x', 'y', 1, 1)")  # fmt: skip
        # what the server's start-up adds (migrate.ts ensureModelConfigTables)
        conn.execute("ALTER TABLE model_configs ADD user_id integer")
        conn.execute("CREATE INDEX model_configs_user_idx ON model_configs (user_id)")
        conn.commit()
    empty = run_cli("--data-dir", clean_root.root, "--db", db, "--quiet", "--dry-run", *TARGET)
    assert empty.returncode == 0, empty.stderr  # its own presets are not the user's data
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("INSERT INTO projects VALUES (1, 'mine', NULL, '/p', 1, 1)")
        conn.commit()
    refused = run_cli("--data-dir", clean_root.root, "--db", db, "--quiet", *TARGET)
    assert refused.returncode == 2
    assert "table projects is not empty" in refused.stderr
    assert _rows(db, "SELECT count(*) FROM projects") == [(1,)]


def test_default_database_is_where_the_server_looks() -> None:
    home = {"HOME": "/h"}
    assert promptliano.default_db(home, "linux") == Path(
        "/h/.local/share/promptliano/promptliano.db"
    )
    assert promptliano.default_db({**home, "XDG_DATA_HOME": "/x"}, "linux") == Path(
        "/x/promptliano/promptliano.db"
    )
    assert promptliano.default_db(home, "darwin") == Path(
        "/h/Library/Application Support/Promptliano/promptliano.db"
    )
    assert promptliano.default_db({**home, "APPDATA": "/a"}, "win32") == Path(
        "/a/Promptliano/promptliano.db"
    )
    assert promptliano.default_db({**home, "PROMPTLIANO_DATA_DIR": "/d"}, "linux") == Path(
        "/d/promptliano.db"
    )
    assert promptliano.default_db({**home, "DATABASE_PATH": "/e.db"}, "linux") == Path("/e.db")


def test_default_db_is_used_without_db(tmp_path: Path, clean_root: GenerateResult) -> None:
    done = run_cli("--data-dir", clean_root.root, "--no-backup", "--quiet", *TARGET,
                   env={"XDG_DATA_HOME": str(tmp_path)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "promptliano" / "promptliano.db").is_file()


def test_summaries_name_the_target(both: tuple[GenerateResult, Path, Path], tmp_path: Path) -> None:
    made = both[0]
    v06 = run_cli("--data-dir", made.root, "--db", tmp_path / "a.db", "--no-backup", "--quiet")
    assert "OctoPrompt v0.9 and later and Promptliano do not read it" in v06.stdout
    assert "--target promptliano-0.12" in v06.stdout
    pl = run_cli("--data-dir", made.root, "--db", tmp_path / "b.db", "--no-backup", "--quiet",
                 *TARGET)  # fmt: skip
    assert "not carried (no place in the target" in pl.stdout
    assert "project_files.summary:" in pl.stdout
    text = next(tmp_path.glob("b.rejects-*.jsonl")).read_text(encoding="utf-8")
    listed = [json.loads(line) for line in text.splitlines()]
    kept = [line for line in listed if line["outcome"] == "not_carried"]
    lost = _not_carried(tmp_path / "b.db")
    assert len(kept) == len(lost)
    for line in kept:
        field = "*" if line["errors"][0]["path"] is None else line["errors"][0]["path"][2:]
        value = lost[line["table"], line["id"], field]
        assert line["record"] == json.loads(value), line["id"]
        assert line["file"].endswith(".json")  # the source file it came from
    assert "with --target promptliano-0.12 the one Promptliano" in " ".join(
        run_cli("--help").stdout.split()
    )


def test_dry_run_counts_the_space_of_the_conversion(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    args = ("--data-dir", clean_root.root, "--db", tmp_path / "x.db", "--dry-run", "--quiet")
    assert "the conversion" not in run_cli(*args).stdout
    converting = run_cli(*args, *TARGET).stdout
    assert "the conversion" in converting
    # What has no place is counted by a real run; the dry run says so, and what it knows.
    mcp = ("mcp_server_states", "mcp_tools", "mcp_resources", "mcp_tool_executions")
    runtime = sum(clean_root.records[t] for t in mcp)
    assert "a dry run does not convert" in converting
    assert "and three times that for the conversion" in converting
    assert f"at least the {runtime:,} MCP runtime record(s)" in converting
    assert not list(tmp_path.iterdir())  # a dry run makes no file, for either target


def test_a_fraction_where_promptliano_stores_whole_numbers_is_rounded_and_kept(
    tmp_path: Path,
) -> None:
    """Sizes and task order are numbers in the JSON-era schema, whole numbers in
    Promptliano's: the row holds the rounded value, the fraction is kept beside it."""
    t0 = 1_700_000_000_000
    root = tmp_path / "data"
    (root / "project_storage" / "project_data" / str(t0)).mkdir(parents=True)
    project = {"id": t0, "name": "p", "description": "", "path": "/p", "created": t0, "updated": t0}
    (root / "project_storage/projects.json").write_text(json.dumps({str(t0): project}))
    record = {"id": t0 + 1, "projectId": t0, "name": "a.py", "path": "a.py", "extension": ".py",
              "size": 12.5, "content": "x", "summary": None, "summaryLastUpdated": None,
              "meta": None, "checksum": None, "created": t0, "updated": t0}  # fmt: skip
    files = root / "project_storage" / "project_data" / str(t0) / "files.json"
    files.write_text(json.dumps({str(t0 + 1): record}))
    db = tmp_path / "p.db"
    done = run_cli("--data-dir", root, "--db", db, "--target", "promptliano-0.12", "--no-backup")
    assert done.returncode == 0, done.stdout + done.stderr
    with closing(sqlite3.connect(db)) as conn:
        size = conn.execute("SELECT size, typeof(size) FROM files").fetchone()
        kept = conn.execute(
            "SELECT value FROM asyncmig_not_carried WHERE tbl = 'project_files' AND field = 'size'"
        ).fetchall()
    assert size == (13, "integer")  # SQLite's round: half away from zero
    assert [float(value) for (value,) in kept] == [12.5]
    verified = run_cli("verify", "--data-dir", root, "--db", db)
    assert verified.returncode == 0, verified.stdout


def test_verify_checks_the_project_a_prompt_takes_from_its_first_link(tmp_path: Path) -> None:
    t0 = 1_700_000_000_000
    root = tmp_path / "data"
    (root / "project_storage").mkdir(parents=True)
    (root / "prompt_storage").mkdir()
    project = {"name": "p", "description": "", "path": "/p", "created": t0, "updated": t0}
    projects = {str(t0 + n): {"id": t0 + n, **project} for n in (1, 2)}
    (root / "project_storage/projects.json").write_text(json.dumps(projects))
    prompt = {"id": t0 + 9, "name": "ask", "content": "?", "created": t0, "updated": t0}
    (root / "prompt_storage/prompts.json").write_text(json.dumps({str(t0 + 9): prompt}))
    links = [{"id": t0 + 20 + n, "promptId": t0 + 9, "projectId": t0 + n} for n in (2, 1)]
    (root / "prompt_storage/prompt-projects.json").write_text(json.dumps(links))
    db = tmp_path / "p.db"
    done = run_cli("--data-dir", root, "--db", db, *TARGET, "--no-backup")
    assert done.returncode == 0, done.stdout + done.stderr
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT project_id FROM prompts").fetchone() == (t0 + 2,)
    assert run_cli("verify", "--data-dir", root, "--db", db).returncode == 0
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE prompts SET project_id = ?", (t0 + 1,))  # the second link's
    checked = run_cli("verify", "--data-dir", root, "--db", db)
    assert checked.returncode == 3, checked.stdout
    assert f"prompts id {t0 + 9}: altered" in checked.stdout


def test_verify_does_not_take_the_database_at_its_word_on_what_had_no_place(
    both: tuple[GenerateResult, Path, Path], tmp_path: Path
) -> None:
    """A record that has a row but was put into asyncmig_not_carried instead, and a record
    with no place that was not kept there, are both found."""
    made, _, pl = both
    db = tmp_path / "pl.db"
    shutil.copy(pl, db)
    assert run_cli("verify", "--data-dir", made.root, "--db", db).returncode == 0
    with closing(sqlite3.connect(db)) as conn, conn:
        message, data = conn.execute(
            "SELECT id, json_object('id', id) FROM chat_messages ORDER BY id LIMIT 1"
        ).fetchone()
        conn.execute("DELETE FROM chat_messages WHERE id = ?", (message,))
        conn.execute(
            "INSERT INTO asyncmig_not_carried (tbl, id, field, reason, value) "
            "VALUES ('chat_messages', ?, '*', 'made up', ?)",
            (str(message), data),
        )
        (tool,) = conn.execute(
            "SELECT id FROM asyncmig_not_carried WHERE tbl = 'mcp_tools' LIMIT 1"
        ).fetchone()
        conn.execute("DELETE FROM asyncmig_not_carried WHERE tbl = 'mcp_tools' AND id = ?", (tool,))
        (summary,) = conn.execute(
            "SELECT id FROM asyncmig_not_carried WHERE tbl = 'project_files' "
            "AND field = 'summary' LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE asyncmig_not_carried SET value = '\"changed\"' WHERE tbl = 'project_files' "
            "AND field = 'summary' AND id = ?",
            (summary,),
        )
    checked = run_cli("verify", "--data-dir", made.root, "--db", db)
    assert checked.returncode == 3, checked.stdout
    assert f"chat_messages id {message}: missing" in checked.stdout
    assert f"mcp_tools id {tool}: missing" in checked.stdout
    assert f"project_files id {summary}: altered" in checked.stdout
