"""The state file's view of the checkpoint: what the ledger has committed, and writing it.

The pipeline calls :func:`write_state` between transactions (at the start, at table ends,
every couple of seconds, at each phase) and :func:`write_state_at_end` once the run stops;
both read the ledger, never the run's own counts, so the file cannot run ahead of the
database (:mod:`asyncmig.output.statefile`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from asyncmig.errors import AsyncmigError
from asyncmig.load import ledger
from asyncmig.output.statefile import Committed, NoStateFile
from asyncmig.results import Counts
from asyncmig.source.layout import ENTITIES

if TYPE_CHECKING:
    from pathlib import Path

    from asyncmig.load.ledger import Checkpoint, FileRecord
    from asyncmig.load.writer import Writer
    from asyncmig.output.statefile import StateFile


async def write_state(writer: Writer, state: StateFile, status: str = "incomplete") -> None:
    """Write the state file from what the ledger has committed (between transactions)."""
    if not isinstance(state, NoStateFile):
        state.write(status, mirror(await ledger.read_committed(writer)))


def write_state_at_end(db: Path, state: StateFile, status: str) -> None:
    """Say how the run ended, from what the ledger committed (the open transaction is
    rolled back; a connection of its own reads, as the writer's may be unusable). Best
    effort: if it cannot be written, the file's "incomplete" is still true, and the error
    that ended the run is the one to report."""
    if isinstance(state, NoStateFile):
        return
    with contextlib.suppress(AsyncmigError, OSError):
        found = ledger.read(db)
        if found is not None:
            state.write(status, mirror(found))


def mirror(checkpoint: Checkpoint) -> Committed:
    """What the state file shows of ``checkpoint``."""
    files = checkpoint.files
    tables = _tables(files)
    damaged = [
        f"{record.path}: damaged: {record.outcome.damage_message}"
        for record in files
        if record.outcome is not None and record.outcome.damage_message is not None
    ]
    total = sum(tables.values(), Counts())
    return Committed(
        phase=checkpoint.run.status,
        files_done=checkpoint.done_files,
        files_total=len(files),
        current_file=next((r.path for r in files if r.status in ("started", "loading")), None),
        completed_tables=_completed(checkpoint, list(tables)),
        tables=tables,
        problems=total.rejected + total.orphaned + total.duplicate + len(damaged),
        damaged=damaged,
        done_paths=frozenset(record.path for record in files if record.done),
    )


def _tables(files: list[FileRecord]) -> dict[str, Counts]:
    """Each table's counts: the sum of its files' committed counts."""
    tables = {entity.table: Counts() for entity in ENTITIES}
    for record in files:
        if record.table is not None:
            tables[record.table] = tables.get(record.table, Counts()) + record.counts
    return tables


def _completed(checkpoint: Checkpoint, order: list[str]) -> list[str]:
    """Tables whose every file is done: all of them once the load is, else those before
    the table of the first file not done (files load in plan order, table by table)."""
    unfinished = next((record for record in checkpoint.files if not record.done), None)
    if checkpoint.run.status in ("finishing", "complete") or unfinished is None:
        return order
    return order[: order.index(unfinished.table)] if unfinished.table in order else []
