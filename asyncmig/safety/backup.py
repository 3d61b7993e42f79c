"""The backup before a run: the data root copied and verified, an existing target database
copied with SQLite's online backup API; and the restore that ``rollback`` runs.

A backup folder holds the data root's files as they are (so the guide's
``cp -r data/backup-<timestamp>/* packages/server/data/`` restores them) plus two hidden
entries that command leaves alone: ``.asyncmig-manifest.json`` (every file's size, mode and
xxh3-128 hash) and ``.asyncmig-db/`` (the target database as it was, when there was one).
Folders are created 0700: the data holds API keys in plain text.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import time
from typing import TYPE_CHECKING, Final

import msgspec
import xxhash

from asyncmig.errors import ConfigError, MigrationError, WriteFailed, describe_os_error
from asyncmig.safety import faults
from asyncmig.source import walk
from asyncmig.storage import open_readonly, path_text, write_atomically

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

MANIFEST: Final = ".asyncmig-manifest.json"
DB_FOLDER: Final = ".asyncmig-db"
_READ: Final = 1 << 20


class Entry(msgspec.Struct, frozen=True, omit_defaults=True):
    """One file of the backup."""

    #: Relative to the data root; a name that is not UTF-8 shown escaped (``\\xNN``).
    path: str
    size: int
    mode: int
    digest: str
    #: The path's own bytes (hex) when its name is not UTF-8 (the manifest is UTF-8).
    path_bytes: str | None = None

    @property
    def fs_path(self) -> str:
        """The path as the file system names it (what a restore copies)."""
        return self.path if self.path_bytes is None else os.fsdecode(bytes.fromhex(self.path_bytes))


#: The manifest's format; a rollback refuses one it does not know.
MANIFEST_VERSION: Final = 1


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """What a backup holds, to verify it and to restore it."""

    version: int = MANIFEST_VERSION
    data_dir: str
    db: str
    created: str
    files: list[Entry]
    #: The target database's name in ``.asyncmig-db/``, when there was one to keep.
    old_db: str | None = None


def folder_for(parent: Path) -> Path:
    """A new ``backup-<timestamp>`` folder under ``parent`` (0700; ``parent`` is made
    first when it does not exist)."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create the backup folder's parent {parent}: {error}") from None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        folder = parent / (f"backup-{stamp}" if not attempt else f"backup-{stamp}-{attempt}")
        try:
            folder.mkdir(mode=0o700, parents=False)
        except FileExistsError:
            continue
        except OSError as error:
            doing = f"cannot create the backup folder {folder}"
            way_out = "; choose another folder with --backup-dir (or skip it with --no-backup)"
            raise ConfigError(describe_os_error(error, doing) + way_out) from None
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
        return folder
    raise ConfigError(f"cannot find a free backup folder name under {parent}")


def copy_db(db: Path, folder: Path) -> str:
    """Copy the database ``db`` into the backup with SQLite's online backup API."""
    copy = folder / DB_FOLDER / db.name
    try:
        (folder / DB_FOLDER).mkdir(mode=0o700, exist_ok=True)
        os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    except OSError as error:
        raise _failed(error, db, copy) from error
    source = open_readonly(db)
    dest = sqlite3.connect(copy)
    try:
        source.backup(dest)
    except sqlite3.Error as error:
        raise MigrationError(f"could not back up the database {db}: {error}") from error
    finally:
        dest.close()
        source.close()
    return db.name


def copy_data(
    root: Path,
    folder: Path,
    *,
    db: Path,
    skip: frozenset[Path],
    old_db: str | None,
    copied: Callable[[int], object] = lambda size: None,
) -> Manifest:
    """Copy every file under ``root`` (but ``skip``) into ``folder``, modes and times kept,
    and check each copy's size and hash against its source; ``copied`` hears each file's
    size once its copy is checked (progress, called from this thread)."""
    _clear(folder)
    entries = []
    for path in _files(root, skip | {folder}):
        rel = path.relative_to(root)
        dest = folder / rel
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest, follow_symlinks=True)
            entries.append(_verified(path, dest, rel.as_posix()))
        except OSError as error:
            raise _failed(error, path, dest) from error
        copied(entries[-1].size)
        faults.reached("backup-file")
    manifest = Manifest(
        data_dir=path_text(root),
        db=path_text(db),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        files=entries,
        old_db=old_db,
    )
    write_atomically(folder / MANIFEST, msgspec.json.format(msgspec.json.encode(manifest)))
    return manifest


def _failed(error: OSError, path: Path, dest: Path) -> WriteFailed:
    """A file that could not be copied, worded with the way out."""
    text = describe_os_error(error, f"could not back up {path} to {dest}", path=dest)
    if isinstance(error, PermissionError):
        text += "; give this user access to it (the backup copies every file of the data root)"
    return WriteFailed(text)


def _verified(source: Path, copy: Path, rel: str) -> Entry:
    mode = stat.S_IMODE(source.stat().st_mode)
    size, digest = file_hash(source)
    if (size, digest) != file_hash(copy):
        raise MigrationError(f"the backup copy of {source} differs from it: {copy}")
    text = path_text(rel)
    raw = None if text == rel else os.fsencode(rel).hex()
    return Entry(text, size, mode, digest, raw)


def file_hash(path: Path) -> tuple[int, str]:
    digest = xxhash.xxh3_128()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_READ):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _files(root: Path, skip: frozenset[Path]) -> Iterator[Path]:
    """Regular files under ``root``, our own backups and ``skip`` left out. Links are
    followed as the plan follows them (the copy holds their content, not the link), a
    link to a folder it lies in is not (its content is copied once, from the folder)."""
    walked = walk.walk(root, skip=lambda folder: folder in skip or (folder / MANIFEST).exists())
    if walked.unreadable:
        path, why = walked.unreadable[0]
        raise WriteFailed(
            f"could not back up {path_text(path)}: {why}; give this user access to it (the "
            "backup copies every file of the data root)"
        )
    for path in walked.files:
        if path not in skip and path.is_file():
            yield path


def _clear(folder: Path) -> None:
    """Empty a backup folder an interrupted run left half written (its database copy stays)."""
    for child in folder.iterdir():
        if child.name == DB_FOLDER:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
