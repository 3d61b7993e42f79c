"""Valid JSON that msgspec will not take as it is: lone surrogate escapes and deep nesting.

JavaScript's ``JSON.stringify`` writes a lone UTF-16 surrogate as the escape ``\\ud800``;
msgspec (rightly, for UTF-8) refuses it, and it recurses, so it stops at about a thousand
levels. Both are rare, so nothing here runs unless msgspec has refused a text first:

* :func:`value_end` finds where a value ends with a flat scan of strings and brackets,
  and :func:`problem` checks the value with yajl, which does not recurse, on a copy whose
  surrogate escapes are neutralised (same length, so the offsets hold);
* :func:`unpaired` decodes a record holding lone surrogates with Python's own parser and
  stands each one in for a private-use character no string of that record holds, which
  :class:`Marks` turns back into the escape once the record is encoded;
* :func:`prune` replaces every value nested deeper than SQLite's JSON parser accepts
  (:func:`sqlite_depth_limit`, measured on the library in use) by a marker string, so
  the rest of a record still decodes; a record whose kept data holds a marker cannot be
  stored, and is rejected with that reason.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import sqlite3
import sys
from typing import IO, TYPE_CHECKING, Any, Final

import ijson

if TYPE_CHECKING:
    from collections.abc import Iterator

#: A surrogate escape (a false hit after an escaped backslash only costs a slower path).
SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
_NEUTRAL: Final = rb"\\u0\g<1>"
_SURROGATE_HEX: Final = re.compile(rb"\\u[dD]([89a-fA-F])")
_LONE: Final = re.compile("[\ud800-\udfff]")
_PRIVATE: Final = re.compile("[\U000f0000-\U0010ffff]")
#: A string (its closing quote captured, empty when the text ends inside it) or a bracket.
_TOKEN: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*("?)|[\[\]{}]')
_OPENERS: Final = frozenset(b"[{")
#: Where the markers for lone surrogates are taken from: blocks of 2,048 private-use
#: characters in planes 15 and 16, the first one that no string of the record uses.
_MARK_BLOCKS: Final = tuple(range(0xF0000, 0x10F800, 0x800))
#: The marker standing in for a value nested too deep (unguessable: no record holds it).
TOO_DEEP: Final = f"\x00asyncmig-too-deep-{os.urandom(8).hex()}"  # secrets costs 6 ms of import
_TOO_DEEP_JSON: Final = json.dumps(TOO_DEEP).encode()
TOO_DEEP_FOUND: Final = TOO_DEEP[1:].encode()
#: The deepest nesting measured for (beyond it, no SQLite is assumed to go).
_DEPTH_CEILING: Final = 1 << 14


def has_surrogate_escape(text: Any, pos: int = 0) -> bool:
    """Whether ``text`` (any bytes-like object) may hold a surrogate escape after ``pos``."""
    return SURROGATE_ESCAPE.search(text, pos) is not None


def neutralised(text: bytes) -> bytes:
    """``text`` with every surrogate escape made an ordinary one of the same length."""
    return _SURROGATE_HEX.sub(_NEUTRAL, text)


class Neutral:
    """A binary stream read with its surrogate escapes neutralised (for yajl, which takes
    a lone low surrogate for damage): the last bytes of each read wait for the next, so
    an escape cut by a read is seen whole."""

    _HELD: Final = 3  # an escape is 4 bytes: its backslash may be in the last 3

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._held = b""

    def read(self, size: int = -1) -> bytes:
        data = self._held
        while True:
            more = self._stream.read(size)
            data += more
            if not more or size < 0:  # the end: nothing is held back
                self._held = b""
                return neutralised(data)
            if len(data) > self._HELD:
                break
        data = neutralised(data)
        self._held = data[-self._HELD :]
        return data[: -self._HELD]

    def seek(self, offset: int, whence: int = 0) -> int:
        self._held = b""
        return self._stream.seek(offset, whence)


def value_end(buffer: Any, pos: int) -> int | None:
    """The index just after the string, array or object starting at ``buffer[pos]``; None
    when ``buffer`` ends inside it (or the value is a number or literal: not for us)."""
    depth = 0
    for token in _TOKEN.finditer(buffer, pos):
        if token.start() == pos or depth:
            first = buffer[token.start()]
            if first == ord('"'):
                if not token[1] or token.end() - token.start() < 2:
                    return None  # the buffer ends inside the string
                if not depth:
                    return token.end()
                continue
            depth += 1 if first in _OPENERS else -1
            if not depth:
                return token.end()
            continue
        return None  # a number or literal, or blanks first: msgspec's case
    return None


def problem(text: bytes) -> str | None:
    """yajl's objection to ``text`` as one JSON value, or None when it is valid."""
    try:
        for _ in ijson.basic_parse(io.BytesIO(neutralised(text)), use_float=True):
            pass
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError) as error:
        return str(error).split("\n", 1)[0] or type(error).__name__
    return None


