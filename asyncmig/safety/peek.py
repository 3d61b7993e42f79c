"""Reading a database without leaving a file beside it: what verify and rollback use to look."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def open_untouched(db: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """``db`` opened read-only so that closing it leaves its folder as it was.

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

    Like any reader, it expects the server to be stopped: a process that starts writing
    while it reads (without a ``-shm``) can make it see a mix of old and new pages.
    sqlite3's errors are raised as they are, for the caller to word."""
    uri = db.resolve().as_uri()
    if db.with_name(db.name + "-shm").exists():
        return sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=check_same_thread)
    try:
        conn = sqlite3.connect(
            f"{uri}?mode=ro&vfs=unix-none", uri=True, check_same_thread=check_same_thread
        )
    except sqlite3.OperationalError:  # no unix-none VFS (not a unix build)
        return sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=check_same_thread)
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    return conn
