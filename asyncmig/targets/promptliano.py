"""The Promptliano v0.12 database: column tables with foreign keys, its migrations journal.

The load writes into staging tables shaped like the v0.6.0 ones (``asyncmig_stage_<table>``,
``(id, data, created_at, updated_at)``), so validation, re-keying, folding, checkpoints and
resume work on the same rows for both targets. The finishing steps convert them in one
transaction, parents first, with ``PRAGMA foreign_keys = ON``: the Promptliano tables are
made (:mod:`.promptliano_schema`), filled by ``INSERT ... SELECT``, what has no place is kept
in ``asyncmig_not_carried``, the journal rows go in, and the staging tables go.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from asyncmig.source.layout import ENTITIES
from asyncmig.targets import promptliano_map as mapping
from asyncmig.targets.promptliano_schema import INDEXES_TEXT, MIGRATIONS, TABLES_TEXT

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

NAME: Final = "promptliano-0.12"
STAGE: Final = "asyncmig_stage_"
#: The JSON-era tables, loaded as staging tables.
SOURCE_TABLES: Final = tuple(e.table for e in ENTITIES if e.folds_into is None)

STAGE_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, data JSON NOT NULL, "
    "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)"
)
JOURNAL_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS __drizzle_migrations "
    "(id INTEGER PRIMARY KEY, hash text NOT NULL, created_at numeric)"
)
#: What has no column in Promptliano, kept beside the ledger: per record and field, the
#: value (a field) or the whole record (a record no table takes).
NOT_CARRIED_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS asyncmig_not_carried (seq INTEGER PRIMARY KEY, tbl TEXT NOT "
    "NULL, id TEXT NOT NULL, field TEXT NOT NULL, reason TEXT NOT NULL, value TEXT, file TEXT)",
    "CREATE INDEX IF NOT EXISTS asyncmig_not_carried_id ON asyncmig_not_carried (tbl, id)",
)

# The server's settings (db.ts): WAL and 32 KiB pages; the rest are the load's, as for v0.6.
LOAD_PRAGMAS: Final = (
    "PRAGMA page_size = 32768",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = OFF",
    "PRAGMA wal_autocheckpoint = 256",
    "PRAGMA cache_size = -8192",
    "PRAGMA temp_store = FILE",
)


def _columns(text: str) -> dict[str, list[list[str]]]:
    """:data:`TABLES_TEXT` as {table: [each column's words]}."""
    words: dict[str, list[str]] = {}
    for line in text.strip().splitlines():
        rest = line
        if not line.startswith(" "):
            table, _, rest = line.partition(":")
            words[table] = []
        words[table] += rest.split()  # a line led by spaces goes on where the last ended
    return {table: _split(found) for table, found in words.items()}


def _split(words: list[str]) -> list[list[str]]:
    columns: list[list[str]] = [[]]
    for word in words:
        columns[-1].append(word.removesuffix(","))
        if word.endswith(","):
            columns.append([])
    return columns


COLUMNS: Final = _columns(TABLES_TEXT)


def _column_ddl(words: list[str]) -> tuple[str, str | None]:
    """One column's definition, and its foreign key clause if it has one."""
    name, kind, *flags = words
    parts = [f"`{name}` {kind}"]
    foreign = None
    for flag in flags:
        if flag in ("pk", "pk+"):
            parts.append("PRIMARY KEY AUTOINCREMENT" if flag == "pk+" else "PRIMARY KEY")
        elif flag == "nn":
            parts.append("NOT NULL")
        elif flag.startswith("="):
            parts.append(f"DEFAULT {flag[1:]}")
        elif flag.startswith(">"):
            parent = flag[1:].rstrip("?")
            action = "set null" if flag.endswith("?") else "cascade"
            foreign = f"FOREIGN KEY (`{name}`) REFERENCES `{parent}`(`id`) ON DELETE {action}"
    return " ".join(parts), foreign


def table_ddl(table: str) -> str:
    made = [_column_ddl(words) for words in COLUMNS[table]]
    parts = [column for column, _ in made] + [key for _, key in made if key]
    return f"CREATE TABLE IF NOT EXISTS `{table}` ({', '.join(parts)})"


def _indexes() -> dict[str, str]:
    found = {}
    for line in INDEXES_TEXT.strip().splitlines():
        name, on, *unique = line.split()
        table, _, columns = on.rstrip(")").partition("(")
        quoted = ", ".join(f"`{c}`" for c in columns.split(","))
        kind = "UNIQUE INDEX" if unique else "INDEX"
        found[name] = f"CREATE {kind} IF NOT EXISTS `{name}` ON `{table}` ({quoted})"
    return found


INDEXES: Final = _indexes()
#: Tables the server fills itself on its first start: rows there are not the user's.
SEEDED: Final = frozenset({"model_configs", "model_presets"})


def default_db(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Where the Promptliano server looks (packages/config database.config.ts):
    ``DATABASE_PATH``, else ``PROMPTLIANO_DATA_DIR``/promptliano.db, else the platform's
    application data folder."""
    env = os.environ if env is None else env
    if env.get("DATABASE_PATH"):
        return Path(env["DATABASE_PATH"])
    if env.get("PROMPTLIANO_DATA_DIR"):
        return Path(env["PROMPTLIANO_DATA_DIR"]) / "promptliano.db"
    home = Path(env.get("HOME") or Path.home())
    platform = platform or sys.platform
    if platform == "darwin":
        folder = home / "Library" / "Application Support" / "Promptliano"
    elif platform == "win32":
        folder = Path(env.get("APPDATA") or home / "AppData" / "Roaming") / "Promptliano"
    elif platform.startswith("linux"):
        folder = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "promptliano"
    else:
        folder = home / ".promptliano"
    return folder / "promptliano.db"


class Promptliano012:
    """The Promptliano v0.12 database, as :class:`asyncmig.targets.Target`."""

    name = NAME
    tables = SOURCE_TABLES

    converts = True
    #: Made by its server's start-up (migrate.ts ensureModelConfigTables, on a model_configs
    #: of its own with a user_id column); the database asyncmig writes replaces that one.
    also_known = frozenset({"model_configs_user_idx"})

    def staged(self, table: str) -> str:
        return STAGE + table

    def default_db(self) -> Path:
        return default_db()

    def schema(self) -> Sequence[str]:
        stages = (STAGE_DDL.format(table=self.staged(t)) for t in SOURCE_TABLES)
        return [*LOAD_PRAGMAS, *stages, *NOT_CARRIED_DDL]

    def insert(self, table: str, data_sql: str) -> str:
        return (
            f"INSERT INTO {self.staged(table)} (id, data, created_at, updated_at) VALUES "
            f"(?, {data_sql}, ?, ?) ON CONFLICT (id) DO NOTHING"
        )

    def finishing(self) -> Sequence[tuple[str, str | None]]:
        """The conversion in one transaction (a run killed in it converts again from the
        staging tables it left), then statistics, the server's settings, a truncated WAL."""
        return [
            ("PRAGMA foreign_keys = ON", None),
            ("BEGIN", None),
            *((statement, None) for statement in self.conversion()),
            ("COMMIT", "convert"),
            # The staging tables' pages are free now: half the file on a big root
            ("VACUUM", None),
            ("ANALYZE", "analyze"),
            ("PRAGMA optimize", "optimize"),
            ("PRAGMA synchronous = NORMAL", None),
            ("PRAGMA wal_checkpoint(TRUNCATE)", None),
        ]

    def conversion(self) -> list[str]:
        """Tables, rows parents first, what is not carried, indexes, the journal, and the
        staging tables dropped. Run again after a commit it adds nothing (no staging rows)."""
        journal = [
            f"INSERT INTO __drizzle_migrations (hash, created_at) SELECT '{sha}', {when} "
            f"WHERE NOT EXISTS (SELECT 1 FROM __drizzle_migrations WHERE hash = '{sha}')"
            for _, when, sha in MIGRATIONS
        ]
        return [
            *map(table_ddl, COLUMNS),
            JOURNAL_DDL,
            *mapping.statements(self.staged),
            *INDEXES.values(),
            *journal,
            *(f"DROP TABLE IF EXISTS {self.staged(t)}" for t in SOURCE_TABLES),
            "INSERT OR REPLACE INTO asyncmig_run (key, value) VALUES ('converted', 'true')",
        ]

    def definitions(self) -> Sequence[str]:
        return [
            *map(table_ddl, COLUMNS),
            JOURNAL_DDL,
            *NOT_CARRIED_DDL,
            mapping.FILE_IDS_DDL,
            *(STAGE_DDL.format(table=self.staged(t)) for t in SOURCE_TABLES),
            *INDEXES.values(),
        ]

    def user_tables(self) -> Sequence[str]:
        return [t for t in COLUMNS if t not in SEEDED]

    def not_carried(self) -> str | None:
        return (
            "SELECT tbl, field, reason, count(*) FROM asyncmig_not_carried "
            "GROUP BY tbl, field, reason ORDER BY min(seq)"
        )

    def final_tables(self) -> Sequence[str]:
        return [*COLUMNS, "__drizzle_migrations"]

    def holder(self, table: str) -> str | None:
        return mapping.holder(table)

    def not_carried_records(self) -> str | None:
        return (
            "SELECT coalesce(file, tbl), tbl, id, field, reason, value FROM "
            "asyncmig_not_carried ORDER BY seq"
        )

    def read_back(self, table: str) -> str:
        return mapping.read_back(table)

    def expect(self, table: str) -> str | None:
        return mapping.expect(table)


TARGET: Final = Promptliano012()
