"""Split a big JSON file into raw top-level entries, a window at a time, with msgspec.

For files too big to read whole. msgspec finds where each entry ends (it parses the
entry's text as ``msgspec.Raw`` and reports the first byte after it), so an entry is
never built into Python objects here: a multi-megabyte ``content`` string stays bytes
until the fast path writes it back out. Memory is the window, which holds one entry and
one read. The first fault (damage of any kind) raises :class:`Anomaly` after the last
complete entry; the caller then asks yajl to name the damage.
"""

from __future__ import annotations

import codecs
import re
from typing import IO, TYPE_CHECKING, Final, Literal

import msgspec

from asyncmig.source import awkward

if TYPE_CHECKING:
    from collections.abc import Iterator

TopLevel = Literal["object", "array"]
#: (index, key or None, raw JSON text, byte offset in the file)
RawEntry = tuple[int, str | None, msgspec.Raw, int]

READ_SIZE: Final = 1024 * 1024
_UTF8_SLICE: Final = 16 * 1024
_WHITESPACE: Final = frozenset(b" \t\r\n")
_TRAILING: Final = re.compile(r"trailing characters \(byte (\d+)\)")
_AT_BYTE: Final = re.compile(r"\(byte (\d+)\)")
#: How near the window's end an error may sit and still be the window's cut, not damage.
_CUT_SLACK: Final = 16
_OPEN: Final = {"object": ord("{"), "array": ord("[")}
_CLOSE: Final = {"object": ord("}"), "array": ord("]")}
_COMMA: Final = ord(",")
_NUMBER_START: Final = frozenset(b"-0123456789")
#: A key as the server writes it: no escapes, no control characters.
_PLAIN_KEY: Final = re.compile(rb'[^\x00-\x1f"\\]*')
_QUOTE: Final = ord('"')
_COLON: Final = ord(":")
#: Values a flat scan can end (see :mod:`asyncmig.source.awkward`): strings and containers.
_FLAT_STARTS: Final = frozenset(b'"[{')


