"""The disk a run needs, per file system, and the refusal when it is not free.

Measured here on generated roots (``benchmarks.generate``, shapes many and few, 2 MB to
1 GB, pretty-printed and compact JSON) with the load pragmas of
:mod:`asyncmig.targets.octoprompt`, sampling the files every 5 ms:

- the finished database is 1.02-1.17 times the JSON it holds, plus about 4 MB of pages
  every table and index takes however small (a 2 MB root makes a 6.5 MB database);
- its ``-wal`` peaks at 20-26 MiB whatever the root's size (7.9 MiB on 2 MB): SQLite
  checkpoints once the WAL passes ``wal_autocheckpoint`` pages (256 x 64 KiB = 16 MiB), at
  the end of the transaction that passed it, which holds up to a batch (``batch_bytes`` of
  JSON, a record more) in its pages;
- the backup is the data root's bytes, and the old database's when one is copied.

So the estimate is 1.25 x the JSON plus 4 MiB for the database, the autocheckpoint's
pages plus three batches for its WAL: above every measured peak by a margin, never far
above it. Index building sorts in SQLite's temporary folder, which is not counted.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Final

from asyncmig.errors import ConfigError, size_text
from asyncmig.results import DiskNeed
from asyncmig.storage import side_files
from asyncmig.targets.octoprompt import LOAD_PRAGMAS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from asyncmig.options import Options

#: The database holds its JSON in this many bytes at most (1.17 measured), ...
DB_PER_JSON_BYTE: Final = 1.25
#: ... plus the pages of every table and index, however empty.
DB_FLOOR: Final = 4 * 2**20
#: Batches a WAL holds beyond its autocheckpoint point (measured: up to 2.5).
WAL_BATCHES: Final = 3


def _pragma(name: str) -> int:
    """A number the load pragmas set (the WAL's bound follows them if they change)."""
    for statement in LOAD_PRAGMAS:
        key, _, value = statement.removeprefix("PRAGMA ").partition(" = ")
        if key == name:
            return int(value)
    raise AssertionError(f"the load pragmas do not set {name}")


def wal_peak(batch_bytes: int) -> int:
    """The most the database's ``-wal`` grows to during the load."""
    return _pragma("wal_autocheckpoint") * _pragma("page_size") + WAL_BATCHES * batch_bytes


def needs(
    options: Options, *, load_bytes: int, backup_bytes: int, convert: bool = False
) -> tuple[DiskNeed, ...]:
    """What a run loading ``load_bytes`` of JSON and backing up ``backup_bytes`` (the old
    database's copy included) needs, one entry per file system; ``convert``: the target's
    finishing steps write the rows again (into the file and its WAL, in one transaction)."""
    database = int(load_bytes * DB_PER_JSON_BYTE) + DB_FLOOR
    wal = wal_peak(options.batch_bytes)
    parts = [(options.db.parent, database, "the database"), (options.db.parent, wal, "its WAL")]
    if convert:
        parts.append((options.db.parent, 2 * database, "the conversion"))
    if backup_bytes:
        parts.append((options.backup_parent, backup_bytes, "the backup"))
    found: dict[int, tuple[Path, list[tuple[int, str]]]] = {}
    for folder, nbytes, what in parts:
        device = os.stat(existing(folder)).st_dev
        found.setdefault(device, (folder, []))[1].append((nbytes, what))
    return tuple(_need(folder, items) for folder, items in found.values())


def _need(folder: Path, items: list[tuple[int, str]]) -> DiskNeed:
    words = ", ".join(f"{what} {size_text(nbytes)}" for nbytes, what in items)
    return DiskNeed(str(folder), sum(nbytes for nbytes, _ in items), words)


def old_db_bytes(db: Path) -> int:
    """The database there now and the files SQLite keeps beside it (what its copy takes)."""
    return sum(path.stat().st_size for path in side_files(db) if path.exists())


def check(disk: Sequence[DiskNeed]) -> None:
    """Stop before anything is written when a file system lacks what the run needs.

    ``ASYNCMIG_FREE_BYTES`` replaces the measured free space (tests simulate a small disk
    with it; nothing else does)."""
    for need in disk:
        folder = existing(Path(need.folder))
        free = shutil.disk_usage(folder).free
        if "ASYNCMIG_FREE_BYTES" in os.environ:
            free = int(os.environ["ASYNCMIG_FREE_BYTES"])
        if free < need.nbytes:
            raise ConfigError(
                f"not enough free space on the file system of {need.folder}: {need.what} "
                f"need about {size_text(need.nbytes)}, {size_text(free)} is free. Free some "
                "space, put the backup elsewhere with --backup-dir, or skip it with --no-backup"
            )


def existing(folder: Path) -> Path:
    """``folder``, or its nearest ancestor that exists (where it will be made)."""
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder
