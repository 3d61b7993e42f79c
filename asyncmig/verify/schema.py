"""The schema side of verify: what a migration makes (read from the target's own DDL), and
every way the database's tables, indexes, other objects and journal mode differ from it."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from asyncmig.load import ledger

if TYPE_CHECKING:
    from asyncmig.targets import Target

#: Declared column types whose values a migration always stores as TEXT.
TEXT_TYPES: Final = frozenset({"TEXT", "JSON"})

#: Every object but those SQLite makes itself (``sqlite_stat1`` by ANALYZE, a primary key's
#: ``sqlite_autoindex_*``): the ``sqlite_`` prefix is reserved, no one else can use it.
_OBJECTS: Final = (
    "SELECT type, name, tbl_name FROM main.sqlite_master "
    "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
)

Columns = list[tuple[object, ...]]


@dataclass(frozen=True)
class Expected:
    """The schema a migration into ``target`` makes: the target's tables and indexes and
    asyncmig's own ledger tables, as SQLite reads them back (so its rewriting is ignored)."""

    #: ``PRAGMA table_info`` rows (name, type, notnull, default, pk) of each target table.
    tables: dict[str, Columns]
    #: Each target index's ``sql`` as SQLite stores it.
    indexes: dict[str, str]
    #: Every object a migration makes, by name: its type (table, index).
    objects: dict[str, str]

    @classmethod
    def of(cls, target: Target) -> Expected:
        with closing(sqlite3.connect(":memory:")) as scratch:
            for statement in (*target.definitions(), *ledger.SCHEMA):
                scratch.execute(statement)
            tables = {
                t: [tuple(c[1:6]) for c in scratch.execute(f"PRAGMA table_info({t})")]
                for t in target.final_tables()
            }
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            indexes = dict(scratch.execute(query).fetchall())
            objects = {name: kind for kind, name, _ in scratch.execute(_OBJECTS)}
        return cls(tables, indexes, objects)

    def text_columns(self, table: str) -> tuple[str, list[str]]:
        """``table``'s primary key column, and the columns whose values must be TEXT (none
        for a source table the target converts)."""
        columns = self.tables.get(table, [])
        key = next((str(c[0]) for c in columns if c[4] == 1), "rowid")
        return key, [str(c[0]) for c in columns if str(c[1]).upper() in TEXT_TYPES]


def schema_problems(conn: sqlite3.Connection, expected: Expected) -> list[str]:
    """Tables, indexes, other objects and the journal mode where they differ from what a
    migration makes."""
    problems = []
    for name, columns in expected.tables.items():
        got = [tuple(c[1:6]) for c in conn.execute(f"PRAGMA main.table_info({name})")]
        if not got:
            problems.append(f"table {name} is missing")
        elif got != columns:
            problems.append(f"table {name} is ({_columns(got)}), expected ({_columns(columns)})")
    stored = dict(
        conn.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'index'").fetchall()
    )
    for name, sql in expected.indexes.items():
        if name not in stored:
            problems.append(f"index {name} is missing")
        elif stored[name] != sql:
            problems.append(f"index {name} is defined as {stored[name]!r}, expected {sql!r}")
    problems.extend(_unexpected_objects(conn, expected.objects))
    mode = _journal_mode(conn)
    if mode.lower() != "wal":
        problems.append(f"journal mode is {mode}, not wal")
    return problems


def _journal_mode(conn: sqlite3.Connection) -> str:
    """The database's journal mode. A connection opened ``immutable=1`` (a database in a
    folder this process cannot write) runs without a WAL whatever the file says, so then
    the file's header says it: bytes 18 and 19 are 2 in WAL mode."""
    mode = str(conn.execute("PRAGMA main.journal_mode").fetchone()[0])
    if mode.lower() == "wal":
        return mode
    file = next(row[2] for row in conn.execute("PRAGMA main.database_list") if row[1] == "main")
    with open(file, "rb") as stream:
        stream.seek(18)
        return "wal" if stream.read(2) == b"\x02\x02" else mode


def _unexpected_objects(conn: sqlite3.Connection, objects: dict[str, str]) -> list[str]:
    """Every table, index, view and trigger no migration makes, and any of its own names
    that holds another kind of object (a view where a table belongs)."""
    problems = []
    for kind, name, table in conn.execute(_OBJECTS):
        want = objects.get(name)
        if want is None:
            on = f" on {table}" if kind in ("index", "trigger") else ""
            problems.append(f"{kind} {name}{on} is not one a migration makes")
        elif want != kind:
            problems.append(f"{name} is a {kind}, expected a {want}")
    return problems


def _columns(columns: Columns) -> str:
    """``PRAGMA table_info`` rows (name, type, notnull, default, pk) as DDL-like text."""
    return ", ".join(
        " ".join(
            filter(
                None, (str(n), str(t), "NOT NULL" if notnull else "", "PRIMARY KEY" if pk else "")
            )
        )
        for n, t, notnull, _, pk in columns
    )
