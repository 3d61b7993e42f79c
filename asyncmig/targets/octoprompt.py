"""The OctoPrompt v0.6.0 database (the guide's target): its tables, load pragmas, indexes
and finishing steps. Every table is ``(id TEXT PRIMARY KEY, data JSON, created_at,
updated_at)``, with the record itself as compact JSON in ``data`` (spec section 5)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from asyncmig.source.layout import ENTITIES

if TYPE_CHECKING:
    from collections.abc import Sequence

#: The server's tables: one per entity that has a table (ticket file links are folded into
#: tickets and have none).
TABLES: Final = tuple(entity.table for entity in ENTITIES if entity.folds_into is None)

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

#: The migration guide's database (the server itself looks in its data folder).
DEFAULT_DB: Final = Path("data/octoprompt.db")

TABLE_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, data JSON NOT NULL, "
    "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)"
)
INDEX_DDL: Final = "CREATE INDEX IF NOT EXISTS {name} ON {table}({expression})"

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


class OctoPrompt06:
    """The OctoPrompt v0.6.0 database, as :class:`asyncmig.targets.Target`."""

    name = "octoprompt-0.6"
    tables = TABLES

    converts = False
    also_known: frozenset[str] = frozenset()

    def staged(self, table: str) -> str:
        return table  # the load writes the server's own tables

    def default_db(self) -> Path:
        return DEFAULT_DB

    def user_tables(self) -> Sequence[str]:
        return TABLES

    def not_carried(self) -> str | None:
        return None

    def not_carried_records(self) -> str | None:
        return None

    def schema(self) -> Sequence[str]:
        # An empty database the server already opened has the indexes: they go until the
        # load is done, and are built once after it.
        drops = [f"DROP INDEX IF EXISTS {name}" for name in INDEXES]
        return [*LOAD_PRAGMAS, *drops, *(TABLE_DDL.format(table=t) for t in TABLES)]

    def insert(self, table: str, data_sql: str) -> str:
        return (
            f"INSERT INTO {table} (id, data, created_at, updated_at) VALUES "
            f"(?, {data_sql}, ?, ?) ON CONFLICT (id) DO NOTHING"
        )

    def finishing(self) -> Sequence[tuple[str, str | None]]:
        """Indexes, statistics, the settings the server runs with, a truncated WAL."""
        return [
            *((_index(name), "index") for name in INDEXES),
            ("ANALYZE", "analyze"),
            ("PRAGMA optimize", "optimize"),
            ("PRAGMA synchronous = NORMAL", None),
            ("PRAGMA wal_checkpoint(TRUNCATE)", None),
        ]

    def definitions(self) -> Sequence[str]:
        return [*(TABLE_DDL.format(table=t) for t in TABLES), *map(_index, INDEXES)]

    def final_tables(self) -> Sequence[str]:
        return TABLES

    def holder(self, table: str) -> str | None:
        return table

    def read_back(self, table: str) -> str:
        return f"SELECT id, CAST(data AS BLOB), created_at, updated_at FROM main.{table}"

    def expect(self, table: str) -> str | None:
        return None  # the source row is the row


def _index(name: str) -> str:
    table, expression = INDEXES[name]
    return INDEX_DDL.format(name=name, table=table, expression=expression)


TARGET: Final = OctoPrompt06()
