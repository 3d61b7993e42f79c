"""Where a damaged file's text goes wrong, in the words of yajl (ijson's C parser). The
only ijson user: the entries themselves come from msgspec (see :mod:`asyncmig.source.decode`)."""

from __future__ import annotations

from typing import IO, Any, Final

import ijson

from asyncmig.source.scan import READ_SIZE

C_BACKENDS: Final = frozenset({"yajl2_c"})


def backend_warning() -> str | None:
    """A loud warning when ijson runs without its C backend, else None."""
    if ijson.backend in C_BACKENDS:
        return None
    return (
        f"ijson is using its pure-Python backend {ijson.backend!r}: parsing will be 7-20x "
        "slower. Install a wheel of ijson with the yajl2_c backend for your platform."
    )


def name_damage(stream: IO[bytes], size: int) -> tuple[int, str] | None:
    """Where yajl first rejects the text and what it says, or None if it accepts it."""
    try:
        for _ in ijson.basic_parse(stream, use_float=True, buf_size=READ_SIZE):
            pass
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError) as error:
        stream.seek(0)
        return locate_damage(stream, size), parser_message(error)
    return None


def parser_message(error: Exception) -> str:
    """yajl's message without its multi-line excerpt of the text."""
    text = str(error)
    if text.startswith(("b'", 'b"')):
        text = text[2:]
    first = text.replace("\\n", "\n").split("\n", 1)[0].strip()
    return first or type(error).__name__


def locate_damage(stream: Any, size: int) -> int:
    """The byte offset at which yajl first rejects the text of ``stream``.

    Feeds the text in large chunks until one fails, then replays that chunk a byte at a
    time on a fresh parser: exact, and paid only for damaged files.
    """
    consumed = _feed(stream, READ_SIZE, stop_at=None)
    if consumed is None:
        return size  # nothing wrong inside the text: it ended too early
    stream.seek(0)
    exact = _feed(stream, READ_SIZE, stop_at=consumed)
    return size if exact is None else exact


def _feed(stream: Any, chunk: int, stop_at: int | None) -> int | None:
    """Feed ``stream`` to a fresh yajl parser; the failing chunk's start (or exact byte when
    ``stop_at`` is that start), or None when only the end of the text was premature."""
    parser = ijson.basic_parse_coro(_Discard(), use_float=True)
    offset = 0
    while True:
        piece = stream.read(chunk)
        if not piece:
            break
        if stop_at is not None and offset + len(piece) > stop_at:
            if stop_at > offset:
                parser.send(piece[: stop_at - offset])
            for position in range(stop_at, offset + len(piece)):
                try:
                    parser.send(piece[position - offset : position - offset + 1])
                except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError):
                    return position
            return None
        try:
            parser.send(piece)
        except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError):
            return offset
        offset += len(piece)
    try:
        parser.close()
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError):
        return None
    return None


class _Discard:
    """A coroutine target for ijson's push parser that drops every event."""

    def send(self, _event: object) -> None:
        return None
