"""Rollback and verify tell the truth and destroy nothing (issue 11).

Real ``python -m asyncmig`` processes on copies of a migrated clean data root: verify names
every object and stored type a migration did not make and leaves its folder as it was;
rollback checks all it will do before it deletes anything, deletes only what asyncmig
wrote, restores only inside the data directory, and ends quietly at its prompt."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from conftest import run_cli

import asyncmig

if TYPE_CHECKING:
    from benchmarks.generate import GenerateResult


def _sql(db: Path, *statements: str) -> Any:
    """Run ``statements`` and commit; the first column of the last one's first row."""
    with closing(sqlite3.connect(db)) as conn, conn:
        row = None
        for statement in statements:
            row = conn.execute(statement).fetchone()
    return row[0] if row else None


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# verify ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def migrated(clean_root: GenerateResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished migration of the clean root (exit 0), shared read-only by the tests."""
    db = tmp_path_factory.mktemp("verified") / "clean.db"
    options = asyncmig.Options(data_dir=clean_root.root, db=db, workers=2, backup=False)
    report = anyio.run(asyncmig.migrate, options, backend="asyncio")
    assert report.exit_code == 0
    return db


@pytest.fixture
def copy(migrated: Path, tmp_path: Path) -> Path:
    """A private copy of the migrated database, alone in its folder, to alter."""
    (tmp_path / "db").mkdir()
    return Path(shutil.copyfile(migrated, tmp_path / "db" / "copy.db"))


def _verify(root: Path, db: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("verify", "--data-dir", root, "--db", db, "--workers", "2")


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (
            "CREATE TRIGGER keep AFTER INSERT ON chats BEGIN SELECT 1; END",
            "trigger keep on chats is not one a migration makes",
        ),
        ("CREATE VIEW recent AS SELECT id FROM chats", "view recent is not one a migration makes"),
        (
            "CREATE INDEX idx_chats_title ON chats(json_extract(data, '$.title'))",
            "index idx_chats_title on chats is not one a migration makes",
        ),
        ("CREATE TABLE notes (id TEXT)", "table notes is not one a migration makes"),
        (
            "CREATE TABLE asyncmig_extra (id TEXT)",
            "table asyncmig_extra is not one a migration makes",
        ),
    ],
)
def test_verify_names_every_object_a_migration_did_not_make(
    clean_root: GenerateResult, copy: Path, statement: str, named: str
) -> None:
    _sql(copy, statement)
    done = _verify(clean_root.root, copy)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "schema: 1 problem(s)" in done.stdout
    assert f"  {named}" in done.stdout
    assert "NOT verified: 1 difference(s)" in done.stdout


def test_verify_expects_the_ledger_and_what_sqlite_makes(
    clean_root: GenerateResult, copy: Path
) -> None:
    # asyncmig_run/asyncmig_files, ANALYZE's sqlite_stat1 and the primary keys' autoindexes
    # are there, and a migration made them all.
    names = _sql(copy, "SELECT group_concat(name, ' ') FROM sqlite_master").split()
    assert {"asyncmig_run", "asyncmig_files", "sqlite_stat1"} <= set(names)
    done = _verify(clean_root.root, copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing else" in done.stdout


def test_verify_names_a_table_replaced_by_a_view(clean_root: GenerateResult, copy: Path) -> None:
    _sql(
        copy,
        "ALTER TABLE tickets RENAME TO old_tickets",
        "CREATE VIEW tickets AS SELECT * FROM old_tickets",
    )
    done = _verify(clean_root.root, copy)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "  tickets is a view, expected a table" in done.stdout
    assert "  table old_tickets is not one a migration makes" in done.stdout


def test_verify_names_data_stored_as_a_blob(clean_root: GenerateResult, copy: Path) -> None:
    row_id = _sql(copy, "UPDATE chats SET data = CAST(data AS BLOB) WHERE rowid = 2 RETURNING id")
    done = _verify(clean_root.root, copy)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"chats id {row_id}: not text (data is stored as blob)" in done.stdout
    assert "chats: 0 missing, 0 altered, 0 extra, 1 not text" in done.stdout
    assert "NOT verified: 1 difference(s)" in done.stdout


def test_verify_leaves_no_file_beside_a_finished_database(
    clean_root: GenerateResult, copy: Path
) -> None:
    before = _listing(copy.parent)
    assert before == ["copy.db"]
    done = _verify(clean_root.root, copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _listing(copy.parent) == before


def test_verify_reads_a_left_wal_and_leaves_no_file(clean_root: GenerateResult, copy: Path) -> None:
    # A process that wrote and was killed leaves a -wal and, here, no -shm.
    elsewhere = copy.parent.parent / "writer"
    elsewhere.mkdir()
    live = Path(shutil.copyfile(copy, elsewhere / "copy.db"))
    with closing(sqlite3.connect(live)) as conn:
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        with conn:
            conn.execute("INSERT INTO tickets VALUES ('42', '{}', 1, 1)")
        shutil.copyfile(live, copy)
        shutil.copyfile(live.with_name("copy.db-wal"), copy.with_name("copy.db-wal"))
    before = _listing(copy.parent)
    assert before == ["copy.db", "copy.db-wal"]
    done = _verify(clean_root.root, copy)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "tickets id 42: extra" in done.stdout  # the row that is only in the -wal
    assert _listing(copy.parent) == before


def test_verify_shares_the_files_of_a_database_open_elsewhere(
    clean_root: GenerateResult, copy: Path
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT count(*) FROM chats').fetchall(); print('open', flush=True); "
            "sys.stdin.readline(); "
            "print(c.execute('SELECT count(*) FROM chats').fetchone()[0], flush=True)",
            str(copy),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "open\n"
        before = _listing(copy.parent)
        assert before == ["copy.db", "copy.db-shm", "copy.db-wal"]
        done = _verify(clean_root.root, copy)
        assert _listing(copy.parent) == before  # the holder's -shm is still there
        out, _ = holder.communicate("go\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(out) > 0
    assert holder.returncode == 0
