"""After the whole source: new ids for the colliders, then the rows that waited for them.

Spec section 5: a collider takes the smallest integer above its own id that no record of
its table holds, once every record keeping its own id is known, colliders in processing
order. The held ids of a table with colliders are turned into runs ``[lo, hi]`` of
consecutive integers (one ordered scan); each collider then costs two index look-ups: the
run touching ``old + 1`` gives ``hi + 1``, which extends that run (merging the next one),
so a bulk sync's 1,600 colliders in a row cost 1,600 look-ups, not 1,600**2 / 2. Then the
re-keyed rows, and the deferred ones with their folded values and references following the
re-keys, are compared with the database. Blocking: call it from a worker thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import msgspec

from asyncmig.load.ledger.rekeys import with_id
from asyncmig.verify.derive import FOLD_INTO, REFERENCES

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable, Iterator

    from asyncmig.source.messages import Row
    from asyncmig.verify.database import Database
    from asyncmig.verify.derive import Reference
    from asyncmig.verify.result import TableCheck

#: Rows and bytes compared per look-up in the database.
_GROUP_ROWS: Final = 500
_GROUP_BYTES: Final = 2 * 1024 * 1024
_RUNS: Final = (
    "INSERT INTO temp.runs (tbl, lo, hi) SELECT ?, min(n), max(n) FROM "
    "(SELECT n, n - row_number() OVER (ORDER BY n) AS g FROM "
    "(SELECT CAST(id AS INTEGER) AS n FROM temp.expected WHERE tbl = ?)) GROUP BY g"
)
_FOLLOW: Final = (
    "SELECT r.new FROM temp.colliders AS c JOIN temp.rekeys AS r USING (seq) "
    "WHERE c.tbl = ? AND c.old = ? AND c.scope = ? ORDER BY c.seq LIMIT 1"
)
_decoder: Final = msgspec.json.Decoder()
_encoder: Final = msgspec.json.Encoder()

# (row, old id, source) of one re-keyed record.
_Rekeyed = tuple["Row", int, str]


def settle(database: Database, checks: dict[str, TableCheck]) -> None:
    """Give the colliders their new ids, then compare every row left for the end."""
    conn = database.conn
    tables = [t for (t,) in conn.execute("SELECT DISTINCT tbl FROM temp.colliders ORDER BY tbl")]
    for table in tables:
        _assign(conn, table)
    for table in tables:
        for group in _groups(_rekeyed(conn, table)):
            _check_rekeyed(database, checks[table], group)
    deferred = [t for (t,) in conn.execute("SELECT DISTINCT tbl FROM temp.deferred ORDER BY tbl")]
    for table in deferred:
        for rows in _groups(_deferred(conn, table, checks[table])):
            database.compare(checks[table], [row for row, _, _ in rows])


def _assign(conn: sqlite3.Connection, table: str) -> None:
    """New ids for ``table``'s colliders, in processing order."""
    conn.execute(_RUNS, (table, table))
    query = "SELECT seq, old FROM temp.colliders WHERE tbl = ? ORDER BY seq"
    # A cursor of its own, read while the loop writes to other tables of the connection.
    for seq, old in conn.cursor().execute(query, (table,)):
        new = _take(conn, table, old)
        conn.execute("INSERT INTO temp.rekeys (seq, new) VALUES (?, ?)", (seq, new))


def _take(conn: sqlite3.Connection, table: str, old: int) -> int:
    """The smallest integer above ``old`` that ``table`` does not hold, now held."""
    wanted = old + 1
    query = "SELECT lo, hi FROM temp.runs WHERE tbl = ? AND lo <= ? ORDER BY lo DESC LIMIT 1"
    run = conn.execute(query, (table, wanted)).fetchone()
    # A run reaching wanted - 1 (it holds old, always, as old's keeper is held) ends at the
    # free id; runs are maximal, so hi + 1 is free.
    lo, new = (run[0], run[1] + 1) if run is not None and run[1] >= old else (wanted, wanted)
    after = conn.execute(
        "DELETE FROM temp.runs WHERE tbl = ? AND lo = ? RETURNING hi", (table, new + 1)
    ).fetchone()
    hi = new if after is None else after[0]
    conn.execute("INSERT OR REPLACE INTO temp.runs (tbl, lo, hi) VALUES (?, ?, ?)", (table, lo, hi))
    return new


