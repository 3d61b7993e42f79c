"""The target database: its schema, the load pragmas, the indexes and the final optimize."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Final

from asyncmig.safety import faults
from asyncmig.errors import ConfigError
from asyncmig.source.layout import ALL_TABLES

if TYPE_CHECKING:
    from pathlib import Path

    import aiosqlite

#: The server's indexes (spec section 5), by name. JSON paths use single quotes as it does.
INDEXES: Final[dict[str, tuple[str, str]]] = {}


for _table, *_columns in (
    ("provider_keys", "created_at"),
    ("chats", "created_at", "updated_at"),
    ("chat_messages", "$.chatId", "created_at"),
    ("projects", "created_at", "updated_at"),
    ("project_files", "$.projectId", "created_at"),
    ("prompts", "created_at", "updated_at"),
    ("prompt_projects", "$.promptId", "$.projectId"),
    ("mcp_server_configs", "created_at"),
    ("mcp_server_states", "$.serverId", "updated_at"),
    ("mcp_tools", "$.serverId", "created_at"),
    ("mcp_resources", "$.serverId", "created_at"),
    ("mcp_tool_executions", "$.toolId", "created_at"),
    ("tickets", "$.projectId", "created_at", "$.status", "updated_at"),
    ("ticket_tasks", "$.ticketId", "$.orderIndex", "created_at", "$.done"),
):
    for _column in _columns:
        _expr = f"json_extract(data, '$.{_column[2:]}')" if _column.startswith("$.") else _column
        INDEXES[f"idx_{_table}_{_column.removeprefix('$.')}"] = (_table, _expr)

TABLE_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, data JSON NOT NULL, "
    "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)"
)
INDEX_DDL: Final = "CREATE INDEX IF NOT EXISTS {name} ON {table}({expression})"

#: asyncmig's own bookkeeping, kept in the target so data and progress commit together.
STATE_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS asyncmig_run (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS asyncmig_files (file_no INTEGER PRIMARY KEY, path TEXT NOT NULL,"
    " tbl TEXT, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest TEXT, consumed INTEGER"
    " NOT NULL DEFAULT 0, first_rowid INTEGER, last_rowid INTEGER, status TEXT NOT NULL,"
    " counts TEXT, outcome TEXT)",
)

# Load settings, measured in benchmarks/ (see the README): 64 KiB pages cut B-tree work on
# multi-KB rows; WAL survives a killed process even with synchronous off (not a power cut),
# which is what resuming relies on; the autocheckpoint bounds the WAL on huge loads; an
# 8 MiB page cache measured as fast as 16 MiB on 1 GB and keeps 8 MiB of RSS.
LOAD_PRAGMAS: Final = (
    "PRAGMA page_size = 65536",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = OFF",
    "PRAGMA wal_autocheckpoint = 256",
    "PRAGMA cache_size = -8192",
    "PRAGMA temp_store = FILE",
)


def prepare(db: Path) -> None:
    """Make sure a run can create ``db``: its folder exists and is writable. ConfigError
    otherwise, before anything is written."""
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create the folder for the database {db}: {error}") from None
    probe = db.parent / f".{db.name}.asyncmig-probe"
    try:
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"cannot write the database {db}: {error.strerror}") from None


def refuse_if_in_use(db: Path) -> None:
    """ConfigError when another process has ``db`` open (the OctoPrompt server, say).

    An exclusive lock in exclusive locking mode is refused while any other connection is
    open on a WAL database, even an idle one, because each holds a lock on its shared
    memory; nothing is changed by taking and releasing it."""
    if not db.exists():
        return
    try:
        conn = sqlite3.connect(db, timeout=0)
    except sqlite3.Error as error:
        raise ConfigError(f"cannot open {db}: {error}") from None
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.rollback()
    except sqlite3.OperationalError as error:
        raise ConfigError(
            f"{db} is in use by another process ({error}): stop the OctoPrompt server (the "
            "migration guide asks for it to be stopped) and run again"
        ) from None
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{db} exists but is not a usable SQLite database: {error}") from None
    finally:
        conn.close()


def table_with_data(db: Path) -> str | None:
    """The first of the server's tables in ``db`` that holds a row, if any."""
    if not db.exists():
        return None
    try:
        with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            for table in ALL_TABLES:
                if table in names and conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                    return table
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{db} exists but is not a usable SQLite database: {error}") from None
    return None


def side_files(db: Path) -> tuple[Path, ...]:
    """The database file and the files SQLite keeps beside it."""
    return (db, *(db.with_name(db.name + end) for end in ("-wal", "-shm", "-journal")))


def remove(db: Path) -> None:
    for path in side_files(db):
        path.unlink(missing_ok=True)


def create_private(db: Path) -> None:
    """Create ``db`` readable by its owner only (it will hold API keys); SQLite gives its
    -wal and -shm files the database file's mode."""
    fd = os.open(db, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    for path in side_files(db):
        if path.exists():
            os.chmod(path, 0o600)


async def create_schema(conn: aiosqlite.Connection) -> None:
    """Load pragmas, every table, no indexes yet (they are built after the load)."""
    for pragma in LOAD_PRAGMAS:
        await conn.execute(pragma)
    for name in INDEXES:  # an empty database the server already opened has them
        await conn.execute(f"DROP INDEX IF EXISTS {name}")
    for table in ALL_TABLES:
        await conn.execute(TABLE_DDL.format(table=table))
    for statement in STATE_DDL:
        await conn.execute(statement)


async def finish(conn: aiosqlite.Connection) -> None:
    """Indexes, statistics, a truncated WAL, and the settings the server runs with."""
    for name, (table, expression) in INDEXES.items():
        await conn.execute(INDEX_DDL.format(name=name, table=table, expression=expression))
        faults.reached("index")
    await conn.execute("ANALYZE")
    faults.reached("analyze")
    await conn.execute("PRAGMA optimize")
    faults.reached("optimize")
    await conn.execute("PRAGMA synchronous = NORMAL")
    await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
