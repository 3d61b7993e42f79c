"""``python -m asyncmig rollback``: the guide's rollback as a command. It deletes the
migrated database, its side files and the state file, and can restore a backup; it says
what it will do and asks first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from asyncmig.errors import ConfigError
from asyncmig.safety import backup
from asyncmig.safety.refusals import refuse_if_in_use
from asyncmig.storage import remove_database, side_files

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def plan(db: Path, state_file: Path, restore: Path | None, data_dir: Path | None) -> list[str]:
    """What the rollback will do, one line each; ConfigError when it cannot."""
    if restore is not None and data_dir is None:
        raise ConfigError("--restore needs --data-dir: the folder to copy the backup into")
    doomed = [p for p in (*side_files(db), state_file) if p.exists()]
    lines = [f"delete {p}" for p in doomed]
    if restore is not None:
        manifest = backup.read_manifest(restore)
        lines.append(f"copy the {len(manifest.files)} file(s) of {restore} into {data_dir}")
        if manifest.old_db is not None:
            lines.append(f"put back the database the backup holds as {db}")
    if not lines:
        raise ConfigError(f"nothing to roll back: {db} does not exist and no --restore given")
    return lines


def run(
    db: Path,
    state_file: Path,
    *,
    restore: Path | None,
    data_dir: Path | None,
    confirm: Callable[[list[str]], bool],
) -> list[str] | None:
    """Roll back once ``confirm`` agrees to the planned steps; None when it does not."""
    steps = plan(db, state_file, restore, data_dir)
    refuse_if_in_use(db)
    if not confirm(steps):
        return None
    remove_database(db)
    state_file.unlink(missing_ok=True)
    if restore is not None and data_dir is not None:
        backup.restore(restore, data_dir, db)
    return steps
