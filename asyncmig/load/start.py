"""Before the load: refuse what must be refused, back up, open the target, and work out
what a resume keeps. Nothing is written until every refusal has had its chance."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from asyncmig.safety import backup
from asyncmig.load import ledger as checkpoint
from asyncmig.targets import octoprompt as target
from asyncmig.load.ledger import Checkpoint, Resume
from asyncmig.errors import ConfigError
from asyncmig.source.records import fingerprint
from asyncmig.load.writer import DryRunWriter, Writer

if TYPE_CHECKING:
    from asyncmig.options import Options
    from asyncmig.output.report import Report
    from asyncmig.source.plan import Plan


@dataclass(slots=True)
class Start:
    """An open writer, the migration time rows are stamped with, and what to skip."""

    writer: Writer
    migrated_at: int
    resume: Resume = field(default_factory=Resume)
    #: The checkpoint says every file is done: only the finishing steps are left.
    loaded: bool = False


async def open_target(options: Options, plan: Plan, report: Report) -> Start:
    """Check the target, back up, and open the writer the load will use."""
    opened: list[Writer] = []
    try:
        return await _open_target(options, plan, report, opened)
    except BaseException:
        for writer in opened:  # its thread would keep the process alive
            await writer.close()
        raise


async def _open_target(options: Options, plan: Plan, report: Report, opened: list[Writer]) -> Start:
    if options.dry_run:
        return await _dry_run(options, plan, report)
    target.prepare(options.db)
    target.refuse_if_in_use(options.db)
    found = checkpoint.read(options.db)
    if options.resume:
        return await _resume(options, plan, report, _resumable(options, found), opened)
    _refuse_existing(options, found)
    return await _fresh(options, plan, report, opened)


def _resumable(options: Options, found: Checkpoint | None) -> Checkpoint:
    db = options.db
    if found is None:
        state = "does not exist" if not db.exists() else "holds no asyncmig migration"
        raise ConfigError(f"nothing to resume: {db} {state}; run without --resume to migrate")
    recorded = found.run.get("data_dir")
    if recorded != str(options.data_dir.resolve()):
        raise ConfigError(
            f"{db} holds a migration of {recorded}, not of {options.data_dir.resolve()}: "
            f"resume it with --data-dir {recorded}, or start over with --force"
        )
    for name in ("strict", "include_orphans"):
        if found.run.get(name, "false") != str(getattr(options, name)).lower():
            flag = "--" + name.replace("_", "-")
            was = "with" if found.run.get(name) == "true" else "without"
            raise ConfigError(f"the interrupted migration ran {was} {flag}: resume it the same way")
    return found


def _refuse_existing(options: Options, found: Checkpoint | None) -> None:
    """A database holding a migration or data is only replaced on --force."""
    if options.force:
        return
    db = options.db
    if found is not None and found.status != "complete":
        raise ConfigError(
            f"{db} holds an incomplete migration ({found.done_files} of {len(found.files)} "
            "files done): run again with --resume to finish it, or with --force to move it "
            "into a backup folder and start over"
        )
    if found is not None:
        raise ConfigError(
            f"{db} already holds a completed migration of {found.run.get('data_dir')}: use "
            "--resume to bring it up to date with changed files, or --force to move it into a "
            "backup folder and migrate again"
        )
    if table := target.table_with_data(db):
        raise ConfigError(
            f"{db} already holds data not written by asyncmig (table {table} is not empty): "
            "asyncmig does not append; use --force to move it into a backup folder first"
        )


async def _fresh(options: Options, plan: Plan, report: Report, opened: list[Writer]) -> Start:
    migrated_at = int(time.time() * 1000)
    db = options.db
    folder = None
    if options.backup or (options.force and db.exists()):
        _check_space(options, plan)
        folder = backup.folder_for(options.backup_parent)
    old_db = None
    if folder is not None and db.exists():
        old_db = await anyio.to_thread.run_sync(backup.copy_db, db, folder)
        if options.force:
            target.remove(db)
    target.create_private(db)
    writer = await _open_writer(options)
    opened.append(writer)
    await writer.set_run(
        {
            "data_dir": str(options.data_dir.resolve()),
            "migrated_at": str(migrated_at),
            "status": "backup" if options.backup else "loading",
            "strict": str(options.strict).lower(),
            "include_orphans": str(options.include_orphans).lower(),
            "backup": str(folder or ""),
            "old_db": old_db or "",
        }
    )
    await writer.plan_files(plan.migrated)
    if options.backup and folder is not None:
        await _back_up_data(options, plan, writer, folder, old_db)
    _name_backup(report, options, folder)
    return Start(writer, migrated_at)


async def _back_up_data(
    options: Options, plan: Plan, writer: Writer, folder: Path, old_db: str | None
) -> None:
    skip = frozenset({folder, *target.side_files(options.db.resolve()), options.state_path})
    await anyio.to_thread.run_sync(
        lambda: backup.copy_data(plan.root, folder, db=options.db, skip=skip, old_db=old_db)
    )
    await writer.set_run({"status": "loading"})


async def _resume(
    options: Options, plan: Plan, report: Report, found: Checkpoint, opened: list[Writer]
) -> Start:
    checkpoint.quick_check(options.db)
    resume = await anyio.to_thread.run_sync(
        checkpoint.plan_resume, found, plan.migrated, lambda path: fingerprint(path).digest
    )
    loaded = (
        not resume.redone
        and resume.partial is None
        and len(resume.kept) == len(plan.migrated) == len(found.files)
    )
    if loaded and found.status == "complete":
        raise ConfigError(
            f"nothing to resume: the migration in {options.db} is complete and no source "
            "file changed since"
        )
    writer = await _open_writer(options)
    opened.append(writer)
    folder_name = found.run.get("backup") or None
    if found.status == "backup" and folder_name:  # killed while copying: copy again
        folder = Path(folder_name)
        await _back_up_data(options, plan, writer, folder, found.run.get("old_db") or None)
    if not loaded:
        await writer.plan_files(plan.migrated[resume.drop_from :], drop_from=resume.drop_from)
        await writer.set_run({"status": "loading"})
    report.resumed = True
    report.kept_files = len(resume.kept)
    report.redone = resume.redone
    _name_backup(report, options, Path(folder_name) if folder_name else None)
    return Start(writer, int(found.run["migrated_at"]), resume, loaded)


async def _dry_run(options: Options, plan: Plan, report: Report) -> Start:
    """Nothing is written: say what a real run would refuse, or what a resume would keep."""
    try:
        found = checkpoint.read(options.db)
        if options.resume:
            found = _resumable(options, found)
            resume = checkpoint.plan_resume(found, plan.migrated, lambda p: fingerprint(p).digest)
            report.warnings.append(
                f"a resume would keep {len(resume.kept)} finished file(s)"
                + (f" and continue {resume.partial[0].rel}" if resume.partial else "")
            )
            report.warnings.extend(resume.redone)
        else:
            _refuse_existing(options, found)
    except ConfigError as error:
        report.warnings.append(f"a real run would stop here: {error}")
    writer = DryRunWriter(batch_rows=options.batch_size, batch_bytes=options.batch_bytes)
    await writer.open()
    return Start(writer, int(time.time() * 1000))


async def _open_writer(options: Options) -> Writer:
    writer = Writer(str(options.db), batch_rows=options.batch_size, batch_bytes=options.batch_bytes)
    await writer.open()
    return writer


def _name_backup(report: Report, options: Options, folder: Path | None) -> None:
    if folder is None:
        return
    report.backup = str(folder)
    report.restore_command = (
        f"python -m asyncmig rollback --db {options.db} --data-dir {options.data_dir} "
        f"--restore {folder}"
    )


def _check_space(options: Options, plan: Plan) -> None:
    """About twice the data: its copy, and the database (as big as the JSON it holds)."""
    old_db = sum(p.stat().st_size for p in target.side_files(options.db) if p.exists())
    backup_bytes = (plan.all_bytes if options.backup else 0) + old_db
    parent = options.backup_parent
    parent.mkdir(parents=True, exist_ok=True)
    if os.stat(parent).st_dev == os.stat(options.db.parent).st_dev:
        backup.check_space(parent, backup_bytes + plan.migrated_bytes, "the backup and database")
    else:
        backup.check_space(parent, backup_bytes, "the backup")
        backup.check_space(options.db.parent, plan.migrated_bytes, "the database")
