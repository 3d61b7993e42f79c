"""Ticket file links folded into their tickets (spec section 4): the v0.6.0 database has no
table for ``ticket_data/<id>/files.json``, so each link's ``fileId`` is appended, as a
string and once, to its ticket's ``suggestedFileIds``. Folding is an upgrade, so under
``--strict`` every link is rejected instead (listed, never dropped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import msgspec

from asyncmig.results import Conflict

if TYPE_CHECKING:
    from asyncmig.load.batches import Batches
    from asyncmig.source.messages import Rows
    from asyncmig.source.plan import SourceFile

STRICT: Final = (
    "$: folding a ticket's file links into its suggestedFileIds is an upgrade, and --strict "
    "migrates records only as they are"
)
# A ticket's data is the compact JSON of its Struct; decoded as a dict it keeps its key
# order, and encoding it again gives the same bytes but for the appended ids.
_object: Final = msgspec.json.Decoder(dict[str, Any])
_encoder: Final = msgspec.json.Encoder()


@dataclass(slots=True)
class Folded:
    """What became of a batch of links."""

    counts: dict[str, int] = field(default_factory=dict)
    listed: list[Conflict] = field(default_factory=list)


async def links(batches: Batches, source: SourceFile, batch: Rows, *, strict: bool) -> Folded:
    """Fold a batch of links into the tickets they name, in the open transaction."""
    folded = Folded()
    rows, indexes = batch.rows, batch.indexes
    if strict:
        folded.listed = [
            Conflict(i, row[0], "rejected", STRICT) for row, i in zip(rows, indexes, strict=True)
        ]
        folded.counts = {"rejected": len(rows)}
    else:
        await _fold(batches, rows, indexes, folded)
    batches.files.batch(source, batch.consumed, (None, None))
    return folded


async def _fold(batches: Batches, rows: list[Any], indexes: list[int], folded: Folded) -> None:
    writer = batches.writer
    ids = list(dict.fromkeys(row[0] for row in rows))
    async with writer.guard():
        await writer.begin()
        tickets = {
            ticket_id: _object.decode(data)
            for ticket_id, data in (await writer.data_of("tickets", ids)).items()
        }
        changed: set[str] = set()
        migrated = upgraded = 0
        for row, index in zip(rows, indexes, strict=True):
            ticket = tickets.get(row[0])
            if ticket is None:
                missing = f"$.ticketId: no migrated ticket has id {row[0]} to fold the link into"
                folded.listed.append(Conflict(index, row[0], "rejected", missing))
                continue
            file_id = _object.decode(row[1]).get("fileId")
            migrated += 1
            text = str(file_id)
            suggested = ticket.setdefault("suggestedFileIds", [])
            if text not in suggested:
                suggested.append(text)
                changed.add(row[0])
                upgraded += 1
        await writer.conn.executemany(
            f"UPDATE {writer.stored('tickets')} SET data = CAST(? AS TEXT) WHERE id = ?",
            [(_encoder.encode(tickets[t]), t) for t in changed],
        )
    folded.counts = {"migrated": migrated, "upgraded": upgraded, "rejected": len(folded.listed)}
