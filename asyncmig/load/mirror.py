"""The state file's view of the checkpoint: what the ledger has committed, and writing it.

The pipeline calls :func:`write_state` between transactions (at the start, at table ends,
every couple of seconds, at each phase) and :func:`write_state_at_end` once the run stops;
both read the ledger, never the run's own counts, so the file cannot run ahead of the
database (:mod:`asyncmig.output.statefile`).
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import TYPE_CHECKING

from asyncmig.errors import AsyncmigError
from asyncmig.load import ledger
from asyncmig.output.statefile import Committed, NoStateFile
from asyncmig.results import Counts
from asyncmig.source.layout import ENTITIES

if TYPE_CHECKING:
    from pathlib import Path

    from asyncmig.load.ledger import Summary
    from asyncmig.load.writer import Writer
    from asyncmig.output.statefile import StateFile


async def write_state(writer: Writer, state: StateFile, status: str = "incomplete") -> None:
    """Write the state file from what the ledger has committed (read through the writer
    between transactions: exactly the committed rows)."""
    if isinstance(state, NoStateFile):
        return
    found = await ledger.summarize_committed(writer, state.listed_paths())
    state.write(status, mirror(found))


def write_state_at_end(db: Path, state: StateFile, status: str) -> None:
    """Say how the run ended, from what the ledger committed (the open transaction is
    rolled back; a connection of its own reads, as the writer's may be unusable). Best
    effort: if it cannot be written, the file's "incomplete" is still true, and the error
    that ended the run is the one to report."""
    if isinstance(state, NoStateFile):
        return
    with contextlib.suppress(AsyncmigError, OSError, sqlite3.Error):
        found = ledger.summarize(db, state.listed_paths())
        if found is not None:
            state.write(status, mirror(found))


def mirror(summary: Summary) -> Committed:
    """What the state file shows of the ledger's ``summary``."""
    tables = {entity.table: summary.tables.get(entity.table, Counts()) for entity in ENTITIES}
    total = sum(tables.values(), Counts())
    unfinished = summary.unfinished
    current = unfinished[0] if unfinished and unfinished[2] in ("started", "loading") else None
    return Committed(
        phase=summary.phase,
        files_done=summary.files_done,
        files_total=summary.files_total,
        current_file=current,
        completed_tables=_completed(summary, list(tables)),
        tables=tables,
        problems=total.rejected + total.orphaned + total.duplicate + len(summary.damaged),
        damaged=[f"{path}: damaged: {why}" for path, why in summary.damaged],
        done_paths=summary.done_among,
    )


def _completed(summary: Summary, order: list[str]) -> list[str]:
    """Tables whose every file is done: all of them once the load is, else those before
    the table of the first file not done (files load in plan order, table by table)."""
    unfinished = summary.unfinished
    if summary.phase in ("finishing", "complete") or unfinished is None:
        return order
    table = unfinished[1]
    return order[: order.index(table)] if table in order else []
