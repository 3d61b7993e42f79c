"""Target databases: what each one is, behind one small interface.

A target says which tables its server has, the statements that make its empty schema
(with the pragmas the load runs under), how a row is inserted, the statements that finish
the database after the load (indexes, statistics, the WAL), and what verify expects to
find. :mod:`asyncmig.targets.octoprompt` (the OctoPrompt v0.6.0 database, the guide's) is
the first implementation; a second target is one more module and its tests.

Owns: DDL, row insertion, finishing steps, the schema verify compares with. May import:
the base modules (errors, options, results, storage) and :mod:`asyncmig.source`. The
writer in :mod:`asyncmig.load` runs these statements; a target never opens a database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence


class Target(Protocol):
    """What asyncmig needs to know about one kind of target database."""

    @property
    def name(self) -> str:
        """How ``--target`` and the ledger name it."""

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table of the server's schema, the ones JSON-era data never fills included."""

    def schema(self) -> Sequence[str]:
        """The statements, run in order on a new connection, that set the load pragmas and
        make every table, no indexes yet (they are built after the load)."""

    def insert(self, table: str, data_sql: str) -> str:
        """The INSERT of one row ``(id, data, created_at, updated_at)`` into ``table`` that
        never overwrites; ``data_sql`` is how the data parameter is bound."""

    def finishing(self) -> Sequence[tuple[str, str | None]]:
        """The statements after the load, each with the fault point reached after it."""

    def definitions(self) -> Sequence[str]:
        """The final schema's CREATE statements (tables, then indexes), for verify."""

    def read_back(self, table: str) -> str:
        """A SELECT of ``(id, data as BLOB, created_at, updated_at)`` from ``table``, to be
        followed by a ``WHERE`` clause."""
