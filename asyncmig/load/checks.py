"""The checks before a run, the dry run's as much as a real run's: every refusal, what a
resume keeps, the space the run needs. They only read; :mod:`asyncmig.load.start` runs
them (under the run's lock) and then writes."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import anyio

from asyncmig.errors import ConfigError
from asyncmig.load import ledger
from asyncmig.load.ledger.resume import (
    Resume,
    plan_resume,
    refuse_if_migrated,
    refuse_unless_resumable,
)
from asyncmig.safety import refusals, space
from asyncmig.source.records import fingerprint

if TYPE_CHECKING:
    from asyncmig.options import Options
    from asyncmig.results import DiskNeed
    from asyncmig.safety import lock
    from asyncmig.source.plan import Plan
    from asyncmig.targets import Target

_CREATED: Final = re.compile(r"CREATE (?:UNIQUE )?(?:TABLE|INDEX) (?:IF NOT EXISTS )?`?(\w+)")


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the checks before the run decided; nothing is open yet but the run's lock."""

    migrated_at: int
    #: A resume: what it keeps; None for a fresh run (or a dry run).
    resume: Resume | None = None
    found: ledger.Checkpoint | None = None
    #: The backup folder (made now for a fresh run; the interrupted run's on resume).
    folder: Path | None = None
    old_db: str | None = None
    warnings: tuple[str, ...] = ()
    #: The space the run needs, per file system.
    disk: tuple[DiskNeed, ...] = ()
    #: Held from before the checks to the end of the run (None: a dry run takes none).
    held: lock.RunLock | None = None


async def checked(options: Options, plan: Plan, target: Target) -> Prepared:
    """Every refusal a run makes, in the order a user would want to hear them; reads only."""
    db = options.db
    refusals.refuse_if_in_use(db)
    found = ledger.read(db)
    if options.resume:
        found = refuse_unless_resumable(options, found)
        _refuse_other_target(options, found, target)
        return await _resume(options, plan, found, target)
    refuse_if_migrated(options, found)
    if not options.force:
        refusals.refuse_foreign_data(db, target.user_tables(), known_objects(target))
    refusals.refuse_no_data(plan, options.data_dir)
    copied = space.old_db_bytes(db) if _copies_db(options) else 0
    disk = space.needs(
        options,
        load_bytes=plan.migrated_bytes,
        backup_bytes=(plan.all_bytes if options.backup else 0) + copied,
        convert=target.converts,
    )
    space.check(disk)
    return Prepared(int(time.time() * 1000), disk=disk)


def _refuse_other_target(options: Options, found: ledger.Checkpoint, target: Target) -> None:
    """A resume writes the target the database records (older ones: OctoPrompt v0.6.0)."""
    recorded = found.run.target or "octoprompt-0.6"
    if recorded != target.name:
        raise ConfigError(
            f"{options.db} holds a migration into {recorded}, not {target.name}: resume it "
            f"with --target {recorded} (or without --target), or start over with --force"
        )


def known_objects(target: Target) -> frozenset[str]:
    """The tables and indexes the target and the ledger make: what a database may hold."""
    statements = [*target.definitions(), *ledger.SCHEMA]
    made = frozenset(name for text in statements for name in _CREATED.findall(text))
    return made | target.also_known


def _copies_db(options: Options) -> bool:
    """A database there now is copied into the backup (and with --force moved out)."""
    return options.db.exists() and (options.backup or options.force)


async def _resume(
    options: Options, plan: Plan, found: ledger.Checkpoint, target: Target
) -> Prepared:
    refusals.refuse_no_data(plan, options.data_dir)
    refusals.quick_check(options.db)
    kept = await anyio.to_thread.run_sync(
        plan_resume, found, plan.migrated, lambda path: fingerprint(path).digest
    )
    if found.run.converted and not nothing_left(kept, plan, found):
        raise ConfigError(
            f"the migration into {options.db} was already converted into the target's tables,"
            " and source files changed since: start over with --force to migrate them again"
        )
    if nothing_left(kept, plan, found) and found.run.status == "complete":
        raise ConfigError(
            f"nothing to resume: the migration in {options.db} is complete and no source "
            "file changed since"
        )
    folder = Path(found.run.backup) if found.run.backup else None
    again = plan.all_bytes if found.run.status == "backup" and folder else 0
    kept_bytes = sum(item.size for item, _ in kept.kept)
    disk = space.needs(
        options,
        load_bytes=plan.migrated_bytes - kept_bytes,
        backup_bytes=again,
        convert=target.converts and not found.run.converted,
    )
    space.check(disk)
    assert found.run.migrated_at is not None
    return Prepared(found.run.migrated_at, kept, found, folder, found.run.old_db, disk=disk)


def as_dry_run(checked: Prepared) -> Prepared:
    """Nothing is written: what a resume would keep becomes words, the rest is dropped."""
    warnings = []
    kept = checked.resume
    if kept is not None:
        warnings.append(
            f"a resume would keep {len(kept.kept)} finished file(s)"
            + (f" and continue {kept.partial[0].rel}" if kept.partial else "")
        )
        warnings.extend(kept.redone)
    return Prepared(checked.migrated_at, warnings=tuple(warnings), disk=checked.disk)


def nothing_left(kept: Resume, plan: Plan, found: ledger.Checkpoint) -> bool:
    """The checkpoint says every file is done: only the finishing steps are left."""
    return (
        not kept.redone
        and kept.partial is None
        and len(kept.kept) == len(plan.migrated) == len(found.files)
    )
