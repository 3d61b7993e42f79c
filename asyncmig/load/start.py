"""Before the load: refuse what must be refused, work out what a resume keeps, back up,
open the writer, and write the ledger's settings and plan. Nothing is written until every
refusal has had its chance; what the start decided comes back as StartFacts."""

from __future__ import annotations

import os
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from asyncmig.errors import ConfigError
from asyncmig.load import ledger
from asyncmig.load.resume import (
    Resume,
    plan_resume,
    refuse_if_migrated,
    refuse_unless_resumable,
)
from asyncmig.load.writer import Writer
from asyncmig.results import FileOutcome, FileResult, StartFacts
from asyncmig.safety import backup, faults, refusals
from asyncmig.source.records import fingerprint
from asyncmig.storage import create_private, remove_database, side_files

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from asyncmig.options import Options
    from asyncmig.source.plan import Plan, SourceFile
    from asyncmig.targets import Target


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the checks before the run decided; nothing is open yet."""

    migrated_at: int
    #: A resume: what it keeps; None for a fresh run (or a dry run).
    resume: Resume | None = None
    found: ledger.Checkpoint | None = None
    #: The backup folder (made now for a fresh run; the interrupted run's on resume).
    folder: Path | None = None
    old_db: str | None = None
    warnings: tuple[str, ...] = ()


async def prepare(options: Options, plan: Plan, target: Target) -> Prepared:
    """Every refusal, then (fresh runs) the backup folder and the old database's copy."""
    if options.dry_run:
        return _dry_run(options, plan, target)
    db = options.db
    refusals.prepare(db)
    refusals.refuse_if_in_use(db)
    found = ledger.read(db)
    if options.resume:
        return await _prepare_resume(options, plan, refuse_unless_resumable(options, found))
    refuse_if_migrated(options, found)
    if not options.force:
        refusals.refuse_foreign_data(db, target.tables)
    folder = old_db = None
    if options.backup or (options.force and db.exists()):
        refusals.check_space(options, plan)
        folder = backup.folder_for(options.backup_parent)
    if folder is not None and db.exists():
        old_db = await anyio.to_thread.run_sync(backup.copy_db, db, folder)
        if options.force:
            remove_database(db)
    return Prepared(int(time.time() * 1000), folder=folder, old_db=old_db)


async def _prepare_resume(options: Options, plan: Plan, found: ledger.Checkpoint) -> Prepared:
    refusals.quick_check(options.db)
    kept = await anyio.to_thread.run_sync(
        plan_resume, found, plan.migrated, lambda path: fingerprint(path).digest
    )
    if _nothing_left(kept, plan, found) and found.run.status == "complete":
        raise ConfigError(
            f"nothing to resume: the migration in {options.db} is complete and no source "
            "file changed since"
        )
    folder = Path(found.run.backup) if found.run.backup else None
    assert found.run.migrated_at is not None
    return Prepared(found.run.migrated_at, kept, found, folder, found.run.old_db)


def _nothing_left(kept: Resume, plan: Plan, found: ledger.Checkpoint) -> bool:
    """The checkpoint says every file is done: only the finishing steps are left."""
    return (
        not kept.redone
        and kept.partial is None
        and len(kept.kept) == len(plan.migrated) == len(found.files)
    )


def _dry_run(options: Options, plan: Plan, target: Target) -> Prepared:
    """Nothing is written: say what a real run would refuse, or what a resume would keep."""
    warnings = []
    try:
        found = ledger.read(options.db)
        if options.resume:
            found = refuse_unless_resumable(options, found)
            kept = plan_resume(found, plan.migrated, lambda p: fingerprint(p).digest)
            warnings.append(
                f"a resume would keep {len(kept.kept)} finished file(s)"
                + (f" and continue {kept.partial[0].rel}" if kept.partial else "")
            )
            warnings.extend(kept.redone)
        else:
            refuse_if_migrated(options, found)
            if not options.force:
                refusals.refuse_foreign_data(options.db, target.tables)
    except ConfigError as error:
        warnings.append(f"a real run would stop here: {error}")
    return Prepared(int(time.time() * 1000), warnings=tuple(warnings))


