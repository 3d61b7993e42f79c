"""Reading a backup back: its manifest, every copy checked against it (and the database
copy with ``PRAGMA quick_check``) before anything is restored, nothing restored outside
the data directory; then the restore that ``rollback --restore`` runs."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from contextlib import closing
from pathlib import Path, PurePosixPath

import msgspec

from asyncmig.errors import ConfigError, MigrationError
from asyncmig.safety.backup import (
    DB_FOLDER,
    MANIFEST,
    MANIFEST_VERSION,
    Entry,
    Manifest,
    file_hash,
)
from asyncmig.storage import open_readonly, path_text


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the backup ``folder``; ConfigError when it has none or a broken one."""
    try:
        manifest = msgspec.json.decode((folder / MANIFEST).read_bytes(), type=Manifest)
    except (OSError, msgspec.DecodeError) as error:
        raise ConfigError(
            f"{folder} is not a complete asyncmig backup ({error}): pass --restore a "
            f"backup-<timestamp> folder, the one holding {MANIFEST}"
        ) from None
    if manifest.version != MANIFEST_VERSION:  # its fields may not mean what they say here
        raise ConfigError(
            f"{folder} was made by another asyncmig (manifest version {manifest.version}, "
            f"this one reads {MANIFEST_VERSION}), so nothing was done: roll back with the "
            "asyncmig that made it"
        )
    return manifest


def check_restorable(folder: Path, data_dir: Path) -> Manifest:
    """The manifest of ``folder`` once everything a restore would do is known to work:
    every file it lists lies inside the backup and would be copied to a place inside
    ``data_dir`` (symbolic links followed), matches its size and hash, and the database
    copy, if there is one, is a sound SQLite database. ConfigError naming the first that
    is not; nothing is written."""
    manifest = read_manifest(folder)
    if manifest.data_dir != path_text(data_dir.resolve()):
        raise ConfigError(
            f"{folder} is a backup of {manifest.data_dir}, not of {data_dir}, so nothing was "
            f"done: pass --data-dir {manifest.data_dir} (or copy its files by hand)"
        )
    for entry in manifest.files:
        source = inside(folder, _fs_path(entry), "the backup")
        inside(data_dir, _fs_path(entry), "the data directory")
        if not source.is_file() or file_hash(source) != (entry.size, entry.digest):
            raise ConfigError(
                f"the backup copy {source} is damaged or missing, so nothing was done: "
                "restore another backup, or copy what is sound back by hand"
            )
    if manifest.old_db is not None:
        _check_db_copy(inside(folder / DB_FOLDER, manifest.old_db, "the backup"))
    return manifest


def inside(root: Path, rel: str, what: str) -> Path:
    """``root / rel``, refused (ConfigError) unless ``rel`` is a relative path without
    ``..`` that stays inside ``root`` once symbolic links are followed."""
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ConfigError(
            f"the backup's manifest lists {rel!r}, which is not a path inside {what}: it was "
            "altered, so nothing was done; restore another backup"
        )
    joined = root / path
    try:
        escapes = not joined.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError) as error:  # a link loop, a NUL in the name
        raise ConfigError(
            f"cannot follow the backup's {rel!r} in {what} {root} ({error}), so nothing was "
            "done: restore by hand"
        ) from None
    if escapes:
        raise ConfigError(
            f"{joined} leads outside {what} {root} through a symbolic link, so nothing was "
            "done: remove that link, or restore by hand"
        )
    return joined


def _fs_path(entry: Entry) -> str:
    try:
        return entry.fs_path
    except ValueError:  # path_bytes that are not hex
        raise ConfigError(
            f"the backup's manifest lists {entry.path!r} with bytes {entry.path_bytes!r}, which "
            "are not a path: it was altered, so nothing was done; restore another backup"
        ) from None


def _check_db_copy(copy: Path) -> None:
    try:
        with closing(open_readonly(copy)) as conn:
            found = [row[0] for row in conn.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as error:
        found = [str(error)]
    if found != ["ok"]:
        raise ConfigError(
            f"the backup's database copy {copy} is damaged or missing ({'; '.join(found[:3])}), "
            "so nothing was done: restore another backup, or copy its files back by hand"
        )


def restore(folder: Path, data_dir: Path, manifest: Manifest) -> list[str]:
    """Copy the files of a backup :func:`check_restorable` passed back into ``data_dir``
    (modes kept), each copy checked against the manifest. Returns the paths restored."""
    done = []
    for entry in manifest.files:
        source = inside(folder, entry.fs_path, "the backup")
        dest = inside(data_dir, entry.fs_path, "the data directory")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
        os.chmod(dest, stat.S_IMODE(entry.mode) & 0o777)
        if file_hash(dest) != (entry.size, entry.digest):
            raise MigrationError(f"the restored copy {dest} differs from the backup's {source}")
        done.append(entry.path)
    return done


def put_back_db(folder: Path, manifest: Manifest, db: Path) -> None:
    """Copy the database the backup holds (``manifest.old_db``) to ``db``, owner-only."""
    assert manifest.old_db is not None
    shutil.copy2(inside(folder / DB_FOLDER, manifest.old_db, "the backup"), db)
    os.chmod(db, 0o600)
