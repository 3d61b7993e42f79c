"""What reading one file produces, message by message: the reading stage's results.

A parser process answers each :class:`Job` with an :class:`Opened` (migrated files only),
then :class:`Rows`, :class:`Reject` and :class:`Notice` messages in file order, and one
:class:`Done` or :class:`Failed`. :mod:`asyncmig.ipc.wire` carries them across the process
boundary; nothing here knows about processes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import msgspec

from asyncmig.storage import path_text

if TYPE_CHECKING:
    from asyncmig.source.plan import SourceFile

Row = tuple[str, "bytes | memoryview", int | float, int | float]


class Job(msgspec.Struct, tag=True, frozen=True):
    """Read one file. ``table`` None means count its entries only (a file not migrated)."""

    file_no: int
    path: str
    table: str | None
    top_level: str = "object"
    strict: bool = False
    migrated_at: int = 0
    batch_rows: int = 10_000
    batch_bytes: int = 4 * 1024 * 1024
    #: For a container file, the parent id its folder names (to warn on records that differ).
    parent_id: int | None = None
    #: Entries an earlier run already committed: counted, not sent again (``--resume``).
    skip: int = 0
    #: The path's own bytes when its name is not UTF-8 (``path`` then shows it escaped:
    #: msgpack strings are UTF-8).
    path_bytes: bytes | None = None

    @property
    def fs_path(self) -> str:
        """The path to open: the file's own name, whatever its bytes."""
        return self.path if self.path_bytes is None else os.fsdecode(self.path_bytes)

    @classmethod
    def of(
        cls,
        item: SourceFile,
        *,
        strict: bool,
        migrated_at: int,
        batch_rows: int,
        batch_bytes: int,
        skip: int = 0,
    ) -> Job:
        """The job that reads the plan's file ``item`` with these settings."""
        text = path_text(item.path)
        return cls(
            item.file_no,
            text,
            item.entity.table if item.entity else None,
            item.top_level,
            strict,
            migrated_at,
            batch_rows,
            batch_bytes,
            item.parent_id,
            skip=skip,
            path_bytes=None if text == str(item.path) else os.fsencode(item.path),
        )


class Opened(msgspec.Struct, tag=True, frozen=True):
    """The first message of a migrated file: its fingerprint as the parser found it."""

    size: int
    mtime_ns: int
    #: xxh3-128 of the whole file, read before parsing it.
    digest: str


class Rows(msgspec.Struct, tag=True, frozen=True):
    """A batch of valid rows of one file; ``indexes`` are their positions in the file."""

    rows: list[Row]
    indexes: list[int]
    #: Positions in ``rows`` of the records a legacy upgrade made valid (what becomes of
    #: each row is the writer's to say, so it counts only the upgraded ones it migrated).
    upgraded: list[int]
    #: Entries of the file consumed up to and including this batch (rows and rejects).
    consumed: int
    nbytes: int
    #: Bytes into the file of the batch's last entry, where the reader knows it (else 0).
    position: int = 0


class Reject(msgspec.Struct, tag=True, frozen=True):
    """An entry that failed validation, with every error found."""

    index: int
    record_id: str | None
    errors: list[str]
    offset: int | None = None
    #: The entry's JSON text as read, on one line, secrets redacted (:mod:`asyncmig.source.redact`).
    original: bytes | None = None


class Notice(msgspec.Struct, tag=True, frozen=True):
    """A warning about one entry that does not stop it from migrating."""

    index: int
    message: str


class Done(msgspec.Struct, tag=True, frozen=True):
    """The end of one file: its entry count, and the damage that ended it early, if any."""

    found: int
    damage_offset: int | None = None
    damage_message: str | None = None
    #: The file's size or mtime differed after reading it from what ``Opened`` said.
    changed: bool = False


class Failed(msgspec.Struct, tag=True, frozen=True):
    """The parser process could not read the file at all (an OS error, not damage)."""

    message: str


Message = Opened | Rows | Reject | Notice | Done | Failed