def _rekeyed(conn: sqlite3.Connection, table: str) -> Iterator[_Rekeyed]:
    """Each collider's expected row: its data under the new id, references following."""
    query = (
        "SELECT c.old, r.new, c.data, c.created_at, c.updated_at, c.source "
        "FROM temp.colliders AS c JOIN temp.rekeys AS r USING (seq) WHERE c.tbl = ? "
        "ORDER BY c.seq"
    )
    for old, new, data, created_at, updated_at, source in conn.cursor().execute(query, (table,)):
        fixed = with_id(data, str(old), str(new))
        if table in REFERENCES:
            fixed, _ = _fixed(conn, table, fixed, [])
        yield (str(new), fixed, created_at, updated_at), old, source


def _check_rekeyed(database: Database, check: TableCheck, group: list[_Rekeyed]) -> None:
    rows = [row for row, _, _ in group]
    if check.table == "project_files":  # after every kept one, as the conversion orders them
        database.file_keys(rows)
    database.expect(check.table, [(row[0], None) for row in rows])
    check.expected += len(rows)
    details = [f"re-keyed from id {old}, {source}" for _, old, source in group]
    matched = database.compare(check, rows, details)
    for (row, old, source), confirmed in zip(group, matched, strict=True):
        check.add_rekey(str(old), row[0], source, confirmed=confirmed)


def _deferred(conn: sqlite3.Connection, table: str, check: TableCheck) -> Iterator[_Rekeyed]:
    """The rows kept for the end: folded values joined, references following re-keys."""
    query = "SELECT id, data, created_at, updated_at FROM temp.deferred WHERE tbl = ? ORDER BY id"
    folds = "SELECT value FROM temp.folds WHERE tbl = ? AND id = ? ORDER BY seq"
    for row_id, data, created_at, updated_at in conn.cursor().execute(query, (table,)):
        values = [v for (v,) in conn.execute(folds, (table, row_id))] if table in FOLD_INTO else []
        fixed, folded = _fixed(conn, table, data, values)
        check.folded += folded
        yield (row_id, fixed, created_at, updated_at), 0, ""


def _fixed(
    conn: sqlite3.Connection, table: str, data: bytes, folds: list[str]
) -> tuple[bytes, int]:
    """``data`` with ``folds`` joined to its list field (each value once), then its
    references following re-keys; how many values were folded in."""
    reference = REFERENCES.get(table)
    if not folds and reference is None:
        return data, 0
    record = _decoder.decode(data)
    field = FOLD_INTO.get(table) or (reference.field if reference else "")
    before = list(record.get(field, []))
    values = before + [v for v in dict.fromkeys(folds) if v not in before]
    folded = len(values) - len(before)
    if reference is not None:
        values = [_follow(conn, reference, record.get(reference.scope), v) for v in values]
    if values == before:
        return data, folded
    record[field] = values
    return _encoder.encode(record), folded


def _follow(conn: sqlite3.Connection, reference: Reference, scope: Any, value: Any) -> Any:
    """The new id of the first re-keyed row of ``reference.table`` with old id ``value``
    in ``scope``; ``value`` itself when none was."""
    if not isinstance(value, str) or not value.isdecimal() or str(int(value)) != value:
        return value
    found = conn.execute(_FOLLOW, (reference.table, int(value), scope)).fetchone()
    return value if found is None else str(found[0])


def _groups(items: Iterable[_Rekeyed]) -> Iterator[list[_Rekeyed]]:
    """``items`` in groups bounded in rows and in bytes of data."""
    group: list[_Rekeyed] = []
    size = 0
    for item in items:
        group.append(item)
        size += len(item[0][1])
        if len(group) >= _GROUP_ROWS or size >= _GROUP_BYTES:
            yield group
            group, size = [], 0
    if group:
        yield group