def text_of(raw: bytes) -> str:
    """A JSON string's text, a lone surrogate written as its escape (``\\ud800``)."""
    value = json.loads(raw)
    if not isinstance(value, str):
        raise ValueError("not a JSON string")
    return _LONE.sub(_escape, value)


def _escape(found: re.Match[str]) -> str:
    return f"\\u{ord(found[0]):04x}"


class Marks:
    """Stand-ins for lone surrogates: character ``base + n`` is surrogate ``0xD800 + n``."""

    def __init__(self, base: int) -> None:
        self.base = base
        # A block's characters share their first two UTF-8 bytes and the top bit of the third.
        low = chr(base).encode()
        self._pattern = re.compile(
            re.escape(low[:2])
            + bytes((ord("["), low[2], ord("-"), low[2] | 0x1F, ord("]")))
            + b"[\x80-\xbf]"
        )

    def to_mark(self, found: re.Match[str]) -> str:
        return chr(self.base + ord(found[0]) - 0xD800)

    def data(self, data: bytes) -> bytes:
        """Encoded JSON with each marker written back as its escape."""
        return self._pattern.sub(self._from_mark, data)

    def _from_mark(self, found: re.Match[bytes]) -> bytes:
        return f"\\u{0xD800 + ord(found[0].decode()) - self.base:04x}".encode()

    def text(self, text: str) -> str:
        """Words (an id, an error) with each marker written as the escape, as text."""
        end = self.base + 0x800
        return "".join(
            f"\\u{0xD800 + ord(c) - self.base:04x}" if self.base <= ord(c) < end else c
            for c in text
        )


def unpaired(raw: bytes) -> tuple[Any, Marks]:
    """``raw`` decoded by Python's parser (which keeps lone surrogates), each lone
    surrogate replaced by its marker; the marks to undo that once the record is encoded."""
    value = json.loads(raw)
    used = {ord(c[0]) >> 11 for s in _strings(value) for c in _PRIVATE.findall(s)}
    base = next(b for b in _MARK_BLOCKS if b >> 11 not in used)  # 16 blocks x 2048 chars
    marks = Marks(base)
    return _remarked(value, marks), marks


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _remarked(value: Any, marks: Marks) -> Any:
    if isinstance(value, str):
        return _LONE.sub(marks.to_mark, value)
    if isinstance(value, dict):
        return {_LONE.sub(marks.to_mark, k): _remarked(v, marks) for k, v in value.items()}
    if isinstance(value, list):
        return [_remarked(v, marks) for v in value]
    return value


def prune(raw: bytes, limit: int) -> tuple[bytes, int]:
    """``raw`` with every array or object that opens below nesting level ``limit`` replaced
    by :data:`TOO_DEEP`, and the deepest level ``raw`` reaches."""
    pieces: list[bytes] = []
    depth = deepest = 0
    cut_from: int | None = None
    copied = 0
    for token in _TOKEN.finditer(raw):
        first = raw[token.start()]
        if first == ord('"'):
            continue
        depth += 1 if first in _OPENERS else -1
        deepest = max(deepest, depth)
        if first in _OPENERS and depth == limit + 1 and cut_from is None:
            cut_from = token.start()
        elif first not in _OPENERS and depth == limit and cut_from is not None:
            pieces += (raw[copied:cut_from], _TOO_DEEP_JSON)
            copied, cut_from = token.end(), None
    pieces.append(raw[copied:])
    return b"".join(pieces), deepest


def depth(raw: bytes) -> int:
    """The deepest nesting level of the JSON text ``raw`` (without recursing)."""
    return prune(raw, _DEPTH_CEILING)[1]


@functools.cache
def sqlite_depth_limit() -> int:
    """The deepest nesting this process's SQLite reads with ``json_extract`` (which the
    indexes use): 2,000 levels for 3.40, 1,000 from 3.45; measured, not assumed."""
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        low, high = 1, _DEPTH_CEILING
        while low < high:
            middle = (low + high + 1) // 2
            try:
                text = "[" * middle + "]" * middle
                conn.execute("SELECT json_extract(?, '$')", (text,)).fetchone()
                low = middle
            except sqlite3.Error:
                high = middle - 1
    return low


@contextlib.contextmanager
def deep_enough(levels: int) -> Iterator[None]:
    """Room on Python's stack for msgspec (and :func:`unpaired`, two frames a level) to
    decode and encode ``levels`` of nesting: a few kilobytes of C stack per hundred
    levels, far below a thread's stack."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, 3 * levels + 1000))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)
