"""Reading the ledger: the whole checkpoint (before a run, for a resume and the checks),
and its committed state added up by SQLite (for the state file)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Any, Final

import msgspec

from asyncmig.errors import ConfigError
from asyncmig.load.ledger.tables import DONE, Checkpoint, FileRecord, decode_settings
from asyncmig.results import Counts, FileOutcome
from asyncmig.storage import open_readonly

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from asyncmig.load.writer import Writer

_SELECT_FILES: Final = (
    "SELECT file_no, path, size, mtime_ns, digest, consumed, status, counts, outcome, tbl "
    "FROM asyncmig_files ORDER BY file_no"
)
_counts_decoder: Final = msgspec.json.Decoder(Counts)
_outcome_decoder: Final = msgspec.json.Decoder(FileOutcome)


def read(db: Path) -> Checkpoint | None:
    """The checkpoint of ``db`` (read only); None when it holds no asyncmig migration."""
    if not db.exists():
        return None
    try:
        with closing(open_readonly(db)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if "asyncmig_run" not in names:
                return None
            rows = dict(conn.execute("SELECT key, value FROM asyncmig_run").fetchall())
            files = [_file_record(row) for row in conn.execute(_SELECT_FILES)]
    except sqlite3.DatabaseError as error:
        raise ConfigError(f"{db} exists but is not a usable SQLite database: {error}") from None
    return Checkpoint(decode_settings(rows), files)


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    """What the ledger has committed, added up by SQLite (the state file's view): cheap
    however many files there are, where decoding every file row each time was not."""

    phase: str
    files_total: int
    files_done: int
    tables: dict[str, Counts]
    #: (path, damage) of each damaged file, in plan order.
    damaged: list[tuple[str, str]]
    #: The first file not done: (path, table, status); None when every file is.
    unfinished: tuple[str, str | None, str] | None
    #: Of the paths asked about, those whose file is done.
    done_among: frozenset[str]


_COUNTED: Final = tuple(f.name for f in msgspec.structs.fields(Counts))
_DONE_SQL: Final = f"status IN ({', '.join(repr(status) for status in sorted(DONE))})"
_BY_TABLE: Final = (
    f"SELECT tbl, count(*), sum({_DONE_SQL}), "
    + ", ".join(f"sum(coalesce(json_extract(counts, '$.{name}'), 0))" for name in _COUNTED)
    + " FROM asyncmig_files GROUP BY tbl"
)
_DAMAGED: Final = (
    "SELECT path, json_extract(outcome, '$.damage_message') AS damage FROM asyncmig_files "
    "WHERE outcome IS NOT NULL AND damage IS NOT NULL ORDER BY file_no"
)
_UNFINISHED: Final = (
    f"SELECT path, tbl, status FROM asyncmig_files WHERE NOT {_DONE_SQL} ORDER BY file_no LIMIT 1"
)


def summarize(db: Path, paths: Sequence[str] = ()) -> Summary | None:
    """What ``db``'s ledger has committed, read through a read-only connection of its own
    (once a run has ended); None when it holds none. ``paths``: files to say of whether
    they are done."""
    with closing(open_readonly(db)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'asyncmig_run'").fetchone():
            return None
        queries = _queries(paths)
        return _summary({name: conn.execute(*query).fetchall() for name, query in queries.items()})


async def summarize_committed(writer: Writer, paths: Sequence[str] = ()) -> Summary:
    """The same, through the writer's own connection between transactions (during a run:
    no connection to open, no thread to start)."""
    assert not writer.in_transaction, "only committed rows are read"
    found: dict[str, list[Any]] = {}
    async with writer.guard():
        for name, (sql, parameters) in _queries(paths).items():
            found[name] = list(await writer.conn.execute_fetchall(sql, parameters))
    return _summary(found)


def _queries(paths: Sequence[str]) -> dict[str, tuple[str, list[str]]]:
    marks = ", ".join("?" * len(paths))
    among = f"SELECT path FROM asyncmig_files WHERE {_DONE_SQL} AND path IN ({marks})"
    return {
        "run": ("SELECT key, value FROM asyncmig_run", []),
        "tables": (_BY_TABLE, []),
        "unfinished": (_UNFINISHED, []),
        "damaged": (_DAMAGED, []),
        "among": (among, list(paths)),
    }


def _summary(found: dict[str, list[Any]]) -> Summary:
    tables: dict[str, Counts] = {}
    total = done = 0
    for table, files, finished, *counts in found["tables"]:
        total, done = total + files, done + finished
        if table is not None:
            tables[table] = Counts(*counts)
    unfinished = found["unfinished"]
    return Summary(
        phase=decode_settings({str(k): str(v) for k, v in found["run"]}).status,
        files_total=total,
        files_done=done,
        tables=tables,
        damaged=[(str(path), str(why)) for path, why in found["damaged"]],
        unfinished=tuple(unfinished[0]) if unfinished else None,
        done_among=frozenset(str(path) for (path,) in found["among"]),
    )


def _file_record(row: tuple[Any, ...]) -> FileRecord:
    file_no, path, size, mtime_ns, digest, consumed, status, counts, outcome, table = row
    return FileRecord(
        file_no,
        path,
        size,
        mtime_ns,
        digest,
        consumed,
        status,
        _counts_decoder.decode(counts) if counts else Counts(),
        _outcome_decoder.decode(outcome) if outcome else None,
        table,
    )
