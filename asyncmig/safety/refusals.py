"""Refusals before the run: everything that must stop a run before it writes anything.

A usable folder for the database, no other process holding it, no foreign data in it,
a database SQLite finds sound before resuming into it, enough free space, outputs that
can be written. Each raises ConfigError with the way out; none writes anything.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING

from asyncmig.errors import ConfigError
from asyncmig.storage import open_readonly, side_files

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from asyncmig.options import Options
    from asyncmig.source.plan import Plan


def prepare(db: Path) -> None:
    """Make sure a run can create ``db``: its folder exists and is writable."""
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create the folder for the database {db}: {error}") from None
    probe = db.parent / f".{db.name}.asyncmig-probe"
    try:
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"cannot write the database {db}: {error.strerror}") from None


def refuse_if_in_use(db: Path) -> None:
    """Refuse ``db`` while another process has it open (the OctoPrompt server, say).

    An exclusive lock in exclusive locking mode is refused while any other connection is
    open on a WAL database, even an idle one, because each holds a lock on its shared
    memory; nothing is changed by taking and releasing it."""
    if not db.exists():
        return
    try:
        conn = sqlite3.connect(db, timeout=0)
    except sqlite3.Error as error:
        raise ConfigError(f"cannot open {db}: {error}") from None
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.rollback()
    except sqlite3.OperationalError as error:
        raise ConfigError(
            f"{db} is in use by another process ({error}): stop the OctoPrompt server (the "
            "migration guide asks for it to be stopped) and run again"
        ) from None
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{db} exists but is not a usable SQLite database: {error}") from None
    finally:
        conn.close()


def refuse_foreign_data(db: Path, tables: Sequence[str]) -> None:
    """asyncmig does not append: refuse ``db`` when one of ``tables`` holds a row."""
    if not db.exists():
        return
    try:
        with closing(open_readonly(db)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            full = next(
                (
                    table
                    for table in tables
                    if table in names and conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()  # noqa: S608
                ),
                None,
            )
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{db} exists but is not a usable SQLite database: {error}") from None
    if full is not None:
        raise ConfigError(
            f"{db} already holds data not written by asyncmig (table {full} is not empty): "
            "asyncmig does not append; use --force to move it into a backup folder first"
        )


def quick_check(db: Path) -> None:
    """Refuse a database SQLite itself finds damaged before resuming into it: the load runs
    with ``synchronous=OFF``, which survives a killed process but not a power cut."""
    with closing(open_readonly(db)) as conn:
        result = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if result != ["ok"]:
        raise ConfigError(
            f"{db} is damaged ({'; '.join(result[:3])}), so it cannot be resumed: start "
            "over with --force (the damaged database is moved into the backup)"
        )


def check_space(options: Options, plan: Plan) -> None:
    """About twice the data: its copy, and the database (as big as the JSON it holds)."""
    old_db = sum(p.stat().st_size for p in side_files(options.db) if p.exists())
    backup_bytes = (plan.all_bytes if options.backup else 0) + old_db
    parent = options.backup_parent
    parent.mkdir(parents=True, exist_ok=True)
    if os.stat(parent).st_dev == os.stat(options.db.parent).st_dev:
        _check_free(parent, backup_bytes + plan.migrated_bytes, "the backup and database")
    else:
        _check_free(parent, backup_bytes, "the backup")
        _check_free(options.db.parent, plan.migrated_bytes, "the database")


def _check_free(folder: Path, needed: int, what: str) -> None:
    """Stop before anything is written when ``folder``'s file system lacks ``needed`` bytes.

    ``ASYNCMIG_FREE_BYTES`` replaces the measured free space (tests simulate a small disk
    with it; nothing else does)."""
    free = shutil.disk_usage(folder).free
    if "ASYNCMIG_FREE_BYTES" in os.environ:
        free = int(os.environ["ASYNCMIG_FREE_BYTES"])
    if free < needed:
        raise ConfigError(
            f"not enough free space on the file system of {folder}: {what} need about "
            f"{_size(needed)}, {_size(free)} is free. Free some space, put the backup "
            "elsewhere with --backup-dir, or skip it with --no-backup"
        )


def _size(nbytes: int) -> str:
    return f"{nbytes / 1e9:.2f} GB" if nbytes >= 10**8 else f"{nbytes / 1e6:.1f} MB"
