"""Small file and SQLite helpers every stage may use: the one atomic write, the one
read-only open, and the files SQLite keeps beside a database. Imports nothing of asyncmig."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import tempfile
from pathlib import Path


def path_text(path: str | os.PathLike[str]) -> str:
    """``path`` as text any output can hold: itself when its name is UTF-8, else with each
    byte that is not written ``\\xNN`` (the ledger, the report and the backup manifest
    are UTF-8; Python keeps such bytes as lone surrogates, which UTF-8 cannot write)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def write_atomically(path: Path, data: bytes, *, mode: int = 0o600, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` whole or not at all: a reader never sees half of it.

    The data goes to a temporary file in the same folder (created ``mode``), which is then
    renamed over ``path`` in one step; on any failure the temporary file is removed and
    ``path`` is left as it was. ``durable`` also flushes it to the disk before the rename,
    for a file written once at the end (the JSON report); the state file (rewritten every
    few seconds) and the backup manifest (whose copies are not flushed either) are not.
    A symlink is written through: the file it points to is replaced (the temporary file
    goes beside that file) and the link stays. Anything but a regular file (a folder, a
    device, a pipe) is refused with OSError, never replaced."""
    _refuse_non_regular(path)
    target = Path(os.path.realpath(path))
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _refuse_non_regular(path: Path) -> None:
    try:
        found = os.stat(path)  # through any symlink: what would be replaced
    except FileNotFoundError:
        return
    if not stat.S_ISREG(found.st_mode):
        raise OSError(errno.EINVAL, "not a regular file, so it is not replaced", str(path))


def open_readonly(db: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """``db`` opened read-only so that closing it leaves its folder as it was; sqlite3's
    errors as they are, for the caller to word.

    An ordinary read-only connection to a WAL database creates a ``-shm`` (and a ``-wal``)
    beside it and, unable to checkpoint, leaves them there; deleting them afterwards could
    pull the ``-shm`` from under another process that opened the database meanwhile. So:

    - No ``-shm``: no other connection shares the database's WAL index (every WAL
      connection keeps it there, but an exclusive one, which asyncmig never uses). The
      ``unix-none`` VFS takes no file locks, and exclusive locking mode, set before the
      first read, keeps the WAL index in this connection's memory: nothing is created,
      and whatever a ``-wal`` holds is still read. ``immutable=1`` would also create
      nothing, but it ignores the ``-wal``.
    - A ``-shm``: another process may be using it, so share it the ordinary read-only way
      (it already has its side files; SQLite adds none but a missing ``-wal``).
    - Neither a ``-shm`` nor a ``-wal``, in a folder this process cannot write (a read-only
      mount, another user's folder): SQLite cannot open a WAL database there at all (it
      must make a ``-wal`` first), so it is opened ``immutable=1``, which ignores only a
      ``-wal``, and there is none.

    Like any reader, it expects the server to be stopped: a process that starts writing
    while it reads (without a ``-shm``) can make it see a mix of old and new pages."""
    uri = db.resolve().as_uri()
    if db.with_name(db.name + "-shm").exists():
        return sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=check_same_thread)
    if not db.with_name(db.name + "-wal").exists() and not os.access(
        db.resolve().parent, os.W_OK | os.X_OK
    ):
        uri += "?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, check_same_thread=check_same_thread)
    try:
        conn = sqlite3.connect(
            f"{uri}?mode=ro&vfs=unix-none", uri=True, check_same_thread=check_same_thread
        )
    except sqlite3.OperationalError:  # no unix-none VFS (not a unix build)
        return sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=check_same_thread)
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    return conn


def side_files(db: Path) -> tuple[Path, ...]:
    """The database file and the files SQLite keeps beside it."""
    return (db, *(db.with_name(db.name + end) for end in ("-wal", "-shm", "-journal")))


def remove_database(db: Path) -> None:
    """Delete ``db`` and the files SQLite keeps beside it."""
    for path in side_files(db):
        path.unlink(missing_ok=True)


def create_private(db: Path) -> None:
    """Create ``db`` readable by its owner only (it will hold API keys); SQLite gives its
    -wal and -shm files the database file's mode."""
    fd = os.open(db, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    for path in side_files(db):
        if path.exists():
            os.chmod(path, 0o600)


def lock_file(db: Path) -> Path:
    """The file a run holds locked beside ``db`` from its first check to its end."""
    return db.with_name(f".{db.name}.asyncmig-lock")


def new_file(db: Path) -> Path:
    """The hidden name a new database is made under before it is renamed to ``db``."""
    return db.with_name(f".{db.name}.asyncmig-new")


def probe_writable(folder: Path) -> None:
    """Create and remove a file in ``folder`` (OSError when that cannot be done). The name
    is unique, so two runs probing one folder at the same moment do not trip each other."""
    fd, name = tempfile.mkstemp(prefix=".asyncmig-probe-", dir=folder)
    os.close(fd)
    os.unlink(name)
