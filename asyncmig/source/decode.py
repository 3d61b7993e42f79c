"""One JSON file -> its top-level entries, with positions, or damage.

Two readers give the same entries in the same order (a seeded test cuts and corrupts
files at thousands of places and holds both to the spec's reading):

* files up to ``WHOLE_FILE_LIMIT`` are read whole and split by msgspec into raw entries
  in one call; every byte of the server's layout is accounted for, so a repeated key
  (which a dict would swallow) sends the file to the second reader;
* larger files, and any file the first reader does not accept, go through the windowed
  scanner of :mod:`asyncmig.source.scan`, which yields every entry complete before a fault.

Damage (empty, ``null``, wrong top-level type, truncated, invalid UTF-8, bad syntax) ends
the iteration with :class:`Damaged`. yajl (ijson's C parser, in :mod:`.damage`) names it:
its message and the exact byte it stops at, unless msgspec saw a fault earlier.
ijson does not supply the entries: measured, it was half as fast with 1.5x the memory
on big files, it holds an entry back until the next key is read (so damage in that key
loses a complete entry), and yajl reads vertical tab and form feed as blanks.
"""

from __future__ import annotations

import codecs
import io
import os
import re
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Final, cast

import msgspec

from asyncmig.source import awkward, damage, scan
from asyncmig.source.damage import backend_warning

TopLevel = scan.TopLevel

__all__ = ("Damaged", "Entry", "TopLevel", "backend_warning", "entries", "sniff_top_level")

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


#: Files up to this size are read whole (ASYNCMIG_WHOLE_FILE_LIMIT overrides, for tests).
WHOLE_FILE_LIMIT: Final = int(os.environ.get("ASYNCMIG_WHOLE_FILE_LIMIT", str(16 * 1024 * 1024)))
READ_SIZE: Final = scan.READ_SIZE

_OPENERS: Final = {"object": ord("{"), "array": ord("[")}
_WHITESPACE: Final = b" \t\r\n"
# What stands between two members of an object: the separator and the next key.
_MEMBER_GAP: Final = re.compile(
    rb'[ \t\r\n]*[{,][ \t\r\n]*"((?:[^"\\]|\\.)*)"[ \t\r\n]*:[ \t\r\n]*'
)
_MEMBER_LINE: Final = b'\n  "'
_RAW_CONTAINERS: Final = {"object": dict[str, msgspec.Raw], "array": list[msgspec.Raw]}


@dataclass(frozen=True, slots=True)
class Entry:
    """One top-level member (object) or item (array) of a file."""

    index: int
    key: str | None
    #: The raw JSON text as read (both readers give it); a value decoded elsewhere is taken too.
    value: msgspec.Raw | Any
    #: Byte offset of the value in the file, where the reader knows it.
    offset: int | None


