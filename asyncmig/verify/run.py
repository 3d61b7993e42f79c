"""verify(data_dir, db) -> Verification: re-read the source, check the database against it.

The source goes through the migration's own stages (the plan, the parser processes, the
row maker) with the settings the migration recorded in ``asyncmig_run``, so the rows
expected are the rows it wrote: first copy of an id wins, orphans only with
``--include-orphans``, rejected records nowhere. Memory stays flat: the ids seen so far
live in a temporary table of the verifying connection (on disk), each batch of expected
rows is compared with the database by primary key, and extra rows are found afterwards
by an anti-join against that table.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Final

import anyio

from asyncmig.source import plan as source
from asyncmig.verify.database import Database, schema_problems
from asyncmig.errors import ConfigError, ParserCrashed, single_errors
from asyncmig.source.layout import ALL_TABLES
from asyncmig.options import default_workers
from asyncmig.ipc.client import start_parser
from asyncmig.ipc.wire import Done, Failed, Job, Message, Rows
from asyncmig.verify.result import LISTED, RunSettings, TableCheck, Verification

if TYPE_CHECKING:
    from pathlib import Path

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from asyncmig.ipc.client import Parser
    from asyncmig.source.plan import SourceFile

_BATCH_ROWS: Final = 2_000
_BATCH_BYTES: Final = 2 * 1024 * 1024
#: Messages a parser may have ready beyond the one being checked (each at most a batch).
_PREFETCH: Final = 2


async def verify(data_dir: Path, db: Path, *, workers: int | None = None) -> Verification:
    """Check ``db`` against what migrating ``data_dir`` writes, with ``workers`` parser
    processes (default: as many as a migration uses). ConfigError when ``db`` is missing,
    is not a finished asyncmig migration, or ``data_dir`` is not a directory."""
    plan, database = await anyio.to_thread.run_sync(_open, data_dir, db)
    try:
        settings, notes = _settings(database.run_values(), db, data_dir)
        result = Verification(
            str(data_dir), str(db), settings, {t: TableCheck(t) for t in ALL_TABLES}, notes=notes
        )
        result.schema = await anyio.to_thread.run_sync(schema_problems, database.conn)
        database.present = await anyio.to_thread.run_sync(database.tables)
        with single_errors():
            await _check_rows(plan.migrated, database, result, workers or default_workers())
        for check in result.tables.values():
            await anyio.to_thread.run_sync(database.finish_table, check)
        result.integrity = await anyio.to_thread.run_sync(database.integrity, LISTED)
    finally:
        database.conn.close()
    return result


def _open(data_dir: Path, db: Path) -> tuple[source.Plan, Database]:
    """The plan of ``data_dir`` and ``db`` opened read-only; ConfigError when either is
    missing."""
    if not db.is_file():
        raise ConfigError(f"database {db} does not exist")
    plan = source.plan_run(data_dir, db)
    return plan, Database.open(db)


def _settings(
    values: dict[str, str] | None, db: Path, data_dir: Path
) -> tuple[RunSettings, list[str]]:
    """The run's settings; ConfigError when the database is not a finished migration."""
    if values is None:
        raise ConfigError(
            f"{db} was not written by asyncmig (it has no asyncmig_run table): there is no "
            "migration to verify it against"
        )
    status = values.get("status")
    if status != "complete":
        raise ConfigError(
            f"the migration into {db} did not complete (status {status!r}): finish it, or "
            "migrate again, before verifying"
        )
    try:
        migrated_at = int(values["migrated_at"])
    except (KeyError, ValueError):
        raise ConfigError(f"{db}: asyncmig_run records no valid migrated_at") from None
    notes = []
    flags = {}
    for name in ("strict", "include_orphans"):
        flags[name] = values.get(name) == "true"
        if name not in values:
            flag = "--" + name.replace("_", "-")
            notes.append(f"the database does not record {flag}: verified as run without it")
    recorded = values.get("data_dir")
    if recorded is not None and recorded != str(data_dir.resolve()):
        notes.append(f"the migration read {recorded}; verifying against {data_dir.resolve()}")
    return RunSettings(migrated_at, flags["strict"], flags["include_orphans"]), notes


async def _check_rows(
    files: tuple[SourceFile, ...], database: Database, result: Verification, workers: int
) -> None:
    """Parse every migrated file in parser processes; check its rows in plan order."""
    workers = max(1, min(workers, len(files)))
    settings = result.settings
    async with AsyncExitStack() as stack, anyio.create_task_group() as tasks:
        streams: list[MemoryObjectReceiveStream[Message]] = []
        for share in (files[k::workers] for k in range(workers if files else 0)):
            parser = await stack.enter_async_context(start_parser())
            send, receive = anyio.create_memory_object_stream[Message](_PREFETCH)
            jobs = [_job(item, settings) for item in share]
            tasks.start_soon(parser.send_all, jobs)
            tasks.start_soon(_pump, parser, jobs, send)
            streams.append(stack.enter_context(receive))
        for position, item in enumerate(files):
            await _check_file(item, streams[position % workers], database, result)


async def _check_file(
    item: SourceFile,
    stream: MemoryObjectReceiveStream[Message],
    database: Database,
    result: Verification,
) -> None:
    """Check one file's rows, unless the migration left them out as orphans."""
    assert item.entity is not None
    check = result.tables[item.entity.table]
    parent = item.entity.parent_table
    expected = True
    if parent is not None and not result.settings.include_orphans:
        expected = item.parent_id is not None and await anyio.to_thread.run_sync(
            database.expects, parent, str(item.parent_id)
        )
    async for message in stream:
        if isinstance(message, Rows) and expected:
            await anyio.to_thread.run_sync(database.check_rows, check, message.rows)
        elif isinstance(message, Failed):
            result.unreadable.append(f"{item.rel}: {message.message}")
        if isinstance(message, Done | Failed):
            return
    raise ParserCrashed(f"a parser process ended while reading {item.path}")


def _job(item: SourceFile, settings: RunSettings) -> Job:
    return Job(
        item.file_no,
        str(item.path),
        item.entity.table if item.entity else None,
        item.top_level,
        settings.strict,
        settings.migrated_at,
        _BATCH_ROWS,
        _BATCH_BYTES,
        item.parent_id,
    )


async def _pump(parser: Parser, jobs: list[Job], out: MemoryObjectSendStream[Message]) -> None:
    """Move one parser's messages, file after file, into its bounded stream."""
    async with out:
        remaining = len(jobs)
        while remaining:
            for message in await parser.receive(jobs[-remaining]):
                await out.send(message)
                remaining -= isinstance(message, Done | Failed)
