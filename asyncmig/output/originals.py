"""The originals of records the parser sent only as rows, read again from their file."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Final

from asyncmig.source import decode, redact

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from asyncmig.source.plan import SourceFile

#: Bytes either side of the damage shown for a damaged file (never for a file of secrets).
_EXCERPT: Final = 120


class Originals:
    """One file's entries read again in order, in a worker thread, a batch at a time."""

    def __init__(self, source: SourceFile) -> None:
        assert source.entity is not None
        self.table = source.entity.table
        self._entries: Iterator[decode.Entry] = decode.entries(source.path, source.top_level)
        self._current: decode.Entry | None = None

    def take(self, indexes: list[int]) -> list[bytes | None]:
        found: list[bytes | None] = []
        for index in indexes:
            while self._current is None or self._current.index < index:
                if not self._advance():
                    break
            entry = self._current
            hit = entry is not None and entry.index == index
            found.append(redact.original(entry.value, self.table) if entry and hit else None)
        return found

    def _advance(self) -> bool:
        # The file may have changed or be damaged: then the original is simply not known.
        try:
            self._current = next(self._entries)
        except (StopIteration, decode.Damaged, OSError):
            self._current = None
            self._entries = iter(())
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._entries.close()  # type: ignore[attr-defined]


def read_excerpt(path: Path, offset: int, table: str | None) -> str | None:
    """The text either side of ``offset`` in the damaged file ``path`` of ``table``; None
    when it cannot be read, or for a table of secrets (:func:`redact.shows_excerpt`)."""
    if not redact.shows_excerpt(table):
        return None
    start = max(0, offset - _EXCERPT)
    try:
        with path.open("rb") as stream:
            stream.seek(start)
            return stream.read(2 * _EXCERPT).decode("utf-8", "replace")
    except OSError:
        return None
