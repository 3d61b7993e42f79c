"""What the parser processes and the main process say to each other, and how it is framed.

Every message is one msgpack-encoded tagged Struct behind a 4-byte big-endian length.
Rows travel as ``(id, data, created_at, updated_at)`` with ``data`` as the compact JSON
bytes msgspec produced: the writer binds them as they are (``CAST(? AS TEXT)``), so the
text is never decoded into Python strings on either side.
"""

from __future__ import annotations

import struct
from typing import Any, Final

import msgspec

LENGTH: Final = struct.Struct(">I")

Row = tuple[str, bytes, int | float, int | float]


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


class Rows(msgspec.Struct, tag=True, frozen=True):
    """A batch of valid rows of one file; ``indexes`` are their positions in the file."""

    rows: list[Row]
    indexes: list[int]
    upgraded: int
    #: Entries of the file consumed up to and including this batch (rows and rejects).
    consumed: int
    nbytes: int


class Reject(msgspec.Struct, tag=True, frozen=True):
    """An entry that failed validation, with every error found."""

    index: int
    record_id: str | None
    errors: list[str]
    offset: int | None = None


class Notice(msgspec.Struct, tag=True, frozen=True):
    """A warning about one entry that does not stop it from migrating."""

    index: int
    message: str


class Done(msgspec.Struct, tag=True, frozen=True):
    """The end of one file: its entry count, and the damage that ended it early, if any."""

    found: int
    damage_offset: int | None = None
    damage_message: str | None = None


class Failed(msgspec.Struct, tag=True, frozen=True):
    """The parser process could not read the file at all (an OS error, not damage)."""

    message: str


Message = Rows | Reject | Notice | Done | Failed

_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(Message)
_job_decoder: Final = msgspec.msgpack.Decoder(Job)


def frame(message: Any) -> bytes:
    """``message`` encoded behind its length."""
    payload = _encoder.encode(message)
    return LENGTH.pack(len(payload)) + payload


def frame_into(message: Any, buffer: bytearray) -> None:
    """Encode ``message`` behind its length into ``buffer``, reused from call to call so a
    batch is not copied once more to prepend four bytes."""
    _encoder.encode_into(message, buffer, LENGTH.size)
    LENGTH.pack_into(buffer, 0, len(buffer) - LENGTH.size)


def decode_message(payload: bytes | bytearray) -> Message:
    return _decoder.decode(payload)  # type: ignore[no-any-return]


def decode_job(payload: bytes) -> Job:
    return _job_decoder.decode(payload)
