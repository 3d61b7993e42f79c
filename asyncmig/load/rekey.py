"""The step after the load: records whose id was taken move to new ids (spec section 5).

Each one gets the smallest integer above its own id that no record of its table holds,
once every record that keeps its own id is loaded, in the order the load met them; its
``data.id`` follows. Then tickets' ``suggestedFileIds`` follow the files of their own
project that moved. One transaction, so a run killed inside it leaves the records still
waiting, and the next run moves them again the same way.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any, Final

import msgspec

from asyncmig.load.ledger import rekeys
from asyncmig.output.progress import NullProgress
from asyncmig.safety import faults

if TYPE_CHECKING:
    from asyncmig.load.writer import Writer
    from asyncmig.output.progress import Phases
    from asyncmig.output.rejects import Rejects
    from asyncmig.source.messages import Row

#: Ids read at a time while looking for a free one.
_PAGE: Final = 256
#: Runs of taken ids remembered per table; beyond this the memory starts over (the ids
#: are then read again from the table: slower, never wrong).
_RUNS: Final = 4096
#: Moved records inserted at a time: at most this many, and about this many bytes (a
#: project file may be MBs).
_FLUSH: Final = 256
_FLUSH_BYTES: Final = 4 * 1024 * 1024
_object: Final = msgspec.json.Decoder(dict[str, Any])
_encoder: Final = msgspec.json.Encoder()


async def move_waiting(
    writer: Writer,
    rejects: Rejects,
    tables: tuple[str, ...],
    *,
    list_earlier: bool,
    phases: Phases | None = None,
) -> int:
    """Move every waiting record to its new id and list every move (``list_earlier``: also
    when an earlier, interrupted run made them); how many moved now. ``phases`` hears how
    many have moved (on a big root, seconds after the load's last file)."""
    waiting = set(await rekeys.tables_waiting(writer))
    if not waiting:
        if list_earlier:
            await _list(writer, rejects)
        return 0
    phases = phases or NullProgress()
    phases.phase("re-keying", await rekeys.count_waiting(writer), "records")
    moved = 0
    async with writer.transaction():
        for table in (t for t in tables if t in waiting):
            moved += await _move_table(writer, table, phases)
            faults.reached("rekey")
        if not writer.digests and "tickets" in tables:
            await _follow_in_tickets(writer)
        await rekeys.mark_done(writer)  # and the moved records' data is the table's now
    faults.reached("rekeyed")
    await _list(writer, rejects)
    return moved


async def _list(writer: Writer, rejects: Rejects) -> None:
    async for move in rekeys.listing(writer.conn):
        rejects.rekeyed(move)


async def _move_table(writer: Writer, table: str, phases: Phases) -> int:
    """Move the table's waiting records, a few at a time (one insert and one ledger update
    for each few: a round trip to the writer's thread per record cost 0.3 ms)."""
    ids = _FreeIds(writer, table)
    count = 0
    rows: list[Row] = []
    seqs: list[tuple[str, int]] = []
    held = 0
    async for record in rekeys.waiting(writer, table):
        new_id = str(await ids.above(int(record.old_id)))
        data = record.data if writer.digests else rekeys.with_id(record.data, record.old_id, new_id)
        rows.append((new_id, data, record.created_at, record.updated_at))
        seqs.append((new_id, record.seq))
        held += len(data)
        if len(rows) >= _FLUSH or held >= _FLUSH_BYTES or ids.forgetting:
            phases.step(len(rows))
            await _insert(writer, table, rows, seqs)
            held = 0
        count += 1
    phases.step(len(rows))
    await _insert(writer, table, rows, seqs)
    return count


async def _insert(writer: Writer, table: str, rows: list[Row], seqs: list[tuple[str, int]]) -> None:
    """Insert the moved rows and record their new ids; both lists start over empty."""
    if rows:
        await writer.insert(table, rows)
        await rekeys.moved(writer, seqs)
        rows.clear()
        seqs.clear()


async def _follow_in_tickets(writer: Writer) -> None:
    """A ticket's reference to a file of its own project that moved follows the move."""
    for project_id in await rekeys.projects_with_moved_files(writer):
        cursor = await writer.conn.execute(
            f"SELECT id, CAST(data AS BLOB) FROM {writer.stored('tickets')} "
            "WHERE json_extract(data, '$.projectId') = ?",
            (project_id,),
        )
        for ticket_id, data in await cursor.fetchall():
            ticket = _object.decode(data)
            suggested = [str(i) for i in ticket.get("suggestedFileIds", [])]
            moves = await rekeys.file_moves(writer, project_id, suggested)
            if not moves:
                continue
            ticket["suggestedFileIds"] = [moves.get(i, i) for i in suggested]
            await writer.conn.execute(
                f"UPDATE {writer.stored('tickets')} SET data = CAST(? AS TEXT) WHERE id = ?",
                (_encoder.encode(ticket), ticket_id),
            )


class _FreeIds:
    """The smallest free integer id above a given one, in one table.

    Ids are canonical decimals, so among ids of one length text order is number order:
    the primary key's index walks them, a page at a time, and the last page read is kept.
    Runs of ids found taken (moved records' new ids included, before they are inserted)
    are remembered, so the 1,600 colliding ids of one bulk sync cost one walk of the run,
    not one each."""

    def __init__(self, writer: Writer, table: str) -> None:
        self.writer = writer
        self.table = table
        self.starts: list[int] = []
        self.ends: list[int] = []
        #: The last page of ids read: every id of the table from ``low`` to ``high``.
        self.page: list[int] = []
        self.low = self.high = -1

    @property
    def forgetting(self) -> bool:
        """The remembered runs are about to start over: the ids they hold that are not in
        the table yet must be inserted first."""
        return len(self.starts) >= _RUNS - 1

    async def above(self, old: int) -> int:
        """The smallest integer above ``old`` that no row holds; it is taken from now on."""
        free = await self._walk(self._skip(old + 1))
        self._remember(old + 1, free)
        return free

    async def _walk(self, candidate: int) -> int:
        while True:
            if not self.low <= candidate <= self.high:
                await self._read_page(candidate)
            at = bisect.bisect_left(self.page, candidate)
            while at < len(self.page) and self.page[at] == candidate:
                candidate = self._skip(candidate + 1)
                at = bisect.bisect_left(self.page, candidate)
            if candidate <= self.high:
                return candidate

    async def _read_page(self, candidate: int) -> None:
        text = str(candidate)
        cursor = await self.writer.conn.execute(
            f"SELECT id FROM {self.writer.stored(self.table)} WHERE id >= ? AND length(id) = ? "
            "ORDER BY id LIMIT ?",
            (text, len(text), _PAGE),
        )
        self.page = [int(row_id) for (row_id,) in await cursor.fetchall()]
        self.low = candidate
        # A short page holds every id of this length from ``candidate`` on.
        self.high = self.page[-1] if len(self.page) == _PAGE else 10 ** len(text) - 1

    def _skip(self, candidate: int) -> int:
        """``candidate``, or the first integer after the remembered run holding it."""
        at = bisect.bisect_right(self.starts, candidate) - 1
        while 0 <= at < len(self.starts) and self.starts[at] <= candidate <= self.ends[at]:
            candidate = self.ends[at] + 1
            at += 1
        return candidate

    def _remember(self, start: int, end: int) -> None:
        """Every integer from ``start`` to ``end`` is taken."""
        if len(self.starts) >= _RUNS:
            self.starts, self.ends = [], []
        at = bisect.bisect_left(self.starts, start)
        # Merge with the runs it touches on either side.
        lo = at - 1 if at > 0 and self.ends[at - 1] >= start - 1 else at
        hi = at
        while hi < len(self.starts) and self.starts[hi] <= end + 1:
            hi += 1
        if lo < hi:
            start = min(start, self.starts[lo])
            end = max(end, self.ends[hi - 1])
        self.starts[lo:hi] = [start]
        self.ends[lo:hi] = [end]
