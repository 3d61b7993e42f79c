"""Killed, interrupted and edited runs: ``--resume`` ends with what one clean run makes.

Every run here is a real ``python -m asyncmig`` process. ``ASYNCMIG_KILL_AT=point:n`` makes
it SIGKILL itself the n-th time it reaches a point (inside a batch's transaction, after a
commit, after an index, ...): a real kill at a moment chosen exactly. Timed kills from
outside add moments no point names.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from typing import TYPE_CHECKING, Any

import pytest
from conftest import PROJECT_ROOT, run_cli
from oracle import TABLES

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks.generate import GenerateResult

KILLED = -signal.SIGKILL
#: Small batches, so the trap root makes more than a hundred commits.
BATCH = ("--batch-size", "5")


def content(db: Path) -> dict[str, dict[str, tuple[str, Any, Any]]]:
    """Every row of the server's tables, with the migration time written as "T" (runs
    started at different moments stamp records that lack a time with their own)."""
    with closing(sqlite3.connect(db)) as conn:
        migrated_at = int(
            conn.execute("SELECT value FROM asyncmig_run WHERE key = 'migrated_at'").fetchone()[0]
        )
        return {
            table: {
                row[0]: (row[1], *("T" if t == migrated_at else t for t in row[2:]))
                for row in conn.execute(f"SELECT id, data, created_at, updated_at FROM {table}")  # noqa: S608
            }
            for table in TABLES
        }


def indexes(db: Path) -> set[tuple[str, str]]:
    with closing(sqlite3.connect(db)) as conn:
        return set(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'"))


def summary_table(stdout: str) -> list[str]:
    """The per-table counts of a summary."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("table"))
    return lines[start : start + len(TABLES) + 2]


@pytest.fixture(scope="module")
def reference(trap_root: GenerateResult, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One uninterrupted run: its database and its summary."""
    db = tmp_path_factory.mktemp("reference") / "o.db"
    done = run_cli("--data-dir", trap_root.root, "--db", db, *BATCH)
    assert done.returncode == 3, done.stderr
    return db, done.stdout


KILL_POINTS = [
    "backup-file:1",
    "backup-file:20",
    "batch:1",
    "batch:7",
    "batch:40",
    "batch:90",
    "commit:1",
    "commit:2",
    "commit:5",
    "commit:12",
    "commit:25",
    "commit:50",
    "commit:80",
    "commit:99",
    "index:1",
    "index:15",
    "index:27",
    "analyze:1",
    "optimize:1",
]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_at_a_point_then_resumed(
    point: str, trap_root: GenerateResult, reference: Any, tmp_path: Path
) -> None:
    db = tmp_path / "o.db"
    killed = run_cli(
        "--data-dir", trap_root.root, "--db", db, *BATCH, env={"ASYNCMIG_KILL_AT": point}
    )
    assert killed.returncode == KILLED, (point, killed.stderr)
    _resume_and_compare(trap_root, reference, db)


def test_killed_while_the_database_is_created_leaves_none(
    trap_root: GenerateResult, reference: Any, tmp_path: Path
) -> None:
    """The database appears whole (schema, ledger and plan) or not at all: a run killed
    while making it leaves nothing a next run would take for someone else's database."""
    db = tmp_path / "o.db"
    killed = run_cli(
        "--data-dir", trap_root.root, "--db", db, *BATCH, env={"ASYNCMIG_KILL_AT": "create:1"}
    )
    assert killed.returncode == KILLED, killed.stderr
    assert not db.exists()
    assert run_cli("--data-dir", trap_root.root, "--db", db, "--resume").returncode == 2
    again = run_cli("--data-dir", trap_root.root, "--db", db, *BATCH)
    assert again.returncode == 3, again.stderr
    assert content(db) == content(reference[0])
    assert not list(tmp_path.glob(".o.db.asyncmig-new*"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_at_a_random_moment_then_resumed(
    seed: int, trap_root: GenerateResult, reference: Any, tmp_path: Path
) -> None:
    db = tmp_path / "o.db"
    delay = random.Random(seed).uniform(0.05, 0.6)
    print(f"kill after {delay:.3f} s (seed {seed})")
    command = [sys.executable, "-m", "asyncmig", "--data-dir", str(trap_root.root)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with subprocess.Popen(
        [*command, "--db", str(db), *BATCH], env=env, stdout=subprocess.DEVNULL
    ) as process:
        time.sleep(delay)
        process.kill()
    if not db.exists():  # killed before the database was made: nothing to resume
        assert run_cli("--data-dir", trap_root.root, "--db", db, "--resume").returncode == 2
        return
    _resume_and_compare(trap_root, reference, db)


def _resume_and_compare(trap_root: GenerateResult, reference: Any, db: Path) -> None:
    ref_db, ref_stdout = reference
    refused = run_cli("--data-dir", trap_root.root, "--db", db, *BATCH)
    resumed = run_cli("--data-dir", trap_root.root, "--db", db, *BATCH, "--resume")
    if refused.returncode == 2 and "incomplete migration" in refused.stderr:
        assert resumed.returncode == 3, resumed.stderr
        assert summary_table(resumed.stdout) == summary_table(ref_stdout)
    else:  # the kill came after the run had finished everything that matters
        assert "already holds a completed migration" in refused.stderr, refused.stderr
        assert resumed.returncode == 2
        assert "nothing to resume" in resumed.stderr
    assert content(db) == content(ref_db)
    assert indexes(db) == indexes(ref_db)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sigint_leaves_a_state_file_and_a_resumable_database(
    trap_root: GenerateResult, reference: Any, tmp_path: Path
) -> None:
    db = tmp_path / "o.db"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "asyncmig", "--data-dir", str(trap_root.root), "--db"]
    with subprocess.Popen(
        [*command, str(db), "--batch-size", "1", "--no-backup"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        _wait_for_commits(db, 3)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr
    state = json.loads((tmp_path / ".migration-state.json").read_text())
    assert state["status"] == "interrupted"
    assert state["files_total"] > state["files_done"]
    # Issue 10: ticket_storage is read now; the oracle's TABLES has not learnt it yet.
    tickets = {"tickets", "ticket_tasks", "ticket_file_links"}
    assert set(state["tables"]) | tickets == set(TABLES) | tickets
    _resume_and_compare(trap_root, reference, db)


def _wait_for_commits(db: Path, files: int) -> None:
    """Until the run has committed ``files`` files (read through SQLite, as a reader may)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
                done = conn.execute(
                    "SELECT count(*) FROM asyncmig_files WHERE status = 'migrated'"
                ).fetchone()[0]
            if done >= files:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.005)
    raise AssertionError("the run did not commit files in time")
