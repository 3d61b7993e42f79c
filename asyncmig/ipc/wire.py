"""How the messages of :mod:`asyncmig.source.messages` cross the process boundary.

Every message is one msgpack-encoded tagged Struct behind a 4-byte big-endian length.
Rows are ``(id, data, created_at, updated_at)`` with ``data`` the compact JSON bytes
msgspec produced. A batch of rows travels as a :class:`RowsHead` (ids, lengths, times)
followed by the data of all its rows back to back: the parser hands the kernel each row's
bytes as they are (``os.writev``), and the main process binds slices of the one buffer it
read (``CAST(? AS TEXT)``), so the JSON text is neither copied into a message nor decoded
into Python strings on either side.
"""

from __future__ import annotations

import os
import struct
from typing import IO, TYPE_CHECKING, Any, Final

import msgspec

from asyncmig.source.messages import Done, Failed, Job, Notice, Opened, Reject, Row, Rows

if TYPE_CHECKING:
    from collections.abc import Callable

    from asyncmig.source.messages import Message

LENGTH: Final = struct.Struct(">I")
_IOV_MAX: Final = os.sysconf("SC_IOV_MAX")


class RowsHead(msgspec.Struct, tag=True, frozen=True):
    """How :class:`Rows` travel: each row without its data, and the data's length; the data
    of all rows follows the head, in row order."""

    heads: list[tuple[str, int, int | float, int | float]]
    indexes: list[int]
    upgraded: list[int]
    consumed: int
    nbytes: int
    position: int = 0


Wire = Opened | RowsHead | Reject | Notice | Done | Failed

_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(Wire)
_job_decoder: Final = msgspec.msgpack.Decoder(Job)


def frame(message: Any) -> bytes:
    """``message`` encoded behind its length."""
    payload = _encoder.encode(message)
    return LENGTH.pack(len(payload)) + payload


def write_message(message: Message, out: IO[bytes], buffer: bytearray) -> None:
    """Send ``message`` (rows as a head and their data); ``buffer`` is reused across calls."""
    if not isinstance(message, Rows):
        _frame_into(message, buffer)
        out.write(buffer)
        out.flush()
        return
    heads = [(row[0], len(row[1]), row[2], row[3]) for row in message.rows]
    head = RowsHead(
        heads,
        message.indexes,
        message.upgraded,
        message.consumed,
        message.nbytes,
        message.position,
    )
    _frame_into(head, buffer)
    out.write(buffer)
    out.flush()
    _write_all(out.fileno(), [row[1] for row in message.rows])


def _frame_into(message: Any, buffer: bytearray) -> None:
    _encoder.encode_into(message, buffer, LENGTH.size)
    LENGTH.pack_into(buffer, 0, len(buffer) - LENGTH.size)


def _write_all(fd: int, parts: list[Any]) -> None:
    """``os.writev`` every part, in slices the system accepts, resuming partial writes."""
    start = 0
    while start < len(parts):
        written = os.writev(fd, parts[start : start + _IOV_MAX])
        while written:
            size = len(parts[start])
            if written < size:
                parts[start] = memoryview(parts[start])[written:]
                break
            written -= size
            start += 1


def read_message(read_exactly: Callable[[int], bytearray | None]) -> Message | None:
    """The next message, with ``read_exactly(n)`` giving the next n bytes (None at the end
    of the stream). Rows arrive with their data as slices of one buffer."""
    header = read_exactly(LENGTH.size)
    if header is None:
        return None
    (length,) = LENGTH.unpack(header)
    payload = read_exactly(length)
    if payload is None:
        return None
    message = _decoder.decode(payload)
    if not isinstance(message, RowsHead):
        return message
    data = read_exactly(sum(head[1] for head in message.heads))
    if data is None:
        return None
    view = memoryview(data)
    rows: list[Row] = []
    offset = 0
    for row_id, size, created, updated in message.heads:
        rows.append((row_id, view[offset : offset + size], created, updated))
        offset += size
    return Rows(
        rows, message.indexes, message.upgraded, message.consumed, message.nbytes, message.position
    )


def decode_job(payload: bytes) -> Job:
    return _job_decoder.decode(payload)
