"""``python -m benchmarks.sqlite_utils_case insert DB DIR [--nl]``: ``sqlite-utils insert``,
a table at a time, of files that ``... convert ROOT DIR [--nl]`` wrote beforehand (outside
the clock, and in its own process so that the runner stays small: a child's ``ru_maxrss``
starts from its parent's size at the fork).

Each converted record is ``{"id", "data", "created_at", "updated_at"}`` with ``data`` the
record itself as a nested object, so sqlite-utils parses every record and encodes its
``data`` back to JSON, as asyncmig does. The tables are created first with the server's
schema (so every case ends with the same tables) and the server's indexes are built after
the inserts, inside the measured run.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from asyncmig.targets.octoprompt import INDEXES, TABLE_DDL
from asyncmig.targets.octoprompt import TABLES as ALL_TABLES
from benchmarks.records import SOURCES, now_ms, record_files, records_of

_COMPLETE = ".complete"


def is_converted(out: Path) -> bool:
    return (out / _COMPLETE).is_file()


def convert(root: Path, out: Path, *, nl: bool) -> None:
    """Fill ``out`` with one JSON Lines (``nl``) or JSON array file per table."""
    out.mkdir(parents=True, exist_ok=True)
    now = now_ms()
    streams = {s.table: (out / f"{s.table}.{'jsonl' if nl else 'json'}").open("w") for s in SOURCES}
    first = dict.fromkeys(streams, True)
    for source, path in record_files(root):
        stream = streams[source.table]
        with path.open("rb") as handle:
            document = json.load(handle)
        for record in records_of(document):
            created = record.get("created") or now
            row: dict[str, object] = {"id": source.row_id(record), "data": record}
            row |= {"created_at": created, "updated_at": record.get("updated") or created}
            separator = "\n" if nl else ("[" if first[source.table] else ",\n")
            stream.write(("" if nl and first[source.table] else separator) + json.dumps(row))
            first[source.table] = False
    for table, stream in streams.items():
        stream.write("\n" if nl else ("[]" if first[table] else "]\n"))
        stream.close()
    (out / _COMPLETE).touch()


def main(argv: list[str]) -> int:
    command, nl = argv[0], "--nl" in argv[3:]
    if command == "convert":
        convert(Path(argv[1]), Path(argv[2]), nl=nl)
        return 0
    db, folder = Path(argv[1]), Path(argv[2])
    with sqlite3.connect(db) as conn:
        for table in ALL_TABLES:
            conn.execute(TABLE_DDL.format(table=table))
    tool = Path(sys.executable).with_name("sqlite-utils")
    for source in SOURCES:
        path = folder / f"{source.table}.{'jsonl' if nl else 'json'}"
        insert = [str(tool), "insert", str(db), source.table, str(path)]
        subprocess.run([*insert, "--nl"] if nl else insert, check=True)
    with sqlite3.connect(db) as conn:
        for name, (table, expression) in INDEXES.items():
            conn.execute(f"CREATE INDEX {name} ON {table}({expression})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