@asynccontextmanager
async def writer_for(
    options: Options, plan: Plan, prepared: Prepared, target: Target
) -> AsyncIterator[Writer]:
    """The run's writer, open for the block and closed after it, however it ends. A fresh
    run's database is created first, whole. A dry run's writes go to a private temporary
    database that SQLite deletes on close, which keeps ids only: duplicates and orphans
    are found exactly as in a real run."""
    if options.dry_run:
        writer = Writer("", target, data_sql=Writer.IDS_ONLY_SQL)
    else:
        if prepared.resume is None:
            await _create(options, plan, prepared, target)
        writer = Writer(str(options.db), target, finishing=target.finishing())
    await writer.open([*target.schema(), *ledger.SCHEMA])
    try:
        yield writer
    finally:
        await writer.close()


async def _create(options: Options, plan: Plan, prepared: Prepared, target: Target) -> None:
    """Make the database with its schema, the ledger's settings and its plan under a hidden
    name, then rename it into place: a run killed at any moment leaves either no database
    or one whose ledger says what it holds (never an empty one a next run would take for
    a stranger's)."""
    db = options.db
    hidden = db.with_name(f".{db.name}.asyncmig-new")
    remove_database(hidden)  # a run killed here before
    create_private(hidden)
    writer = Writer(str(hidden), target)
    await writer.open([*target.schema(), *ledger.SCHEMA])
    try:
        await ledger.record_settings(
            writer,
            data_dir=str(options.data_dir.resolve()),
            migrated_at=prepared.migrated_at,
            status="backup" if options.backup else "loading",
            strict=options.strict,
            include_orphans=options.include_orphans,
            backup=str(prepared.folder or ""),
            old_db=prepared.old_db,
        )
        await ledger.plan_files(writer, plan.migrated)
        await writer.checkpoint()  # everything into the main file: its -wal stays behind
        faults.reached("create")
    finally:
        await writer.close()
    os.replace(hidden, db)
    remove_database(hidden)  # the -wal and -shm of the hidden name, if any are left


async def begin(options: Options, plan: Plan, prepared: Prepared, writer: Writer) -> StartFacts:
    """The ledger's settings and plan, and the backup of the data root; the start's facts."""
    if options.dry_run:
        return StartFacts(migrated_at=prepared.migrated_at, warnings=prepared.warnings)
    if prepared.resume is None:
        await _begin_fresh(options, plan, prepared, writer)
        return _facts(options, prepared)
    kept = prepared.resume
    found = prepared.found
    assert found is not None
    if found.run.status == "backup" and prepared.folder:  # killed while copying: copy again
        await _back_up_data(options, plan, writer, prepared.folder, prepared.old_db)
    if not _nothing_left(kept, plan, found):
        await ledger.plan_files(writer, plan.migrated[kept.drop_from :], drop_from=kept.drop_from)
        await ledger.record_settings(writer, status="loading")
    return _facts(options, prepared)


async def _begin_fresh(options: Options, plan: Plan, prepared: Prepared, writer: Writer) -> None:
    if options.backup and prepared.folder is not None:
        await _back_up_data(options, plan, writer, prepared.folder, prepared.old_db)


async def _back_up_data(
    options: Options, plan: Plan, writer: Writer, folder: Path, old_db: str | None
) -> None:
    skip = frozenset({folder, *side_files(options.db.resolve()), options.state_path})
    await anyio.to_thread.run_sync(
        lambda: backup.copy_data(plan.root, folder, db=options.db, skip=skip, old_db=old_db)
    )
    await ledger.record_settings(writer, status="loading")


def _facts(options: Options, prepared: Prepared) -> StartFacts:
    kept = prepared.resume.kept if prepared.resume else []
    folder = prepared.folder
    restore = None
    if folder is not None:
        restore = (
            f"python -m asyncmig rollback --db {options.db} --data-dir {options.data_dir} "
            f"--restore {folder}"
        )
    return StartFacts(
        migrated_at=prepared.migrated_at,
        resumed=prepared.resume is not None,
        kept=tuple(_kept_result(item, record) for item, record in kept),
        redone=tuple(prepared.resume.redone) if prepared.resume else (),
        backup=str(folder) if folder is not None else None,
        restore_command=restore,
    )


def _kept_result(item: SourceFile, record: ledger.FileRecord) -> FileResult:
    outcome = record.outcome or FileOutcome(item.rel, "migrated", item.table)
    return FileResult(outcome, record.counts)
