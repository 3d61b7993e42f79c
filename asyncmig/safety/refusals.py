"""Refusals before the run: everything that must stop a run before it writes anything.

A usable folder for the database, no other process holding it, no foreign data in it,
OctoPrompt data in the data root, a database SQLite finds sound before resuming into it,
outputs that can be written (free space: :mod:`asyncmig.safety.space`; another run:
:mod:`asyncmig.safety.lock`). Each raises ConfigError with the way out; none writes
anything.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING

from asyncmig.errors import ConfigError
from asyncmig.safety.space import existing
from asyncmig.source.plan import data_folders_below
from asyncmig.storage import open_readonly, probe_writable

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from pathlib import Path

    from asyncmig.source.plan import Plan


def prepare(db: Path) -> None:
    """Make sure a run can create ``db``, creating nothing: its folder exists, or the
    nearest one that does is a folder it may create it in, and it is writable."""
    folder = existing(db.parent)
    if not folder.is_dir():
        raise ConfigError(
            f"cannot create the folder for the database {db}: {folder} is not a folder"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(
            f"cannot write the database {db}: {folder} is not writable; pass --db a path in a "
            "folder you can write to, or give this user write access to that folder"
        )


def make_folder(db: Path) -> None:
    """Create the folder of ``db`` (every refusal has had its chance) and probe it."""
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create the folder for the database {db}: {error}") from None
    try:
        probe_writable(db.parent)
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


def refuse_foreign_data(db: Path, tables: Sequence[str], known: Collection[str]) -> None:
    """asyncmig does not append: refuse ``db`` when one of ``tables`` holds a row, or when
    it holds any table, view, trigger or index that is not in ``known`` (the target's and
    the ledger's) nor SQLite's own.

    An unknown object is refused even when it is empty: the server's own empty database
    has the target's tables and indexes only, so anything else means the file belongs to
    something else (another application, a later server version, a mistaken ``--db``);
    and a trigger or a UNIQUE index on a target table would change what the load writes."""
    if not db.exists():
        return
    try:
        with closing(open_readonly(db)) as conn:
            objects = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
            names = {name for _, name in objects}
            full = [
                table
                for table in tables
                if table in names and conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()  # noqa: S608
            ]
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{db} exists but is not a usable SQLite database: {error}") from None
    foreign = [
        f"{kind} {name}"
        for kind, name in objects
        if name not in known and not name.startswith("sqlite_")
    ]
    if full or foreign:
        what = f"table {full[0]} is not empty" if full else f"it has a {foreign[0]}"
        raise ConfigError(
            f"{db} already holds data not written by asyncmig ({what}): asyncmig does not "
            "append; pick another --db, or use --force to move it into a backup folder first"
        )


def refuse_no_data(plan: Plan, data_dir: Path) -> None:
    """Refuse a data root holding no file the plan would migrate (an empty folder, or one
    level too high), naming the folders below it that do hold OctoPrompt data."""
    if plan.migrated:
        return
    found = [data_dir / path.relative_to(plan.root) for path in data_folders_below(plan.root)]
    hint = (
        ": point --data-dir at the folder holding project_storage/, chat_storage/ and the "
        "rest (by default packages/server/data)"
    )
    if found:
        hint = "; OctoPrompt data is in " + " and in ".join(map(str, found))
        hint += f": run with --data-dir {found[0]}"
    raise ConfigError(f"{data_dir} holds no OctoPrompt data (no file to migrate){hint}")


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
