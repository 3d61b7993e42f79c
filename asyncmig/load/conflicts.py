"""Rows whose id their table already holds (spec section 5), resolved per batch.

The insert skips such rows (``ON CONFLICT DO NOTHING``); this finds them with one lookup
per batch (never one per row) and decides what each one is, by its table's kind:

- ``rekey``: a copy of the record holding the id, or of one already waiting for a new id,
  is a duplicate; any other record waits for a new id (chosen after the load,
  :mod:`asyncmig.load.rekey`) and counts as migrated and re-keyed;
- ``duplicate``: a repeated link is a duplicate;
- ``reject``: a copy is a duplicate; a string id cannot move, so other data is rejected;
- ``replace``: the later record replaces the earlier one, which is superseded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import xxhash

from asyncmig.load import ledger
from asyncmig.load.ledger import rekeys
from asyncmig.results import Conflict

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from asyncmig.load.writer import Writer
    from asyncmig.source.messages import Row, Rows
    from asyncmig.source.plan import SourceFile


@dataclass(slots=True)
class Resolved:
    """What became of a batch's rows whose id was taken."""

    #: Duplicates and rejected records, to be listed.
    listed: list[Conflict] = field(default_factory=list)
    rekeyed: int = 0
    superseded: int = 0
    #: Positions in the batch of the rows not migrated (duplicates, rejected).
    not_migrated: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Holder:
    """The record holding an id, as far as the batch needs it: its data, and where it came
    from (``source``), or the rowid that says so once it is needed (``rowid``)."""

    data: bytes
    source: str = ""
    rowid: int | None = None


async def resolve(
    writer: Writer,
    source: SourceFile,
    batch: Rows,
    first: int,
    settle: Callable[[], Awaitable[None]],
) -> Resolved:
    """The batch's rows the insert skipped (their id taken by an earlier batch, rowid
    below ``first``, or earlier in this batch), each resolved by the table's kind.
    ``settle`` writes the ledger rows that name earlier rows' files, when one is named."""
    assert source.entity is not None
    table, kind = source.table, source.entity.on_conflict
    taken, holders = await _taken(writer, source, batch, first)
    resolved = Resolved()
    if kind == "replace":
        replaced = [batch.rows[pos] for pos in taken]
        await writer.replace(table, replaced)
        resolved.superseded = len(replaced)
        return resolved
    digests = {pos: xxhash.xxh3_128_hexdigest(batch.rows[pos][1]) for pos in taken}
    keys = [(batch.rows[pos][0], digests[pos]) for pos in taken]
    waiting = await rekeys.waiting_with(writer, table, keys) if kind == "rekey" else {}
    moving: list[tuple[object, ...]] = []
    listed: list[tuple[int, str, Literal["duplicate", "repeat", "rejected"], _Holder]] = []
    for pos in taken:
        row, index = batch.rows[pos], batch.indexes[pos]
        data = bytes(row[1])
        holder = holders[row[0]]
        key = (row[0], digests[pos])
        copy_of = holder if holder.data == data else _waiting_copy(waiting.get(key))
        if copy_of is not None or kind == "duplicate":
            outcome: Literal["duplicate", "repeat"] = "duplicate" if copy_of else "repeat"
            listed.append((index, row[0], outcome, copy_of or holder))
        elif kind == "reject":
            listed.append((index, row[0], "rejected", holder))
        else:
            waiting.setdefault(key, f"{source.rel} #{index}")
            moving.append(
                (source.file_no, source.rel, index, table, row[0], key[1], data, *row[2:])
            )
        if kind != "rekey" or copy_of is not None:
            resolved.not_migrated.add(pos)
    if moving:
        await rekeys.add(writer, moving)
    resolved.rekeyed = len(moving)
    resolved.listed = await _named(writer, table, listed, settle)
    return resolved


async def _named(
    writer: Writer,
    table: str,
    listed: list[tuple[int, str, Literal["duplicate", "repeat", "rejected"], _Holder]],
    settle: Callable[[], Awaitable[None]],
) -> list[Conflict]:
    """The conflicts to list, each naming where the record it met came from (the files of
    earlier rows read from the ledger in one query, only when some are named)."""
    rowids = [h.rowid for *_, h in listed if h.rowid is not None]
    paths: dict[int, str] = {}
    if rowids:
        await settle()
        paths = await ledger.sources_of(writer, table, rowids)
    named: list[Conflict] = []
    for index, row_id, outcome, holder in listed:
        where = holder.source if holder.rowid is None else paths[holder.rowid]
        named.append(_conflict(index, row_id, outcome, where))
    return named


def _conflict(
    index: int, row_id: str, outcome: Literal["duplicate", "repeat", "rejected"], where: str
) -> Conflict:
    """The listed record, its message naming ``where`` the record it met came from."""
    if outcome == "rejected":
        message = (
            f"$.id: id {row_id} is already migrated from {where} with other data, "
            "and a string id cannot move to a new one"
        )
        return Conflict(index, row_id, "rejected", message)
    if outcome == "repeat":  # a link: its prompt and project make its id
        message = f"the link {row_id} is already migrated from {where}"
    else:
        message = f"a copy of the record with id {row_id} already migrated from {where}"
    return Conflict(index, row_id, "duplicate", message)


def _waiting_copy(where: str | None) -> _Holder | None:
    """The waiting record a row copies (found by its id and its data's digest)."""
    return None if where is None else _Holder(b"", where)


async def _taken(
    writer: Writer, source: SourceFile, batch: Rows, first: int
) -> tuple[list[int], dict[str, _Holder]]:
    """Positions of the skipped rows, and the record holding each of their ids."""
    rows = batch.rows
    stored = await writer.taken(source.table, [row[0] for row in rows], first)
    taken: list[int] = []
    holders: dict[str, _Holder] = {}
    inserted_at: dict[str, int] = {}
    for pos, row in enumerate(rows):
        row_id = row[0]
        held = stored.get(row_id)
        if held is not None and held[0] < first:
            taken.append(pos)
            holders[row_id] = _Holder(held[1] or b"", rowid=held[0])
        elif row_id in inserted_at:
            taken.append(pos)
            holder = inserted_at[row_id]
            where = f"{source.rel} #{batch.indexes[holder]}"
            holders[row_id] = _Holder(_bytes(rows[holder]), where)
        else:
            inserted_at[row_id] = pos
    return taken, holders


def _bytes(row: Row) -> bytes:
    return bytes(row[1])
