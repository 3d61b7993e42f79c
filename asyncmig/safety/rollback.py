"""``python -m asyncmig rollback``: the guide's rollback as a command. It deletes the
migrated database, its side files and the state file, and can restore a backup. Before it
asks, it checks everything it will do: the database and the state file are asyncmig's, and
the backup is whole and restores inside the data directory. Nothing is removed before that."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from asyncmig.errors import ConfigError
from asyncmig.safety import backup, lock
from asyncmig.safety import restore as restore_backup
from asyncmig.safety.places import refuse_odd_db
from asyncmig.safety.refusals import refuse_if_in_use
from asyncmig.storage import new_file, open_readonly, remove_database, side_files

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

_LEDGER = "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = 'asyncmig_run'"
#: More than any state file holds (it lists at most 50 problems).
_STATE_BYTES = 1 << 20


class _StateMark(msgspec.Struct):
    """The one field of the state file that says asyncmig wrote it."""

    tool: str | None = None


@dataclass(frozen=True)
class Planned:
    """What the rollback will do, checked: one line per step, and the backup to restore."""

    steps: list[str]
    manifest: backup.Manifest | None


def plan(db: Path, state_file: Path, restore: Path | None, data_dir: Path | None) -> Planned:
    """What the rollback will do; ConfigError when it cannot or must not (nothing written)."""
    if restore is not None and data_dir is None:
        raise ConfigError("--restore needs --data-dir: the folder to copy the backup into")
    if data_dir is not None and data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"--data-dir {data_dir} is not a folder: name the data directory")
    refuse_odd_db(db)  # a link would be deleted, not the database
    refuse_unless_ours(db)
    refuse_foreign_state(state_file)
    doomed = [p for p in (*side_files(db), *side_files(new_file(db)), state_file) if p.exists()]
    steps = [f"delete {p}" for p in doomed]
    manifest = None
    if restore is not None and data_dir is not None:
        manifest = restore_backup.check_restorable(restore, data_dir)
        steps.append(
            f"copy the {len(manifest.files)} file(s) of {restore} into {data_dir} "
            "(each checked against the backup)"
        )
        if manifest.old_db is not None:
            steps.append(f"put back the database the backup holds as {db}")
    if not steps:
        raise ConfigError(f"nothing to roll back: {db} does not exist and no --restore given")
    return Planned(steps, manifest)


def refuse_unless_ours(db: Path) -> None:
    """Refuse a database asyncmig did not write: one without its ``asyncmig_run`` ledger.

    A fresh run makes its database whole, ledger included, under a hidden name and renames
    it into place (:func:`hidden`), so a database at ``db`` without a ledger is never one
    asyncmig left half made. Read without leaving a file beside it."""
    if not db.exists():
        return
    try:
        with closing(open_readonly(db)) as conn:
            ours = conn.execute(_LEDGER).fetchone() is not None
    except sqlite3.DatabaseError as error:
        raise ConfigError(
            f"cannot read {db} as a SQLite database ({error}), so it is not one asyncmig "
            "wrote and rollback leaves it alone: check --db (delete it yourself if it must go)"
        ) from None
    if not ours:
        raise ConfigError(
            f"{db} was not written by asyncmig (it has no asyncmig_run table), so rollback "
            "leaves it alone: check --db (delete it yourself if it must go)"
        )


def refuse_foreign_state(path: Path) -> None:
    """Refuse to delete a state file asyncmig did not write (``"tool": "asyncmig"``)."""
    if not path.exists():
        return
    try:
        with path.open("rb") as stream:
            tool = msgspec.json.decode(stream.read(_STATE_BYTES), type=_StateMark).tool
    except (OSError, msgspec.DecodeError):
        tool = None
    if tool != "asyncmig":
        raise ConfigError(
            f"{path} is not an asyncmig state file, so rollback leaves it alone: check --state-file"
        )


def run(
    db: Path,
    state_file: Path,
    *,
    restore: Path | None,
    data_dir: Path | None,
    confirm: Callable[[list[str]], bool],
) -> list[str] | None:
    """Roll back once ``confirm`` agrees to the planned steps; None when it does not.

    The backup's files go back first, so a failure while copying leaves the database
    where it was (the backup is only read: the rollback can simply run again)."""
    planned = plan(db, state_file, restore, data_dir)
    held = lock.take(db) if db.parent.is_dir() else None  # no run may start meanwhile
    try:
        refuse_if_in_use(db)
        if not confirm(planned.steps):
            return None
        _carry_out(db, state_file, planned, restore, data_dir)
    finally:
        if held is not None:
            held.release()  # and its file: nothing of asyncmig's is left beside the database
    return planned.steps


def _carry_out(
    db: Path, state_file: Path, planned: Planned, restore: Path | None, data_dir: Path | None
) -> None:
    manifest = planned.manifest
    if manifest is not None and restore is not None and data_dir is not None:
        restore_backup.restore(restore, data_dir, manifest)
    remove_database(db)
    remove_database(new_file(db))
    state_file.unlink(missing_ok=True)
    if manifest is not None and restore is not None and manifest.old_db is not None:
        restore_backup.put_back_db(restore, manifest, db)
