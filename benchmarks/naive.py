"""``python -m benchmarks.naive ROOT DB``: the migration script a user would write first.

``json.load`` each file whole, build its rows, one ``executemany`` per file, one commit at
the end; the server's tables and indexes, SQLite's default settings. No validation and no
damage handling: it is only right for the generator's clean benchmark shapes.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from asyncmig.targets.octoprompt import INDEXES, TABLE_DDL
from asyncmig.targets.octoprompt import TABLES as ALL_TABLES
from benchmarks.records import make_row, now_ms, record_files, records_of


def main(argv: list[str]) -> int:
    root, db = Path(argv[0]), Path(argv[1])
    now = now_ms()
    conn = sqlite3.connect(db)
    for table in ALL_TABLES:
        conn.execute(TABLE_DDL.format(table=table))
    for source, path in record_files(root):
        with path.open("rb") as stream:
            document = json.load(stream)
        rows = [make_row(source, record, now) for record in records_of(document)]
        conn.executemany(f"INSERT INTO {source.table} VALUES (?, ?, ?, ?)", rows)  # noqa: S608
    for name, (table, expression) in INDEXES.items():
        conn.execute(f"CREATE INDEX {name} ON {table}({expression})")
    conn.commit()
    conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
