"""``python -m benchmarks.floors write|parse``: what SQLite alone and parsing alone cost.

``write SOURCE_DB DB``: the rows of a finished asyncmig database (the same final rows),
gathered outside the clock into transactions as asyncmig cuts them (at most
``--batch-size`` rows and about ``--batch-bytes`` of JSON: bigger transactions spill
SQLite's page cache and measured slower), inserted with plain ``sqlite3``
``executemany``, one transaction per batch, with asyncmig's load pragmas; then the
server's indexes, ANALYZE, optimize and the WAL checkpoint, as the target's finishing
steps do (``asyncmig.targets.octoprompt``). Only the inserts, commits and that finish are
timed.

``write --target promptliano-0.12``: the same for a finished Promptliano database: its
tables made as the target makes them, the rows of every table that holds data (and
asyncmig's own lists of old file ids and of what was not carried) inserted parents first,
then its indexes, journal rows, ANALYZE, optimize and the checkpoint: what SQLite alone
costs to write the final Promptliano rows, without the staging tables and the conversion.

``parse ROOT``: ijson's C backend (yajl2_c) reads every record file whole and counts the
records; nothing is written. Both print their result as one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import functools
import json
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import ijson

from asyncmig.options import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_SIZE
from asyncmig.targets import promptliano
from asyncmig.targets.octoprompt import INDEXES, LOAD_PRAGMAS, TABLE_DDL
from asyncmig.targets.octoprompt import TABLES as ALL_TABLES
from benchmarks.records import record_files

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence


@dataclass
class Clock:
    """Wall and CPU seconds spent inside ``timed`` calls only."""

    wall: float = 0.0
    cpu: float = 0.0

    def timed(self, work: Callable[[], object]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu


def write_floor(source_db: Path, db: Path, batch_size: int, batch_bytes: int) -> dict[str, object]:
    clock = Clock()
    source = sqlite3.connect(f"{source_db.resolve().as_uri()}?mode=ro", uri=True)
    conn = sqlite3.connect(db, isolation_level=None)
    for statement in LOAD_PRAGMAS:
        conn.execute(statement)
    for table in ALL_TABLES:
        conn.execute(TABLE_DDL.format(table=table))
    counts: dict[str, int] = {}
    for table in ALL_TABLES:
        insert = f"INSERT INTO {table} (id, data, created_at, updated_at) VALUES (?, ?, ?, ?)"  # noqa: S608
        cursor = source.execute(f"SELECT id, data, created_at, updated_at FROM {table}")  # noqa: S608
        for rows in _batches(cursor, batch_size, batch_bytes):
            clock.timed(functools.partial(_transaction, conn, insert, rows))
            counts[table] = counts.get(table, 0) + len(rows)
    clock.timed(lambda: _finish(conn))
    conn.close()
    return {"wall_seconds": clock.wall, "cpu_seconds": clock.cpu, "records": counts}


#: The tables a Promptliano floor copies, parents first; the rest stay empty.
PROMPTLIANO_FILLED = (
    "projects", "files", "chats", "chat_messages", "prompts", "provider_keys", "tickets",
    "ticket_tasks", "mcp_server_configs", "asyncmig_file_ids", "asyncmig_not_carried",
)  # fmt: skip


def promptliano_floor(
    source_db: Path, db: Path, batch_size: int, batch_bytes: int
) -> dict[str, object]:
    clock = Clock()
    source = sqlite3.connect(f"{source_db.resolve().as_uri()}?mode=ro", uri=True)
    conn = sqlite3.connect(db, isolation_level=None)
    for statement in (*promptliano.LOAD_PRAGMAS, "PRAGMA foreign_keys = ON"):
        conn.execute(statement)
    target = promptliano.TARGET
    made = [s for s in target.definitions() if "INDEX" not in s and "asyncmig_stage_" not in s]
    for statement in made:
        conn.execute(statement)
    counts: dict[str, int] = {}
    for table in PROMPTLIANO_FILLED:
        cursor = source.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
        marks = ", ".join("?" * len(cursor.description))
        insert = f"INSERT INTO {table} VALUES ({marks})"  # noqa: S608 - fixed names
        for rows in _batches(cursor, batch_size, batch_bytes, sized=False):
            clock.timed(functools.partial(_transaction, conn, insert, rows))
            counts[table] = counts.get(table, 0) + len(rows)
    journal = source.execute("SELECT * FROM __drizzle_migrations").fetchall()
    clock.timed(lambda: _finish_promptliano(conn, journal))
    conn.close()
    return {"wall_seconds": clock.wall, "cpu_seconds": clock.cpu, "records": counts}


def _finish_promptliano(conn: sqlite3.Connection, journal: list[tuple[object, ...]]) -> None:
    for statement in promptliano.TARGET.definitions():
        if "INDEX" in statement:
            conn.execute(statement)
    conn.executemany("INSERT INTO __drizzle_migrations VALUES (?, ?, ?)", journal)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA optimize")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _batches(
    cursor: sqlite3.Cursor, batch_size: int, batch_bytes: int, *, sized: bool = True
) -> Iterator[list[tuple[object, ...]]]:
    """Rows in batches; ``sized``: the second column is the row's JSON (else every
    column's text counts)."""
    rows: list[tuple[object, ...]] = []
    size = 0
    for row in cursor:
        rows.append(row)
        size += len(row[1]) if sized else sum(len(v) for v in row if isinstance(v, str))
        if len(rows) >= batch_size or size >= batch_bytes:
            yield rows
            rows, size = [], 0
    if rows:
        yield rows


def _transaction(conn: sqlite3.Connection, insert: str, rows: list[tuple[object, ...]]) -> None:
    conn.execute("BEGIN")
    conn.executemany(insert, rows)
    conn.execute("COMMIT")


def _finish(conn: sqlite3.Connection) -> None:
    for name, (table, expression) in INDEXES.items():
        conn.execute(f"CREATE INDEX {name} ON {table}({expression})")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA optimize")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


#: ijson's read size. Its 64 KiB default parsed the few-big-files shape at 14 MB/s (a long
#: string across many reads is slow to assemble); 4 MiB was within 10 % of the best on both
#: shapes, and 16 MiB slower on many small files.
PARSE_BUFFER = 4 * 1024 * 1024


def parse_floor(root: Path) -> dict[str, object]:
    backend = ijson.get_backend("yajl2_c")
    counts: dict[str, int] = {}
    for source, path in record_files(root):
        with path.open("rb") as stream:
            first = stream.read(64).lstrip()[:1]
            stream.seek(0)
            if first == b"[":
                found = sum(1 for _ in backend.items(stream, "item", buf_size=PARSE_BUFFER))
            else:
                found = sum(1 for _ in backend.kvitems(stream, "", buf_size=PARSE_BUFFER))
        counts[source.table] = counts.get(source.table, 0) + found
    return {"records": counts}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floors", description=__doc__)
    sub = parser.add_subparsers(dest="floor", required=True)
    write = sub.add_parser("write")
    write.add_argument("source_db", type=Path)
    write.add_argument("db", type=Path)
    write.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    write.add_argument("--batch-bytes", type=int, default=DEFAULT_BATCH_BYTES)
    write.add_argument("--target", default="octoprompt-0.6")
    parse = sub.add_parser("parse")
    parse.add_argument("root", type=Path)
    args = parser.parse_args(argv)
    if args.floor == "write":
        floor = promptliano_floor if args.target == promptliano.NAME else write_floor
        result = floor(args.source_db, args.db, args.batch_size, args.batch_bytes)
    else:
        result = parse_floor(args.root)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
