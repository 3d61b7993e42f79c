"""Where the database and the backups go, checked with the outputs before anything is written.

The database is replaced whole when it is made (a hidden file renamed over ``--db``) and
deleted by rollback, so ``--db`` must name the file itself: a symbolic link would be
replaced or deleted in place of the file it points to, and a device (``/dev/null``) or a
pipe would be replaced by a regular file. The backup folder's parent (``--backup-dir``)
must be a folder that is none of the run's files and holds none of them.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from asyncmig.errors import ConfigError
from asyncmig.safety.backup import MANIFEST
from asyncmig.storage import lock_file, new_file, path_text, side_files

if TYPE_CHECKING:
    from collections.abc import Sequence

    from asyncmig.options import Options

_KINDS = (
    (stat.S_ISFIFO, "a pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def refuse_odd_db(db: Path) -> None:
    """Refuse a ``--db`` that is a symbolic link, cannot be followed, or exists as anything
    but a regular file, or whose path is not UTF-8 (ConfigError naming the way out)."""
    refuse_not_utf8("--db", db)
    if os.path.islink(db):
        way_out = f"pass --db {os.path.realpath(db)} (the file itself)"
        try:
            os.stat(db)
        except OSError as error:
            if error.errno == errno.ELOOP:
                way_out = "pass --db a file"
        raise ConfigError(
            f"--db {db} is a symbolic link (to {os.readlink(db)}): asyncmig would replace or "
            f"delete the link, not the file; {way_out}"
        )
    try:
        found = os.stat(db)
    except (FileNotFoundError, NotADirectoryError):
        return  # a new database (a parent that is a file: refused with the folder)
    except OSError as error:
        raise ConfigError(
            f"--db {db} cannot be followed ({error.strerror}): pass --db a file in a folder"
        ) from None
    if stat.S_ISDIR(found.st_mode):
        example = db / "octoprompt.db"
        raise ConfigError(f"--db {db} is a folder: name a file in it, e.g. --db {example}")
    if not stat.S_ISREG(found.st_mode):
        kind = next((name for test, name in _KINDS if test(found.st_mode)), "not a regular file")
        raise ConfigError(f"--db {db} is {kind}, not a database file: pass --db a file")


def refuse_not_utf8(option: str, path: Path) -> None:
    """Refuse a path whose bytes are not UTF-8: the database records its own backup's path
    to resume a run killed while copying, in UTF-8 (a data root's name is only shown, so
    it may be anything, written ``\\xNN``)."""
    full = path.absolute()
    if path_text(full) != str(full):
        raise ConfigError(
            f"{option} {path_text(path)}: its path is not UTF-8, which the database cannot "
            f"record; pass {option} a path whose folders are named in UTF-8"
        )


def refuse_db_in_backup(db: Path) -> None:
    """Refuse a new database inside a backup folder (one holding a backup's manifest):
    rollback restores from there, and ``cp -r backup-*/*`` would copy the database too."""
    if (folder := backup_holding(db)) is not None:
        raise ConfigError(
            f"--db {db} is inside the backup folder {folder}, which rollback restores "
            "from: pass --db a file outside it"
        )


def backup_holding(path: Path) -> Path | None:
    """The backup folder (one holding a backup's manifest) ``path`` is or lies in."""
    real = Path(os.path.realpath(path))
    return next((f for f in (real, *real.parents) if (f / MANIFEST).is_file()), None)


def refuse_odd_backup_dir(options: Options, files: Sequence[tuple[str, Path]]) -> None:
    """Refuse a ``--backup-dir`` that is not a folder, cannot be made, or is (or lies
    inside) the database, a file SQLite or asyncmig keeps beside it, or one of ``files``
    (the outputs: what each is, and its path)."""
    folder = options.backup_dir
    if folder is None or not (options.backup or options.force):
        return  # the default, the database's folder, is checked with the database
    refuse_not_utf8("--backup-dir", folder)
    try:
        found = os.stat(folder)
    except (FileNotFoundError, NotADirectoryError):
        found = None
    except OSError as error:
        raise _refused(folder, f"it cannot be followed ({error.strerror})") from None
    if found is not None and not stat.S_ISDIR(found.st_mode):
        raise _refused(folder, "it is not a folder")
    real = Path(os.path.realpath(folder))
    db = options.db
    ours = [("the database", db), *(("a file kept beside the database", p) for p in _beside(db))]
    for what, path in [*ours, *files]:
        taken = Path(os.path.realpath(path))
        if taken == real:
            raise _refused(folder, f"it is {what} ({path})")
        if taken in real.parents:
            raise _refused(folder, f"it would lie inside {what} {path}")
    if (backup := backup_holding(real)) is not None:
        raise _refused(
            folder, f"it is inside the backup folder {backup}, which rollback restores from"
        )
    existing = real.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise _refused(folder, f"{existing} is not a folder")


def _beside(db: Path) -> list[Path]:
    """The files SQLite and a run keep beside ``db`` (not the database itself)."""
    return [*side_files(db)[1:], lock_file(db), *side_files(new_file(db))]


def _refused(folder: Path, why: str) -> ConfigError:
    return ConfigError(
        f"cannot put the backup in {folder} (--backup-dir): {why}; pass --backup-dir a folder"
    )


def holding(path: Path, inside: Sequence[tuple[str, Path]]) -> str | None:
    """Of ``inside`` (what each is, and its path), the first that lies inside ``path``
    (symlinks followed), said in words; None when none does."""
    real = Path(os.path.realpath(path))
    for what, other in inside:
        if real in Path(os.path.realpath(other)).parents:
            return f"{what} {other} goes inside it, as in a folder"
    return None
