"""Before the load: refuse what must be refused, work out what a resume keeps, back up,
open the writer, and write the ledger's settings and plan. Nothing is written until every
refusal has had its chance (a dry run runs every one of them too, and writes nothing);
from the checks to the end of the run a lock keeps a second run off the database. What
the start decided comes back as StartFacts."""

from __future__ import annotations

import contextlib
import json
import os
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

import anyio

from asyncmig.errors import ConfigError
from asyncmig.load import checks, ledger
from asyncmig.load.checks import Prepared
from asyncmig.load.ledger.resume import earlier_runs, set_aside_rejects
from asyncmig.load.writer import Writer
from asyncmig.results import FileOutcome, FileResult, StartFacts
from asyncmig.safety import backup, faults, lock, outputs, refusals
from asyncmig.storage import (
    create_private,
    lock_file,
    new_file,
    path_text,
    remove_database,
    side_files,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from asyncmig.options import Options
    from asyncmig.output.progress import Phases
    from asyncmig.source.plan import Plan, SourceFile
    from asyncmig.targets import Target

#: Prepared is named here too: the pipeline knows the start, not its checks.
__all__ = ("Prepared", "begin", "prepare", "writer_for")


async def prepare(options: Options, plan: Plan, target: Target) -> Prepared:
    """Every refusal, then (fresh runs) the backup folder and the old database's copy. A
    dry run runs the same refusals and stops there."""
    db = options.db
    refusals.prepare(db)
    if options.dry_run:
        dry = checks.as_dry_run(await _checked_unlocked(options, plan, target))
        outputs.prepare(outputs.of(options))  # a rejects file it was given
        return dry
    if not db.parent.exists():  # refuse before making the folder: nothing there to hold
        await _checked_unlocked(options, plan, target)
    refusals.make_folder(db)
    outputs.prepare(outputs.of(options))
    held = lock.take(db)
    try:
        checked = replace(await checks.checked(options, plan, target), held=held)
        return checked if options.resume else await _set_aside(options, checked)
    except BaseException:
        held.release()
        raise


async def _checked_unlocked(options: Options, plan: Plan, target: Target) -> Prepared:
    """The checks without taking the lock (a dry run; before the folder exists). A run
    that holds the lock, or takes it meanwhile, is what a refusal names: its database is
    locked because that run has it."""
    lock.refuse_if_held(options.db)
    try:
        return await checks.checked(options, plan, target)
    except ConfigError:
        lock.refuse_if_held(options.db)
        raise


async def _set_aside(options: Options, checked: Prepared) -> Prepared:
    """A fresh run: the backup folder, the old database copied into it (--force: out)."""
    db = options.db
    folder = old_db = None
    if options.backup or (options.force and db.exists()):
        folder = backup.folder_for(options.backup_parent)
    if folder is not None and db.exists():
        old_db = await anyio.to_thread.run_sync(backup.copy_db, db, folder)
        if options.force:
            remove_database(db)
    return replace(checked, folder=folder, old_db=old_db)


@asynccontextmanager
async def writer_for(
    options: Options, plan: Plan, prepared: Prepared, target: Target
) -> AsyncIterator[Writer]:
    """The run's writer, open for the block and closed after it, however it ends; the run's
    lock is let go of after it. A fresh run's database is created first, whole. A dry
    run's writes go to a private temporary database that SQLite deletes on close, which
    keeps ids and a digest of each record: duplicates, re-keys and orphans are found
    exactly as in a real run."""
    try:
        if options.dry_run:
            writer = Writer("", target, digests=True)
        else:
            if prepared.resume is None:
                await _create(options, plan, prepared, target)
            writer = Writer(str(options.db), target, finishing=target.finishing())
        await writer.open([*target.schema(), *ledger.SCHEMA])
        try:
            yield writer
        finally:
            await writer.close()
    finally:
        if prepared.held is not None:
            prepared.held.release()


async def _create(options: Options, plan: Plan, prepared: Prepared, target: Target) -> None:
    """Make the database with its schema, the ledger's settings and its plan under a hidden
    name, then rename it into place: a run killed at any moment leaves either no database
    or one whose ledger says what it holds (never an empty one a next run would take for
    a stranger's)."""
    db = options.db
    hidden = new_file(db)
    remove_database(hidden)  # a run killed here before
    create_private(hidden)
    writer = Writer(str(hidden), target)
    try:
        await writer.open([*target.schema(), *ledger.SCHEMA])
        await ledger.record_settings(
            writer,
            data_dir=path_text(options.data_dir.resolve()),
            migrated_at=prepared.migrated_at,
            status="backup" if options.backup else "loading",
            strict=options.strict,
            include_orphans=options.include_orphans,
            backup=str(prepared.folder or ""),
            old_db=prepared.old_db,
            rejects=json.dumps(_with_this_run([], options)),
            target=target.name,
        )
        await ledger.plan_files(writer, plan.migrated)
        await writer.checkpoint()  # everything into the main file: its -wal stays behind
        faults.reached("create")
    except BaseException:
        await writer.close()
        remove_database(hidden)  # a full disk, say: nothing half made is left behind
        if prepared.folder is not None:
            with contextlib.suppress(OSError):  # nor the backup folder, while it is empty
                prepared.folder.rmdir()
        raise
    await writer.close()
    os.replace(hidden, db)
    remove_database(hidden)  # the -wal and -shm of the hidden name, if any are left


def _with_this_run(earlier: list[str], options: Options) -> list[str]:
    """The ledger's list of rejects files, this run's added (an absolute path: a resume
    may run from another folder)."""
    return [*earlier, str(options.rejects.absolute())] if options.rejects else earlier


async def begin(
    options: Options, plan: Plan, prepared: Prepared, writer: Writer, phases: Phases
) -> StartFacts:
    """The ledger's settings and plan, and the backup of the data root (``phases`` hears
    how far it is); the start's facts."""
    if options.dry_run:
        return StartFacts(
            migrated_at=prepared.migrated_at, warnings=prepared.warnings, disk=prepared.disk
        )
    if prepared.resume is None:
        if options.backup and prepared.folder is not None:
            await _back_up_data(options, plan, writer, prepared, phases)
        return _facts(options, prepared)
    kept = prepared.resume
    found = prepared.found
    assert found is not None
    if found.run.status == "backup" and prepared.folder:  # killed while copying: copy again
        await _back_up_data(options, plan, writer, prepared, phases)
    earlier = set_aside_rejects(found, options.rejects)
    await ledger.record_settings(writer, rejects=json.dumps(_with_this_run(earlier, options)))
    if not checks.nothing_left(kept, plan, found):
        await ledger.plan_files(writer, plan.migrated[kept.drop_from :], drop_from=kept.drop_from)
        await ledger.record_settings(writer, status="loading")
    return _facts(options, prepared, earlier)


async def _back_up_data(
    options: Options, plan: Plan, writer: Writer, prepared: Prepared, phases: Phases
) -> None:
    folder = prepared.folder
    assert folder is not None
    db = options.db.resolve()
    ours = {*side_files(db), lock_file(db), *side_files(new_file(db)), options.state_path}
    skip = frozenset({folder, *ours})
    phases.phase("backup", plan.all_bytes, "bytes")

    def copied(nbytes: int) -> None:
        phases.step(nbytes)
        # Ctrl-C stops the copy between two files, not after the last (a GB takes seconds):
        # the ledger still says "backup", so a resume copies again.
        anyio.from_thread.check_cancelled()

    await anyio.to_thread.run_sync(
        lambda: backup.copy_data(
            plan.root, folder, db=options.db, skip=skip, old_db=prepared.old_db, copied=copied
        )
    )
    await ledger.record_settings(writer, status="loading")


def _facts(options: Options, prepared: Prepared, rejects: Sequence[str] = ()) -> StartFacts:
    """What the start decided; ``rejects``: the earlier runs' rejects files (a resume)."""
    kept = prepared.resume.kept if prepared.resume else []
    folder = prepared.folder
    restore = moved = None
    if folder is not None:
        restore = options.rollback_command(folder)
        if prepared.old_db is not None:
            moved = str(folder / backup.DB_FOLDER / prepared.old_db)
    return StartFacts(
        migrated_at=prepared.migrated_at,
        resumed=prepared.resume is not None,
        kept=tuple(_kept_result(item, record) for item, record in kept),
        redone=tuple(prepared.resume.redone) if prepared.resume else (),
        backup=str(folder) if folder is not None else None,
        restore_command=restore,
        moved_db=moved,
        earlier=earlier_runs(prepared.resume, prepared.found, rejects),
        disk=prepared.disk,
    )


def _kept_result(item: SourceFile, record: ledger.FileRecord) -> FileResult:
    outcome = record.outcome or FileOutcome(item.rel, "migrated", item.table)
    return FileResult(outcome, record.counts)