class Anomaly(Exception):
    """The text stops being complete, valid JSON of the expected shape.

    ``offset`` is the byte where msgspec or the scanner saw the fault, when it knows it
    (it does not for a file that ends too early, or for invalid UTF-8)."""

    def __init__(self, offset: int | None, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


def valid_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8. Slices that are plain ASCII (most of any source
    tree) are skipped; the others are decoded a slice at a time, because decoding all of
    it at once would build a string of up to four times its size."""
    if data.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), _UTF8_SLICE):
            piece = data[start : start + _UTF8_SLICE]
            if not piece.isascii() or decoder.getstate()[0]:
                decoder.decode(piece)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def raw_entries(stream: IO[bytes], top_level: TopLevel) -> Iterator[RawEntry]:
    """Every top-level entry of ``stream`` as raw JSON text, with its byte offset."""
    window = _Window(stream)
    window.expect(_OPEN[top_level])
    close = _CLOSE[top_level]
    if window.next_byte() == close:
        window.pos += 1
        window.expect_end()
        return
    index = 0
    while True:
        key = window.key() if top_level == "object" else None
        offset, raw = window.value()
        yield index, key, raw, offset  # complete, whatever follows it
        index += 1
        following = window.expect(_COMMA, close)
        if following == close:
            window.expect_end()
            return


class _Window:
    """A sliding buffer over the file: ``buffer[pos:]`` is what is not consumed yet."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.buffer = bytearray()
        self.pos = 0
        self.base = 0  # file offset of buffer[0]
        self.eof = False

    def fill(self) -> None:
        """Read more: at least a chunk, and as much as the window already holds, so one
        long entry costs a logarithmic number of re-scans, not a quadratic one."""
        if self.pos > len(self.buffer) // 2:
            del self.buffer[: self.pos]
            self.base += self.pos
            self.pos = 0
        chunk = self.stream.read(max(READ_SIZE, len(self.buffer) - self.pos))
        if not chunk:
            self.eof = True
        self.buffer += chunk

    def next_byte(self) -> int | None:
        """Skip blanks; the next byte, not consumed (None at the end of the file)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if self.eof:
                return None
            self.fill()

    def expect(self, *wanted: int) -> int:
        """Consume the next byte, which must be one of ``wanted``."""
        found = self.next_byte()
        if found not in wanted:
            names = " or ".join(repr(chr(w)) for w in wanted)
            seen = "the end of the file" if found is None else repr(chr(found))
            offset = None if found is None else self.base + self.pos
            raise Anomaly(offset, f"expected {names}, found {seen}")
        self.pos += 1
        return found

    def key(self) -> str:
        if self.next_byte() != _QUOTE:
            self.expect(_QUOTE)
        end = self.buffer.find(b'"', self.pos + 1)
        text = bytes(self.buffer[self.pos + 1 : end])
        if end > 0 and _PLAIN_KEY.fullmatch(text) and text.isascii():
            self.pos = end + 1  # the server's keys: digits; no escapes to undo
            key = text.decode()
        else:
            offset, raw = self.value()
            try:
                key = msgspec.json.decode(raw, type=str)
            except (msgspec.DecodeError, UnicodeDecodeError) as error:
                key = _awkward_key(raw, offset, error)
        self.expect(_COLON)
        return key

    def value(self) -> tuple[int, msgspec.Raw]:
        """The next value's file offset and raw text (its UTF-8 checked)."""
        if self.next_byte() is None:
            raise Anomaly(None, "the file ends where a value should start")
        while True:
            end = self._value_end()
            if end is not None:
                break
            self.fill()
        text = bytes(self.buffer[self.pos : end]).rstrip()
        if not valid_utf8(text):
            raise Anomaly(None, "invalid UTF-8")
        offset = self.base + self.pos
        self.pos = end
        return offset, msgspec.Raw(text)

    def _value_end(self) -> int | None:
        """Where the value at ``pos`` ends (the next non-blank byte after it), or None when
        the window does not hold all of it yet."""
        with memoryview(self.buffer) as view:
            try:
                msgspec.json.decode(view[self.pos :], type=msgspec.Raw)
            except RecursionError:  # nested deeper than msgspec goes: valid all the same
                return self._flat_end()
            except msgspec.DecodeError as error:
                message = str(error)
                if self._lone_surrogate(message):
                    return self._flat_end()
                found = _TRAILING.search(message)
                if found is not None:  # msgspec counts the byte after the offending one
                    return self.pos + int(found[1]) - 1
                at = _AT_BYTE.search(message)
                if self.eof:
                    offset = None if at is None else self.base + self.pos + int(at[1]) - 1
                    raise Anomaly(offset, message) from None
                # Cut by the window's end ("truncated", or a number like "1." reported as
                # invalid at the last byte): read more. Malformed well inside: damage.
                if at is not None and int(at[1]) < len(view) - self.pos - _CUT_SLACK:
                    raise Anomaly(self.base + self.pos + int(at[1]) - 1, message) from None
                return None
        # The value runs to the end of the window: all of it only if the file ends there,
        # and then a number may still have been cut (it could have had more digits).
        if not self.eof:
            return None
        if self.buffer[self.pos] in _NUMBER_START:
            raise Anomaly(None, "the file ends inside a number")
        return len(self.buffer)

    def _lone_surrogate(self, message: str) -> bool:
        """Whether msgspec's ``message`` may be about a lone surrogate escape (valid JSON,
        which JavaScript writes). It names the escape ("surrogate pair", "hex escape"),
        unless the escape is in the last few bytes it has: "truncated", which before the
        end of the file is the window's cut, read on."""
        named = "surrogate" in message or "escape" in message
        if not named and not (self.eof and "truncated" in message):
            return False
        return self.buffer[self.pos] in _FLAT_STARTS and awkward.has_surrogate_escape(
            self.buffer, self.pos
        )

    def _flat_end(self) -> int | None:
        """Where the string or container at ``pos`` ends, found without msgspec; None when
        the window does not hold all of it yet."""
        end = awkward.value_end(self.buffer, self.pos)
        if end is None:
            if self.eof:
                raise Anomaly(None, "the file ends inside a value")
            return None
        objection = awkward.problem(bytes(self.buffer[self.pos : end]))
        if objection is not None:
            raise Anomaly(None, objection)
        return end

    def expect_end(self) -> None:
        """Only blanks may follow the closing bracket."""
        if self.next_byte() is not None:
            raise Anomaly(self.base + self.pos, "text after the end of the JSON document")


def _awkward_key(raw: msgspec.Raw, offset: int, error: Exception) -> str:
    """A member name msgspec refused: one holding a lone surrogate (kept as its escape)."""
    try:
        return awkward.text_of(bytes(raw))
    except ValueError:
        raise Anomaly(offset, f"invalid member name: {error}") from None
