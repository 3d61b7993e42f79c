"""The database side of verify: expected ids, row comparison, stored types, integrity (blocking).

Every method runs in a worker thread, one call at a time (``check_same_thread`` is off
for that reason only). A batch of rows costs one call, not one per query.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Final

from asyncmig.errors import ConfigError
from asyncmig.storage import open_readonly
from asyncmig.verify.schema import Expected

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from asyncmig.source.messages import Row
    from asyncmig.targets import Target
    from asyncmig.verify.result import TableCheck

#: Ids per ``IN (...)`` list, well under SQLite's limit on parameters.
_CHUNK: Final = 500

# What the source says each table must hold, on disk in the connection's own temporary
# database, so that no id, digest or waiting record is held in Python beyond one batch:
# - expected: every id a table must hold (kept ids, then re-keyed ones), with the xxh3-128
#   digest of the record that keeps it (to tell copies from colliding records);
# - colliders: records waiting for a new id, in processing order, with their data, and
#   ``scope`` (a project file's projectId) for references that follow re-keys;
# - rekeys: the new id given to each collider; runs: held integer ids as runs [lo, hi];
# - deferred: rows compared only at the end (a state that a later one may replace, a row
#   that later records fold values into); folds: those values, in processing order.
_EXPECTED_DDL: Final = (
    "PRAGMA temp_store = FILE",
    "PRAGMA temp.cache_size = -8192",
    "CREATE TEMP TABLE expected (tbl TEXT NOT NULL, id TEXT NOT NULL, digest BLOB,"
    " PRIMARY KEY (tbl, id)) WITHOUT ROWID",
    "CREATE TEMP TABLE colliders (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL,"
    " old INTEGER NOT NULL, digest BLOB NOT NULL, data BLOB NOT NULL, created_at, updated_at,"
    " source TEXT NOT NULL, scope)",
    "CREATE INDEX temp.colliders_old ON colliders (tbl, old, digest)",
    "CREATE TEMP TABLE rekeys (seq INTEGER PRIMARY KEY, new INTEGER NOT NULL)",
    "CREATE TEMP TABLE runs (tbl TEXT NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,"
    " PRIMARY KEY (tbl, lo)) WITHOUT ROWID",
    "CREATE TEMP TABLE deferred (tbl TEXT NOT NULL, id TEXT NOT NULL, data BLOB NOT NULL,"
    " created_at, updated_at, PRIMARY KEY (tbl, id)) WITHOUT ROWID",
    "CREATE TEMP TABLE folds (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, id TEXT NOT NULL,"
    " value TEXT NOT NULL)",
    "CREATE INDEX temp.folds_id ON folds (tbl, id)",
    # The prompt-project links expected, in processing order: a target that gives a prompt
    # one project takes its first link's (Promptliano).
    "CREATE TEMP TABLE links (seq INTEGER PRIMARY KEY, prompt INTEGER NOT NULL,"
    " project INTEGER NOT NULL)",
    "CREATE INDEX temp.links_prompt ON links (prompt, seq)",
    # The first file record per <projectId>_<path>, kept ones in processing order, then the
    # re-keyed ones: the order a target keyed by path gives its rows (Promptliano).
    "CREATE TEMP TABLE file_keys (key TEXT PRIMARY KEY, id TEXT NOT NULL) WITHOUT ROWID",
)


class Database:
    """A read-only connection to the migrated database, plus the ids expected so far."""

    def __init__(self, conn: sqlite3.Connection, target: Target, db: Path) -> None:
        self.conn = conn
        self.target = target
        self.expected = Expected.of(target)
        #: The expected tables the database has (a missing one is a schema problem).
        self.present: frozenset[str] = frozenset()
        self.files = (db, db.with_name(db.name + "-wal"))
        self.before = _fingerprint(self.files)
        #: The -shm a process opening the database makes; None when this connection shares
        #: an existing one (and takes SQLite's locks).
        self.watched: Path | None = None
        if conn.execute("PRAGMA main.locking_mode").fetchone()[0] == "exclusive":
            self.watched = db.with_name(db.name + "-shm")

    @classmethod
    def open(cls, db: Path, target: Target) -> Database:
        """Open ``db`` read-only, leaving no file beside it; ConfigError when it is not a
        SQLite database."""
        try:
            conn = open_readonly(db, check_same_thread=False)
            for statement in _EXPECTED_DDL:
                conn.execute(statement)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise ConfigError(f"{db} is not a usable SQLite database: {error}") from None
        return cls(conn, target, db)

    def changed_elsewhere(self) -> bool:
        """Whether another process wrote the database (or its -wal) since it was opened, or
        opened it while this connection read without locks (see
        :func:`asyncmig.storage.open_readonly`): what was read may then mix old and
        new pages. Reading changes neither file."""
        opened = self.watched is not None and self.watched.exists()
        return opened or _fingerprint(self.files) != self.before

    def run_values(self) -> dict[str, str] | None:
        """``asyncmig_run`` as a dict; None when the database has no such table."""
        if not self._has_table("asyncmig_run"):
            return None
        return dict(self.conn.execute("SELECT key, value FROM asyncmig_run").fetchall())

    def tables(self) -> frozenset[str]:
        return frozenset(
            t for t in self.target.tables if self._has_table(self.target.holder(t) or "")
        )

    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?"
        return self.conn.execute(query, (name,)).fetchone() is not None

    def expects(self, table: str, row_id: str) -> bool:
        """Whether a row of ``table`` with ``row_id`` is expected (seen in the source)."""
        query = "SELECT 1 FROM temp.expected WHERE tbl = ? AND id = ?"
        return self.conn.execute(query, (table, row_id)).fetchone() is not None

    def known(self, table: str, ids: Sequence[str]) -> dict[str, bytes | None]:
        """Of ``ids``, those ``table`` already holds, with the digest of the record
        keeping each."""
        query = "SELECT id, digest FROM temp.expected WHERE tbl = ? AND id IN"
        found: dict[str, bytes | None] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            marks = ", ".join("?" * len(chunk))
            found.update(self.conn.execute(f"{query} ({marks})", (table, *chunk)).fetchall())
        return found

    def expect(self, table: str, kept: Sequence[tuple[str, bytes | None]]) -> None:
        """Record that ``table`` holds these (id, digest) pairs."""
        self.conn.executemany(
            "INSERT INTO temp.expected (tbl, id, digest) VALUES (?, ?, ?)",
            [(table, row_id, digest) for row_id, digest in kept],
        )

    def file_keys(self, rows: Sequence[Row]) -> None:
        """Register file records' ``<projectId>_<path>`` keys, the first one per key kept."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO temp.file_keys (key, id) VALUES "
            "(json_extract(?1, '$.projectId') || '_' || json_extract(?1, '$.path'), ?2)",
            [(bytes(row[1]), row[0]) for row in rows],
        )

    def compare(
        self, check: TableCheck, rows: Sequence[Row], details: Sequence[str] = ()
    ) -> list[bool]:
        """Compare each expected row, as the target stores it, with the row the database
        holds under its id (a problem names ``details[i]`` when given); whether each
        matched (a row the target keeps none of by design matches)."""
        mapped = self._as_stored(check.table, rows)
        stored = dict(self._stored(check.table, [r[0] for r in mapped if r is not None]))
        matched = []
        for at, row in enumerate(mapped):
            if row is None:
                matched.append(True)
                continue
            row_id, data, created_at, updated_at = row
            why = details[at] if at < len(details) else ""
            got = stored.get(row_id)
            if got is None:
                check.add(row_id, "missing", why)
            elif differs := _differences(got, (data, created_at, updated_at)):
                check.add(row_id, "altered", "; ".join(filter(None, (differs, why))))
            matched.append(got is not None and not differs)
        return matched

    def _as_stored(self, table: str, rows: Sequence[Row]) -> list[Row | None]:
        """The rows as the target stores them (a converting target's mapping); None for
        a row it keeps none of by design."""
        query = self.target.expect(table)
        if query is None:
            return list(rows)
        mapped = [self.conn.execute(query, row).fetchone() for row in rows]
        return [row if row is not None and row[1] is not None else None for row in mapped]

    def _stored(self, table: str, ids: list[str]) -> Iterator[tuple[str, tuple[object, ...]]]:
        if table not in self.present:
            return
        query = f"{self.target.read_back(table)} WHERE"
        for chunk in _chunks(ids):
            marks = ", ".join("?" * len(chunk))
            for row in self.conn.execute(f"{query} id IN ({marks})", chunk):
                yield row[0], tuple(row[1:])

    def finish_table(self, check: TableCheck) -> None:
        """Count the table's rows and name those no source record accounts for."""
        table = check.table
        if table not in self.present:
            return
        rows = f"({self.target.read_back(table)})"
        check.stored = self.conn.execute(f"SELECT count(*) FROM {rows}").fetchone()[0]
        extra = (
            f"SELECT id FROM {rows} AS m WHERE NOT EXISTS "
            "(SELECT 1 FROM temp.expected AS e WHERE e.tbl = ? AND e.id = m.id)"
        )
        for (row_id,) in self.conn.execute(extra, (table,)):
            check.add(str(row_id), "extra")
        self._check_types(check)

    def _check_types(self, check: TableCheck) -> None:
        """Name the rows holding anything but TEXT where a migration stores text (``data``
        as a BLOB compares equal byte for byte, but the server reads it otherwise)."""
        key, columns = self.expected.text_columns(check.table)
        for column in columns:
            query = (
                f"SELECT {key}, typeof({column}) FROM main.{check.table} "
                f"WHERE typeof({column}) NOT IN ('text', 'null')"  # NULL: a nullable column
            )
            for row_id, kind in self.conn.execute(query):
                check.add(str(row_id), "not text", f"{column} is stored as {kind}")

    def integrity(self, most: int) -> list[str]:
        """``PRAGMA integrity_check``'s findings, at most ``most``; empty when "ok"."""
        found = [row[0] for row in self.conn.execute(f"PRAGMA main.integrity_check({most})")]
        return [] if found == ["ok"] else found


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _fingerprint(paths: tuple[Path, ...]) -> list[tuple[int, int, int]]:
    """Size, modification time and inode of each file; an absent file counts as empty (a
    read-only connection may add an empty -wal where there was none)."""
    found = []
    for path in paths:
        try:
            info = path.stat()
        except FileNotFoundError:
            found.append((0, 0, 0))
            continue
        found.append((info.st_size, info.st_mtime_ns, info.st_ino) if info.st_size else (0, 0, 0))
    return found


def _differences(got: tuple[object, ...], wanted: tuple[object, ...]) -> str:
    """Which columns differ; the data itself is never shown (it may hold a secret)."""
    parts = []
    if got[0] != wanted[0]:
        parts.append("data differs")
    for name, value, want in zip(("created_at", "updated_at"), got[1:], wanted[1:], strict=True):
        if value != want:
            parts.append(f"{name} is {value!r}, expected {want!r}")
    return "; ".join(parts)
