"""The rows each table must hold, derived batch by batch from the source in processing order.

Spec section 5: the first record with an id keeps it; a later one is, by its table's
``on_conflict``, a duplicate (equal compact JSON to any earlier record with that id, one
waiting for a new id included), a collider waiting for a new id ("rekey"), a repeated link
("duplicate"), conflicting ("reject": the migration rejects it) or the newer state
("replace"). Records of an entity that ``folds_into`` another table add values to that
table's rows. Ids and digests live in the connection's temporary tables
(:mod:`asyncmig.verify.database`); Python holds one batch at a time. Blocking: call it from
a worker thread, one call at a time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec
import xxhash

from asyncmig.source.layout import ENTITIES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from asyncmig.source.layout import Entity
    from asyncmig.source.messages import Row
    from asyncmig.verify.database import Database
    from asyncmig.verify.result import TableCheck


@dataclass(frozen=True, slots=True)
class Reference:
    """A list field of a table's rows naming rows of ``table`` by their decimal id, scoped
    to the parent both share (``scope``): an entry follows the re-key of the row it names."""

    field: str
    table: str
    scope: str


#: Spec section 5: a ticket's suggestedFileIds name files of the ticket's own project.
REFERENCES: Final = {"tickets": Reference("suggestedFileIds", "project_files", "projectId")}
#: For an entity that folds into another table: the field whose value it folds.
FOLD_FROM: Final = {"ticket_file_links": "fileId"}
#: For a table that others fold into: the list field that gathers their values, each once.
FOLD_INTO: Final = {"tickets": "suggestedFileIds"}
#: Tables whose rows are compared only after the whole source (values fold into them, or
#: their references follow re-keys made at the end).
#: Prompts too: a target that gives a prompt one project takes it from the prompt's first
#: link (Promptliano), and links are read after prompts.
DEFERRED: Final = frozenset(
    {e.folds_into for e in ENTITIES if e.folds_into is not None} | set(REFERENCES) | {"prompts"}
)
#: The tables whose colliders record a scope: the tables references name.
_SCOPED: Final = {ref.table: ref.scope for ref in REFERENCES.values()}
#: Ids per ``IN (...)`` list, well under SQLite's limit on parameters.
_CHUNK: Final = 500
# Waiting colliders matching (id, digest) pairs: a join from the pairs, as
# ``(old, digest) IN (VALUES ...)`` would scan every collider of the table.
_PAIRS_FROM: Final = "SELECT c.old, c.digest FROM (VALUES"
_PAIRS_JOIN: Final = (
    ") AS v JOIN temp.colliders AS c ON c.tbl = ? AND c.old = v.column1 AND c.digest = v.column2"
)


def digest(data: bytes | memoryview) -> bytes:
    """What "equal" compares (xxh3-128 of the compact JSON: a 2**-128 chance of taking two
    different records for copies)."""
    return xxhash.xxh3_128_digest(data)


class Derivation:
    """Feeds the source's rows, in processing order, to the expected tables and compares
    the rows that are final at once."""

    def __init__(self, database: Database, checks: dict[str, TableCheck], *, strict: bool):
        self.database = database
        self.checks = checks
        self.strict = strict

    def add(self, entity: Entity, rows: Sequence[Row], sources: Sequence[str]) -> None:
        """One batch of ``entity``'s rows; ``sources`` names each (file and position)."""
        if entity.folds_into is not None:
            self._fold(entity, rows)
        elif entity.on_conflict == "replace":
            self._replace(self.checks[entity.table], rows)
        elif entity.on_conflict == "rekey":
            self._rekey(self.checks[entity.table], rows, sources)
        else:
            self._first(self.checks[entity.table], rows, conflicts=entity.on_conflict == "reject")

    def _first(self, check: TableCheck, rows: Sequence[Row], *, conflicts: bool) -> None:
        """First record per id expected; a later one is not stored (a duplicate, or under
        ``conflicts`` a copy is a duplicate and other data conflicting)."""
        known = self.database.known(check.table, [r[0] for r in rows])
        kept = []
        for row in rows:
            mark = digest(row[1])
            if row[0] not in known:
                known[row[0]] = mark
                kept.append((row, mark))
            elif conflicts and known[row[0]] != mark:
                check.conflicting += 1
            else:
                check.duplicate += 1
        self._keep(check, kept)

    def _rekey(self, check: TableCheck, rows: Sequence[Row], sources: Sequence[str]) -> None:
        """First record per id expected; a later one equal to any earlier record with that
        id is a duplicate; any other waits in ``colliders`` for its new id."""
        table = check.table
        marks = [digest(row[1]) for row in rows]
        known = self.database.known(table, [r[0] for r in rows])
        waiting = self._waiting(
            table,
            [(row[0], mark) for row, mark in zip(rows, marks, strict=True) if row[0] in known],
        )
        kept: list[tuple[Row, bytes]] = []
        colliders = []
        for row, mark, source in zip(rows, marks, sources, strict=True):
            if row[0] not in known:
                known[row[0]] = mark
                kept.append((row, mark))
            elif known[row[0]] == mark or (row[0], mark) in waiting:
                check.duplicate += 1
            else:
                waiting.add((row[0], mark))
                colliders.append((table, int(row[0]), mark, bytes(row[1]), *row[2:], source))
        self._keep(check, kept)
        self.database.conn.executemany(
            "INSERT INTO temp.colliders (tbl, old, digest, data, created_at, updated_at, "
            "source, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(*c, _scope(table, c[3])) for c in colliders],
        )

    def _waiting(self, table: str, pairs: list[tuple[str, bytes]]) -> set[tuple[str, bytes]]:
        """Of these (id, digest) pairs, those a collider already waiting carries (one
        look-up per pair in the covering index, however many wait under one id)."""
        found: set[tuple[str, bytes]] = set()
        unique = [(int(row_id), mark) for row_id, mark in dict.fromkeys(pairs)]
        for start in range(0, len(unique), _CHUNK // 2):
            chunk = unique[start : start + _CHUNK // 2]
            values = ", ".join(["(?, ?)"] * len(chunk))
            flat = [value for pair in chunk for value in pair]
            query = f"{_PAIRS_FROM} {values}{_PAIRS_JOIN}"
            for old, mark in self.database.conn.execute(query, (*flat, table)):
                found.add((str(old), mark))
        return found

    def _replace(self, check: TableCheck, rows: Sequence[Row]) -> None:
        """The last record per id expected: an earlier one is superseded."""
        known = self.database.known(check.table, [r[0] for r in rows])
        fresh: dict[str, None] = {}
        for row in rows:
            if row[0] in known or row[0] in fresh:
                check.superseded += 1
            else:
                fresh[row[0]] = None
        self.database.expect(check.table, [(row_id, None) for row_id in fresh])
        check.expected += len(fresh)
        self._defer(check.table, rows, replace=True)

    def _fold(self, entity: Entity, rows: Sequence[Row]) -> None:
        """Each value folds into the row its record names (not under --strict: folding is an
        upgrade, so the migration rejects these records instead)."""
        if self.strict:
            return
        assert entity.folds_into is not None
        field = FOLD_FROM[entity.table]
        values = [(entity.folds_into, row[0], str(_field(row[1], field))) for row in rows]
        self.database.conn.executemany(
            "INSERT INTO temp.folds (tbl, id, value) VALUES (?, ?, ?)", values
        )

    def _keep(self, check: TableCheck, kept: Sequence[tuple[Row, bytes]]) -> None:
        """Rows that keep their own id (with their digests): expected now, compared now
        unless deferred."""
        self.database.expect(check.table, [(row[0], mark) for row, mark in kept])
        check.expected += len(kept)
        rows = [row for row, _ in kept]
        if check.table == "project_files":
            self.database.file_keys(rows)
        if check.table == "prompt_projects":
            self.database.conn.executemany(
                "INSERT INTO temp.links (prompt, project) VALUES (?, ?)",
                [(_field(row[1], "promptId"), _field(row[1], "projectId")) for row in rows],
            )
        if check.table in DEFERRED:
            self._defer(check.table, rows, replace=False)
        else:
            self.database.compare(check, rows)

    def _defer(self, table: str, rows: Sequence[Row], *, replace: bool) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        self.database.conn.executemany(
            f"{verb} INTO temp.deferred (tbl, id, data, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(table, row[0], bytes(row[1]), row[2], row[3]) for row in rows],
        )


def _scope(table: str, data: bytes) -> object:
    """The value of the field that scopes references to ``table``'s rows (None when no
    reference names them)."""
    field = _SCOPED.get(table)
    return None if field is None else _field(data, field)


@functools.cache
def _reader(field: str) -> msgspec.json.Decoder[Any]:
    """A decoder of one top-level field (the others are skipped, not built)."""
    return msgspec.json.Decoder(msgspec.defstruct(f"Only_{field}", [(field, Any, None)]))


def _field(data: bytes | memoryview, field: str) -> Any:
    return getattr(_reader(field).decode(data), field)
