"""verify(data_dir, db) -> Verification: re-read the source, check the database against it.

The source goes through the migration's own stages (the plan, the parser processes in
:func:`asyncmig.ipc.order.parse_in_order`, the row maker) with the settings the migration
recorded in its ledger, and :mod:`~asyncmig.verify.derive` derives from those rows alone
what each table must hold (spec section 5): the first record keeps its id, copies are
duplicates, colliding records are re-keyed (:mod:`~asyncmig.verify.settle`), the last
state of a server wins, ticket file links fold into their ticket; orphans only with
``--include-orphans``, rejected records nowhere. Memory stays flat: ids, digests and
waiting records live in temporary tables of the verifying connection (on disk), each
batch of expected rows is compared with the database by primary key, and extra rows are
found afterwards by an anti-join against the expected ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import anyio

from asyncmig.errors import ConfigError, ParserCrashed, single_errors
from asyncmig.ipc.order import parse_in_order
from asyncmig.load import ledger
from asyncmig.options import default_workers
from asyncmig.output.progress import NullProgress
from asyncmig.source.messages import Done, Failed, Job, Rows
from asyncmig.source.plan import Plan, plan_run
from asyncmig.storage import path_text
from asyncmig.targets import by_name
from asyncmig.verify.database import Database
from asyncmig.verify.derive import Derivation
from asyncmig.verify.result import LISTED, TableCheck, Verification
from asyncmig.verify.schema import schema_problems
from asyncmig.verify.settle import settle

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from asyncmig.output.progress import Phases
    from asyncmig.source.messages import Message
    from asyncmig.source.plan import SourceFile

_BATCH_ROWS: Final = 2_000
_BATCH_BYTES: Final = 2 * 1024 * 1024
#: Row bytes parsed ahead of the file being checked.
_BUDGET_BYTES: Final = 3 * _BATCH_BYTES


async def verify(
    data_dir: Path, db: Path, *, workers: int | None = None, progress: Phases | None = None
) -> Verification:
    """Check ``db`` against what migrating ``data_dir`` writes, with ``workers`` parser
    processes (default: as many as a migration uses); ``progress`` hears the phase
    ``"verify"`` in bytes of JSON checked. ConfigError when ``db`` is missing, is not a
    finished asyncmig migration, or ``data_dir`` is not a directory, or when another
    process opened or wrote ``db`` while it was read."""
    plan, database = await anyio.to_thread.run_sync(_open, data_dir, db)
    try:
        settings, notes = _settings(database.run_values(), db, data_dir)
        tables = {t: TableCheck(t) for t in database.target.tables}
        result = Verification(str(data_dir), str(db), settings, tables, notes=notes)
        result.schema = await anyio.to_thread.run_sync(
            schema_problems, database.conn, database.expected
        )
        database.present = await anyio.to_thread.run_sync(database.tables)
        phases = progress or NullProgress()
        phases.phase("verify", plan.migrated_bytes, "bytes")
        with single_errors():
            await _check_rows(plan.migrated, database, result, workers or default_workers(), phases)
        for check in result.tables.values():
            await anyio.to_thread.run_sync(database.finish_table, check)
        result.integrity = await anyio.to_thread.run_sync(database.integrity, LISTED)
    finally:
        database.conn.close()
    if database.changed_elsewhere():
        raise ConfigError(
            f"another process opened or wrote {db} while verify read it, so what it read may "
            "be half old, half new: stop the OctoPrompt server and run verify again"
        )
    return result


def _open(data_dir: Path, db: Path) -> tuple[Plan, Database]:
    """The plan of ``data_dir`` and ``db`` opened read-only; ConfigError when either is
    missing."""
    if not db.exists():
        raise ConfigError(f"database {db} does not exist")
    if not db.is_file():
        raise ConfigError(f"database {db} is not a file: pass --db the migrated database's file")
    plan = plan_run(data_dir, db)
    found = ledger.read(db)  # the target the migration wrote
    return plan, Database.open(db, by_name(found.run.target if found else None))


def _settings(
    values: dict[str, str] | None, db: Path, data_dir: Path
) -> tuple[ledger.RunSettings, list[str]]:
    """The run's settings; ConfigError when the database is not a finished migration."""
    if values is None:
        raise ConfigError(
            f"{db} was not written by asyncmig (it has no asyncmig_run table): there is no "
            "migration to verify it against"
        )
    if values.get("status") != "complete":
        raise ConfigError(
            f"the migration into {db} did not complete (status {values.get('status')!r}): "
            "finish it, or migrate again, before verifying"
        )
    settings = ledger.decode_settings(values)
    if settings.migrated_at is None:
        raise ConfigError(f"{db}: asyncmig_run records no valid migrated_at")
    notes = [
        f"the database does not record --{name.replace('_', '-')}: verified as run without it"
        for name in ("strict", "include_orphans")
        if getattr(settings, name) is None
    ]
    recorded = settings.data_dir
    if recorded is not None and recorded != path_text(data_dir.resolve()):
        notes.append(f"the migration read {recorded}; verifying against {data_dir.resolve()}")
    return settings, notes


async def _check_rows(
    files: tuple[SourceFile, ...],
    database: Database,
    result: Verification,
    workers: int,
    phases: Phases,
) -> None:
    """Parse every migrated file in parser processes; check its rows in plan order, then
    the rows that wait for the whole source (re-keyed, folded into, replaced)."""
    settings = result.settings
    assert settings.migrated_at is not None
    derivation = Derivation(database, result.tables, strict=bool(settings.strict))
    jobs = [
        Job.of(
            item,
            strict=bool(settings.strict),
            migrated_at=settings.migrated_at,
            batch_rows=_BATCH_ROWS,
            batch_bytes=_BATCH_BYTES,
        )
        for item in files
    ]
    async with parse_in_order(jobs, workers=workers, budget_bytes=_BUDGET_BYTES) as parsed:
        for item in files:
            await _check_file(item, parsed.next_file(), derivation, result)
            phases.step(item.size)
    await anyio.to_thread.run_sync(settle, database, result.tables)


async def _check_file(
    item: SourceFile,
    messages: AsyncIterator[Message],
    derivation: Derivation,
    result: Verification,
) -> None:
    """Check one file's rows, unless the migration left them out as orphans (a folder
    belongs to the record keeping its id, so a re-keyed parent owns none)."""
    entity = item.entity
    assert entity is not None
    parent = entity.parent_table
    expected = True
    if parent is not None and not result.settings.include_orphans:
        expected = item.parent_id is not None and await anyio.to_thread.run_sync(
            derivation.database.expects, parent, str(item.parent_id)
        )
    async for message in messages:
        if isinstance(message, Rows) and expected:
            sources = [f"{item.rel} #{index}" for index in message.indexes]
            await anyio.to_thread.run_sync(derivation.add, entity, message.rows, sources)
        elif isinstance(message, Failed):
            result.unreadable.append(f"{item.rel}: {message.message}")
        if isinstance(message, Done | Failed):
            return
    raise ParserCrashed(f"a parser process ended while reading {item.path}")