class Damaged(Exception):
    """The file stops being valid JSON of the expected shape at ``offset``."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(f"byte {offset}: {message}")
        self.offset = offset
        self.message = message


def has_bom(path: Path) -> bool:
    """Whether ``path`` starts with a UTF-8 byte order mark (which Windows editors add;
    the server never wrote one, and reads past it: Node's ``fs.readFile`` keeps it, but
    the files users fix by hand, as the guide tells them, may have one)."""
    with path.open("rb") as stream:
        return stream.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8


def entries(path: Path, top_level: TopLevel) -> Iterator[Entry]:
    """Every complete top-level entry of ``path``, a byte order mark skipped (offsets
    still count from the file's first byte); raises Damaged after the last good one."""
    skip = len(codecs.BOM_UTF8) if has_bom(path) else 0
    if not skip:
        yield from _entries(path, top_level, 0)
        return
    try:
        for entry in _entries(path, top_level, skip):
            offset = None if entry.offset is None else entry.offset + skip
            yield Entry(entry.index, entry.key, entry.value, offset)
    except Damaged as damage:
        raise Damaged(damage.offset + skip, damage.message) from None


def _entries(path: Path, top_level: TopLevel, skip: int) -> Iterator[Entry]:
    size = path.stat().st_size - skip
    if size <= WHOLE_FILE_LIMIT:
        data = path.read_bytes()[skip:]
        _check_opening(data[:READ_SIZE], top_level, size)
        whole = _split_whole(data, top_level)
        if whole is not None:
            yield from whole
            return
        del whole
        with io.BytesIO(data) as buffer:
            yield from _scan_then_ijson(buffer, top_level, size)
        return
    with path.open("rb") as raw:
        # A file object in all but its type: RawIOBase is no IO[bytes] to mypy.
        stream = cast("IO[bytes]", _After(raw, skip)) if skip else raw
        _check_opening(stream.read(READ_SIZE), top_level, size)
        stream.seek(0)
        yield from _scan_then_ijson(stream, top_level, size)


class _After(io.RawIOBase):
    """A binary file read from byte ``start`` on, as if that were its beginning."""

    def __init__(self, stream: IO[bytes], start: int) -> None:
        super().__init__()
        self._stream, self._start = stream, start
        stream.seek(start)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            offset += self._start
        return self._stream.seek(offset, whence) - self._start

    def tell(self) -> int:
        return self._stream.tell() - self._start


def _scan_then_ijson(stream: IO[bytes], top_level: TopLevel, size: int) -> Iterator[Entry]:
    """The scanner's entries; at the first fault, ijson's account of the damage.

    Entries come from the scanner alone: it yields an entry as soon as its value is
    complete, where ijson holds an entry back until the next key is read (and loses it
    when the damage sits in that key), and it holds to strict JSON, where yajl also takes
    vertical tab and form feed for blanks. yajl then names the damage and its offset,
    unless msgspec saw the fault earlier than yajl does."""
    for index, key, raw, offset in _scanned(stream, top_level):
        yield Entry(index, key, raw, offset)


def _scanned(stream: IO[bytes], top_level: TopLevel) -> Iterator[scan.RawEntry]:
    try:
        yield from scan.raw_entries(stream, top_level)
    except scan.Anomaly as anomaly:
        stream.seek(0, io.SEEK_END)
        size = stream.tell()
        stream.seek(0)
        # yajl reads a lone low surrogate escape (valid JSON) as damage: not shown those.
        yajl = damage.name_damage(cast("IO[bytes]", awkward.Neutral(stream)), size)
        found = [d for d in (yajl, _known(anomaly)) if d is not None]
        # The earlier fault wins; on a tie, yajl's words (listed first) are kept.
        offset, message = min(found, key=lambda d: d[0]) if found else (size, anomaly.reason)
        raise Damaged(offset, message) from None


def _known(anomaly: scan.Anomaly) -> tuple[int, str] | None:
    return None if anomaly.offset is None else (anomaly.offset, anomaly.reason)


def sniff_top_level(path: Path) -> TopLevel | None:
    """Whether ``path`` holds an array or an object, by its first byte that is not blank."""
    try:
        with path.open("rb") as stream:
            head = stream.read(READ_SIZE).lstrip(_WHITESPACE)
    except OSError:
        return None
    return "array" if head[:1] == b"[" else "object" if head[:1] == b"{" else None


def _check_opening(head: bytes, top_level: TopLevel, size: int) -> None:
    stripped = head.lstrip(_WHITESPACE)
    if not stripped:
        if size > len(head):  # a megabyte of blanks, then something: let the parser judge
            return
        raise Damaged(size, "the file is empty" if size == 0 else "the file holds only blanks")
    if stripped[0] != _OPENERS[top_level]:
        found = _describe_value(stripped)
        raise Damaged(len(head) - len(stripped), f"expected a JSON {top_level}, found {found}")


def _describe_value(text: bytes) -> str:
    if text.startswith(b"null"):
        return "null"
    kinds = {ord("{"): "an object", ord("["): "an array", ord('"'): "a string"}
    return kinds.get(text[0], "a number or literal" if text[:1].isalnum() else "invalid text")


def _split_whole(data: bytes, top_level: TopLevel) -> list[Entry] | None:
    """Split a whole file with msgspec; None when the windowed scanner must decide."""
    if not scan.valid_utf8(data):
        return None
    try:
        container = msgspec.json.decode(data, type=_RAW_CONTAINERS[top_level])
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None  # a lone surrogate escape or deep nesting included: the scanner takes them
    if isinstance(container, list):
        return [Entry(index, None, raw, None) for index, raw in enumerate(container)]
    if _server_layout(data, container) or data.count(_MEMBER_LINE) == len(container):
        # Pretty-printed with two spaces, as the JSON-era server wrote: a raw newline exists
        # only between tokens, so this counts the members the text holds. As many as the
        # dict: no key repeated. (Offsets are then not known; that costs a regex a record.)
        return [Entry(i, key, raw, None) for i, (key, raw) in enumerate(container.items())]
    return _placed(data, container)


def _server_layout(data: bytes, members: dict[str, msgspec.Raw]) -> bool:
    """Whether ``data`` is exactly ``JSON.stringify(members, null, 2)``'s layout around
    these members, as the JSON-era server wrote every file. Then every byte is accounted
    for, so no member hides behind a repeated key (its text would be left over)."""
    if not members:
        return data.strip() == b"{}"
    # '{' '\n', per member: two spaces, the quoted key, ': ' and the value; ',\n' between
    # members; '\n' '}' at the end.
    expected = 4 + 2 * (len(members) - 1)
    for key, raw in members.items():
        expected += 6 + len(key) + len(raw)
    end = len(data)
    while end and data[end - 1] in _WHITESPACE:  # a trailing newline is harmless
        end -= 1
    return end == expected


def _placed(data: bytes, members: dict[str, msgspec.Raw]) -> list[Entry] | None:
    """The members with their offsets, or None when the text holds more members than the
    dict (a repeated key, which a dict swallows): each member must sit right after the
    previous one, under its own key."""
    found: list[Entry] = []
    cursor = 0
    for index, (key, raw) in enumerate(members.items()):
        match = _MEMBER_GAP.match(data, cursor)
        if match is None or (match[1] != key.encode() and _unescape(match[1]) != key):
            return None
        found.append(Entry(index, key, raw, match.end()))
        cursor = match.end() + len(raw)
    # Only the closing brace may follow: a repeated key whose values are the same length
    # would otherwise put the cursor on a later member and hide the one the dict swallowed.
    if data[cursor:].strip(_WHITESPACE) != b"}":
        return None
    return found


def _unescape(key: bytes) -> str | None:
    try:
        return str(msgspec.json.decode(b'"' + key + b'"'))
    except msgspec.DecodeError:
        return None
