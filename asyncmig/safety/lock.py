"""One run per database: a lock file beside it, taken before the checks and held to the end.

Two runs started at the same moment on one database both pass every check that looks at
the database (neither exists yet, or neither holds it open yet); the lock is what makes
the second one a refusal instead of a write failure. It is an ``flock`` on
``.<db name>.asyncmig-lock``, which the kernel drops when the process ends however it
ends, so a killed run never leaves a lock that blocks the next one. The file holds the
holder's process id, so the refusal can name it; it is removed when the run ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import TYPE_CHECKING, Final

from asyncmig.errors import ConfigError
from asyncmig.storage import lock_file

if TYPE_CHECKING:
    from pathlib import Path

_ATTEMPTS: Final = 5


class RunLock:
    """The lock a run holds on its database; :meth:`release` once the run is over."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Remove the lock file, then let go of it (a run waiting on the old file sees it
        was removed and takes a new one)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


def take(db: Path) -> RunLock:
    """The lock on ``db`` (its folder must exist); ConfigError while another run holds it."""
    path = lock_file(db)
    for _ in range(_ATTEMPTS):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise ConfigError(f"cannot create the lock file {path}: {error.strerror}") from None
        if not _locked(fd, fcntl.LOCK_EX):
            _refuse(db, fd)
        if _still_named(fd, path):  # not removed by a holder that let go meanwhile
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return RunLock(path, fd)
        os.close(fd)
    raise ConfigError(f"could not lock {path}: it keeps changing; is another run starting?")


def refuse_if_held(db: Path) -> None:
    """The check of :func:`take` without taking anything or creating a file (a dry run)."""
    try:
        fd = os.open(lock_file(db), os.O_RDONLY)
    except OSError:
        return  # no lock file: no run holds it
    if not _locked(fd, fcntl.LOCK_SH):
        _refuse(db, fd)  # closes it
    os.close(fd)  # lets go of the shared lock at once


def _locked(fd: int, kind: int) -> bool:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _refuse(db: Path, fd: int) -> None:
    """Another run holds the lock: close ``fd`` and say which process it is."""
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    finally:
        os.close(fd)
    who = f"process {text}" if text.isdigit() else "its process id is not written yet"
    raise ConfigError(
        f"{db} is in use by another asyncmig run ({who}): wait for it to end (or stop it) "
        "and run again"
    )


def _still_named(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)
