"""``asyncmig_rekeys``: the records whose id was taken by a different record, in the order
the load met them, each with its new id once the step after the load chose it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, NamedTuple

import msgspec

from asyncmig.results import Moved

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    import aiosqlite

    from asyncmig.load.writer import Writer

_ADD: Final = (
    "INSERT INTO asyncmig_rekeys (file_no, path, idx, tbl, old_id, digest, data, created_at, "
    "updated_at) VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?)"
)
_CHUNK: Final = 500
_object: Final = msgspec.json.Decoder(dict[str, Any])
_encoder: Final = msgspec.json.Encoder()
#: The next few waiting records of a table. "+tbl": walk the table in seq order from the
#: last one read; the index on tbl would read and sort every waiting record of the table
#: for each few (quadratic: 84 s for 62,400 records, 0.2 s this way).
WAITING: Final = (
    "SELECT seq, path, idx, old_id, CAST(data AS BLOB), created_at, updated_at FROM "
    "asyncmig_rekeys WHERE +tbl = ? AND new_id IS NULL AND seq > ? ORDER BY seq LIMIT ?"
)
#: Waiting records fetched at a time in the step after the load (their data may be MBs).
_FETCH: Final = 16


class Waiting(NamedTuple):
    """A record waiting for its new id (or holding it)."""

    seq: int
    path: str
    position: int
    old_id: str
    data: bytes
    created_at: int | float
    updated_at: int | float


async def add(writer: Writer, rows: Sequence[tuple[object, ...]]) -> None:
    """Records to re-key, as (file_no, path, index, table, old id, digest, data, created,
    updated)."""
    await writer.conn.executemany(_ADD, rows)


async def waiting_with(
    writer: Writer, table: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Of these (id, digest of data) pairs, those a record of ``table`` already waiting
    holds: where the first such record came from."""
    found: dict[tuple[str, str], str] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        cursor = await writer.conn.execute(
            f"WITH wanted(old_id, digest) AS (VALUES {', '.join(['(?, ?)'] * len(chunk))}) "
            "SELECT r.old_id, r.digest, r.path, r.idx FROM wanted JOIN asyncmig_rekeys AS r "
            "ON r.tbl = ? AND r.old_id = wanted.old_id AND r.digest = wanted.digest "
            "ORDER BY r.seq",
            (*(part for key in chunk for part in key), table),
        )
        for old_id, digest, path, index in await cursor.fetchall():
            found.setdefault((old_id, digest), f"{path} #{index}")
    return found


async def tables_waiting(writer: Writer) -> list[str]:
    """Tables with records still waiting for a new id."""
    cursor = await writer.conn.execute(
        "SELECT DISTINCT tbl FROM asyncmig_rekeys WHERE new_id IS NULL"
    )
    return [row[0] for row in await cursor.fetchall()]


async def count_waiting(writer: Writer) -> int:
    """Records still waiting for a new id, in every table."""
    cursor = await writer.conn.execute("SELECT count(*) FROM asyncmig_rekeys WHERE new_id IS NULL")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def waiting(writer: Writer, table: str) -> AsyncIterator[Waiting]:
    """The records of ``table`` waiting for a new id, in load order, a few at a time."""
    last = 0
    while True:
        cursor = await writer.conn.execute(WAITING, (table, last, _FETCH))
        rows = list(await cursor.fetchall())
        if not rows:
            return
        for row in rows:
            yield Waiting(*row)
        last = rows[-1][0]


async def moved(writer: Writer, seq_and_id: Sequence[tuple[str, int]]) -> None:
    """Record new ids, as (new id, seq) pairs."""
    await writer.conn.executemany("UPDATE asyncmig_rekeys SET new_id = ? WHERE seq = ?", seq_and_id)


async def file_moves(writer: Writer, project_id: int, ids: Sequence[str]) -> dict[str, str]:
    """Old id -> new id of the files of project ``project_id`` among ``ids`` that moved (the
    first move of an id, in load order)."""
    found: dict[str, str] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        cursor = await writer.conn.execute(
            "SELECT old_id, new_id FROM asyncmig_rekeys WHERE tbl = 'project_files' AND "
            f"old_id IN ({', '.join('?' * len(chunk))}) AND new_id IS NOT NULL AND "
            "json_extract(data, '$.projectId') = ? ORDER BY seq",
            (*chunk, project_id),
        )
        for old_id, new_id in await cursor.fetchall():
            found.setdefault(old_id, new_id)
    return found


async def projects_with_moved_files(writer: Writer) -> list[int]:
    cursor = await writer.conn.execute(
        "SELECT DISTINCT json_extract(data, '$.projectId') FROM asyncmig_rekeys "
        "WHERE tbl = 'project_files' AND new_id IS NOT NULL"
    )
    return [row[0] for row in await cursor.fetchall()]


async def listing(conn: aiosqlite.Connection) -> AsyncIterator[Moved]:
    """Every record that moved, in load order."""
    last = 0
    while True:
        cursor = await conn.execute(
            "SELECT seq, path, idx, tbl, old_id, new_id FROM asyncmig_rekeys WHERE new_id IS "
            "NOT NULL AND seq > ? ORDER BY seq LIMIT 1000",
            (last,),
        )
        rows = list(await cursor.fetchall())
        if not rows:
            return
        for row in rows:
            yield Moved(*row[1:])
        last = rows[-1][0]


async def undo(writer: Writer, drop_from: int) -> None:
    """Before files from number ``drop_from`` on are loaded again: take every moved record
    out of its table (the move is made again, once every record is known again; its data
    comes back from the table, with its own id) and forget the records those files met."""
    conn = writer.conn
    cursor = await conn.execute("SELECT DISTINCT tbl FROM asyncmig_rekeys WHERE new_id IS NOT NULL")
    for (table,) in await cursor.fetchall():
        await _take_back(writer, table)
        await conn.execute(
            f"DELETE FROM {writer.stored(table)} WHERE id IN (SELECT new_id FROM "
            "asyncmig_rekeys WHERE tbl = ? AND new_id IS NOT NULL)",
            (table,),
        )
    await conn.execute("UPDATE asyncmig_rekeys SET new_id = NULL")
    await conn.execute("DELETE FROM asyncmig_rekeys WHERE file_no >= ?", (drop_from,))
    await conn.execute("INSERT OR REPLACE INTO asyncmig_run (key, value) VALUES ('rekeyed', '')")


async def mark_done(writer: Writer) -> None:
    """In the moving transaction: every record waiting has its new id, and its data is no
    longer kept here (its table holds it: a copy would double the bytes of every moved
    file; :func:`undo` takes it back from the table)."""
    await writer.conn.execute("UPDATE asyncmig_rekeys SET data = '' WHERE new_id IS NOT NULL")
    await writer.conn.execute(
        "INSERT OR REPLACE INTO asyncmig_run (key, value) VALUES ('rekeyed', 'true')"
    )


async def _take_back(writer: Writer, table: str) -> None:
    """The moved records' data, from the table, with their own ids again (the rows the
    step after the load changed in place are tickets, which are then loaded again)."""
    last = 0
    while True:
        cursor = await writer.conn.execute(
            "SELECT r.seq, r.old_id, r.new_id, CAST(t.data AS BLOB) FROM asyncmig_rekeys AS r "
            f"JOIN {writer.stored(table)} AS t ON t.id = r.new_id WHERE r.tbl = ? AND "
            "r.seq > ? ORDER BY r.seq LIMIT ?",
            (table, last, _FETCH),
        )
        rows = list(await cursor.fetchall())
        if not rows:
            return
        await writer.conn.executemany(
            "UPDATE asyncmig_rekeys SET data = CAST(? AS TEXT) WHERE seq = ?",
            [(with_id(data, new_id, old_id), seq) for seq, old_id, new_id, data in rows],
        )
        last = rows[-1][0]


def with_id(data: bytes, old_id: str, new_id: str) -> bytes:
    """The record's compact JSON with its ``id`` changed (it comes first in every Struct
    that re-keys; any other order is decoded, changed and encoded again in its order)."""
    head = b'{"id":' + old_id.encode()
    if data.startswith(head) and data[len(head) : len(head) + 1] in (b",", b"}"):
        return b'{"id":' + new_id.encode() + data[len(head) :]
    record = _object.decode(data)
    record["id"] = int(new_id)
    return _encoder.encode(record)
