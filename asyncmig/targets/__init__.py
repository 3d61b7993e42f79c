"""Target databases: what each one is, behind one small interface.

A target says which tables its server has, the statements that make its empty schema
(with the pragmas the load runs under), how a row is inserted, the statements that finish
the database after the load (indexes, statistics, the WAL), and what verify expects to
find. :mod:`asyncmig.targets.octoprompt` (the OctoPrompt v0.6.0 database, the guide's) and
:mod:`asyncmig.targets.promptliano` (Promptliano v0.12, which loads into staging tables and
converts them in its finishing steps) implement it; a third target is one more module in
:data:`NAMES` and its tests.

Owns: DDL, row insertion, finishing steps, the schema verify compares with. May import:
the base modules (errors, options, results, storage) and :mod:`asyncmig.source`. The
writer in :mod:`asyncmig.load` runs these statements; a target never opens a database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from asyncmig.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

#: Every target by its ``--target`` name, the default first.
NAMES: Final = ("octoprompt-0.6", "promptliano-0.12")
DEFAULT: Final = NAMES[0]


def by_name(name: str | None) -> Target:
    """The target ``--target`` names (None: the default); ConfigError for another name."""
    from asyncmig.targets import octoprompt, promptliano  # noqa: PLC0415 - they import this

    found: dict[str, Target] = {t.name: t for t in (octoprompt.TARGET, promptliano.TARGET)}
    if (name or DEFAULT) not in found:
        raise ConfigError(f"--target must be one of {', '.join(NAMES)}, got {name!r}")
    return found[name or DEFAULT]


class Target(Protocol):
    """What asyncmig needs to know about one kind of target database."""

    @property
    def name(self) -> str:
        """How ``--target`` and the ledger name it."""

    @property
    def tables(self) -> tuple[str, ...]:
        """Every JSON-era table the load writes (by the source's names), those JSON-era data
        never fills included."""

    @property
    def also_known(self) -> frozenset[str]:
        """Objects the server makes beyond :meth:`definitions` (an empty database it made
        holds them, and is not someone else's)."""

    @property
    def converts(self) -> bool:
        """Whether the finishing steps write every row again (a converting target)."""

    def staged(self, table: str) -> str:
        """The database table the load writes ``table``'s rows into (``(id, data,
        created_at, updated_at)``); a target that converts afterwards names its own."""

    def default_db(self) -> Path:
        """Where the target's server looks for its database, when ``--db`` is not given."""

    def user_tables(self) -> Sequence[str]:
        """The tables whose rows mean someone uses the database (asyncmig never appends)."""

    def not_carried(self) -> str | None:
        """A SELECT of (table, field, reason, records) the target had no place for, read
        after the finishing steps; None: it has a place for everything."""

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

    def not_carried_records(self) -> str | None:
        """A SELECT of (source file, table, id, field, reason, value) of each record or
        field :meth:`not_carried` counts, for the rejects file; None: none."""

    def final_tables(self) -> Sequence[str]:
        """The tables of the finished database whose columns verify compares."""

    def holder(self, table: str) -> str | None:
        """The finished database's table holding ``table``'s records (None: none does)."""

    def read_back(self, table: str) -> str:
        """A SELECT of ``(id, data, created_at, updated_at)`` of the rows holding
        ``table``'s records (``id``: the source id), to be followed by a ``WHERE`` clause."""

    def expect(self, table: str) -> str | None:
        """A SELECT turning one source row (bound: id, data, created_at, updated_at) into
        what :meth:`read_back` gives (``data`` NULL: the record has no row by design);
        None: the source row is the row."""
