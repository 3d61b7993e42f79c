"""Issue 11, "checks that tell the truth": free space with the WAL, a data root without
data, a database holding anything else, a dry run that refuses as a real run does, a
resume's own throughput and rejects, two runs at once, and refusals that make no folder.

Real ``python -m asyncmig`` processes on the generated roots (or private copies of them)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import PROJECT_ROOT, run_cli

from asyncmig.targets.octoprompt import TARGET

if TYPE_CHECKING:
    from benchmarks.generate import GenerateResult

BATCH = ("--batch-size", "5")
MB = 10**6


@pytest.fixture
def data(trap_root: GenerateResult, tmp_path: Path) -> Path:
    """A private copy of the trap root, free to edit."""
    return Path(shutil.copytree(trap_root.root, tmp_path / "data", symlinks=True))


def _needs(stdout: str) -> int:
    """The bytes a dry run says a real run needs, summed over its file systems."""
    found = re.findall(r"a real run needs about ([\d.]+) (MB|GB) free", stdout)
    assert found, stdout
    return sum(int(float(n) * (MB if unit == "MB" else 1000 * MB)) for n, unit in found)


# 1. Free space counts the database, its WAL and the backup.


@pytest.mark.parametrize("backup", [(), ("--no-backup",)])
def test_free_space_counts_the_wal(
    clean_root: GenerateResult, tmp_path: Path, backup: tuple[str, ...]
) -> None:
    """Twice the JSON used to pass (and --no-backup checked nothing): the WAL alone
    grows to about 16 MiB and a few batches whatever the data's size."""
    db = tmp_path / "out" / "o.db"
    twice = str(4 * sum(p.stat().st_size for p in clean_root.root.rglob("*") if p.is_file()))
    short = run_cli(
        "--data-dir", clean_root.root, "--db", db, *backup, env={"ASYNCMIG_FREE_BYTES": twice}
    )
    assert short.returncode == 2, short.stderr
    assert "not enough free space" in short.stderr
    assert "its WAL" in short.stderr
    assert not db.parent.exists()


def test_the_estimate_covers_what_a_run_takes(trap_root: GenerateResult, tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    dry = run_cli("--data-dir", trap_root.root, "--db", db, "--dry-run")
    assert dry.returncode == 3, dry.stderr
    needed = _needs(dry.stdout)
    assert "its WAL" in dry.stdout, dry.stdout
    assert "the backup" in dry.stdout
    free = str(needed + MB // 10)  # the summary rounds to 0.1 MB
    done = run_cli("--data-dir", trap_root.root, "--db", db, env={"ASYNCMIG_FREE_BYTES": free})
    assert done.returncode == 3, done.stderr
    written = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert written < needed, "what the run wrote (backup, database, state) fits the estimate"


# 2. A data root with no OctoPrompt data in it is refused, with a hint.


def test_an_empty_data_root_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not OctoPrompt data")
    db = tmp_path / "out" / "o.db"
    done = run_cli("--data-dir", empty, "--db", db)
    assert done.returncode == 2, done.stdout
    assert "holds no OctoPrompt data" in done.stderr
    assert "packages/server/data" in done.stderr
    assert not db.parent.exists()


@pytest.mark.parametrize("below", ["data", "packages/server/data"])
def test_a_data_root_one_level_too_high_names_the_real_one(
    clean_root: GenerateResult, tmp_path: Path, below: str
) -> None:
    high = tmp_path / "sample-data"
    (high / below).parent.mkdir(parents=True)
    os.symlink(clean_root.root, high / below)
    done = run_cli("--data-dir", high, "--db", tmp_path / "o.db")
    assert done.returncode == 2, done.stdout
    assert f"--data-dir {high / below}" in done.stderr
    assert not (tmp_path / "o.db").exists()
    dry = run_cli("--data-dir", high, "--db", tmp_path / "o.db", "--dry-run")
    assert dry.returncode == 2
    assert "holds no OctoPrompt data" in dry.stderr


def test_one_level_too_high_with_the_database_inside_names_the_real_root(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    """The demo's layout run one level too high: the default state file and rejects file
    would sit inside the data directory, but the mistake to name is the data directory."""
    high = tmp_path / "sample-data"
    high.mkdir()
    shutil.copytree(clean_root.root, high / "data")
    done = run_cli("--data-dir", high, "--db", high / "octoprompt.db")
    assert done.returncode == 2, done.stdout
    assert "holds no OctoPrompt data" in done.stderr
    assert f"--data-dir {high / 'data'}" in done.stderr
    assert not (high / "octoprompt.db").exists()


# 3. A database holding anything the server's empty database does not is refused.


@pytest.mark.parametrize(
    "statements",
    [
        ["CREATE TABLE notes (x)"],
        ["CREATE TABLE notes (x)", "INSERT INTO notes VALUES (1)"],
        [*TARGET.definitions(), "CREATE VIEW v AS SELECT id FROM chats"],
        [*TARGET.definitions(), "CREATE UNIQUE INDEX u ON chats(created_at)"],
    ],
    ids=["empty table", "table with a row", "view", "unique index"],
)
def test_a_database_holding_anything_else_is_refused(
    clean_root: GenerateResult, tmp_path: Path, statements: list[str]
) -> None:
    db = tmp_path / "o.db"
    with closing(sqlite3.connect(db)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    before = db.read_bytes()
    dumped = _dump(db)
    done = run_cli("--data-dir", clean_root.root, "--db", db)
    assert done.returncode == 2, done.stdout
    assert "already holds data not written by asyncmig" in done.stderr
    assert "--force" in done.stderr
    assert db.read_bytes() == before
    forced = run_cli("--data-dir", clean_root.root, "--db", db, "--force")
    assert forced.returncode == 0, forced.stderr
    (kept,) = tmp_path.glob("backup-*/.asyncmig-db/o.db")
    assert f"the database that was there before is kept in the backup: {kept}" in forced.stdout
    assert _dump(kept) == dumped


def _dump(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())


def test_the_servers_own_empty_database_is_migrated_into(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    db = tmp_path / "o.db"
    with closing(sqlite3.connect(db)) as conn:
        for statement in TARGET.definitions():
            conn.execute(statement)
    done = run_cli("--data-dir", clean_root.root, "--db", db)
    assert done.returncode == 0, done.stderr


# 4. A dry run runs every refusal and check a real run would.


def test_a_dry_run_is_refused_where_a_real_run_is(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    db = tmp_path / "o.db"
    assert run_cli("--data-dir", clean_root.root, "--db", db).returncode == 0
    real = run_cli("--data-dir", clean_root.root, "--db", db)
    dry = run_cli("--data-dir", clean_root.root, "--db", db, "--dry-run")
    assert real.returncode == dry.returncode == 2
    assert dry.stderr == real.stderr
    assert "would migrate" not in dry.stdout
    finished = run_cli("--data-dir", clean_root.root, "--db", db, "--dry-run", "--resume")
    assert finished.returncode == 2
    assert "nothing to resume" in finished.stderr


def test_a_dry_run_and_verify_leave_the_databases_folder_as_it_was(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    """Reading the ledger of a WAL database read-only left a -shm and a -wal beside it."""
    db = tmp_path / "o.db"
    assert run_cli("--data-dir", clean_root.root, "--db", db).returncode == 0
    before = sorted(p.name for p in tmp_path.iterdir())
    assert run_cli("--data-dir", clean_root.root, "--db", db, "--dry-run").returncode == 2
    assert run_cli("verify", "--data-dir", clean_root.root, "--db", db).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_dry_run_checks_the_space_and_says_what_it_needs(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    db = tmp_path / "d" / "o.db"
    dry = run_cli("--data-dir", clean_root.root, "--db", db, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert re.search(r"a real run takes about \d+ (s|min) \(twice this dry run's time", dry.stdout)
    needed = _needs(dry.stdout)
    short = run_cli(
        "--data-dir",
        clean_root.root,
        "--db",
        db,
        "--dry-run",
        env={"ASYNCMIG_FREE_BYTES": str(needed // 2)},
    )
    assert short.returncode == 2
    assert "not enough free space" in short.stderr
    assert list(tmp_path.iterdir()) == []


# 5. and 6. A resumed run's throughput and rejects are its own; wording for each case.


def test_a_resume_counts_its_own_records_and_names_the_earlier_rejects(
    data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "o.db"
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    killed = run_cli(
        "--data-dir", data, "--db", db, *BATCH, "--rejects", first,
        env={"ASYNCMIG_KILL_AT": "commit:60"},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    assert first.stat().st_size > 0
    resumed = run_cli("--data-dir", data, "--db", db, *BATCH, "--resume", "--rejects", second)
    assert resumed.returncode == 3, resumed.stderr
    out = resumed.stdout
    line = re.search(
        r"migrated ([\d,]+) of ([\d,]+) records \(([\d,]+) of them read by earlier runs\); "
        r"this run: ([\d,]+) records in ([\d.]+) s \(([\d,]+) records/s",
        out,
    )
    assert line, out
    found, earlier, this_run = (int(line[n].replace(",", "")) for n in (2, 3, 4))
    assert 0 < earlier < found
    assert this_run == found - earlier
    seconds, rate = float(line[5]), int(line[6].replace(",", ""))
    assert rate == pytest.approx(this_run / seconds, rel=0.05, abs=2)
    assert "the rejects file lists every one" not in out
    assert f"the earlier runs' rejects files (the records they did not migrate):\n  {first}" in out
    assert "already migrated by the interrupted run" in out
    assert out.rstrip().splitlines()[-1].startswith(f"rejects file: {second} (")


def test_a_resume_given_the_same_rejects_file_keeps_the_earlier_one(
    data: Path, tmp_path: Path
) -> None:
    db, rejects = tmp_path / "o.db", tmp_path / "rejects.jsonl"
    killed = run_cli(
        "--data-dir", data, "--db", db, *BATCH, "--rejects", rejects,
        env={"ASYNCMIG_KILL_AT": "commit:60"},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    earlier = rejects.read_bytes()
    assert earlier
    resumed = run_cli("--data-dir", data, "--db", db, *BATCH, "--resume", "--rejects", rejects)
    assert resumed.returncode == 3, resumed.stderr
    aside = tmp_path / "rejects.earlier-1.jsonl"
    assert aside.read_bytes() == earlier, "the earlier run's rejects are not written over"
    assert f"\n  {aside}\n" in resumed.stdout
    assert resumed.stdout.rstrip().splitlines()[-1].startswith(f"rejects file: {rejects} (")


def test_a_finished_migration_brought_up_to_date_is_not_called_interrupted(
    data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "o.db"
    assert (
        run_cli("--data-dir", data, "--db", db, "--rejects", tmp_path / "a.jsonl").returncode == 3
    )
    projects = data / "project_storage" / "projects.json"
    projects.write_text(projects.read_text().replace('"name": "', '"name": "edited ', 1))
    again = run_cli("--data-dir", data, "--db", db, "--resume", "--rejects", tmp_path / "b.jsonl")
    assert again.returncode == 3, again.stderr
    assert "interrupted run" not in again.stdout
    assert "brought up to date:" in again.stdout
    assert "project_storage/projects.json changed since the finished migration" in again.stdout
    assert f"\n  {tmp_path / 'a.jsonl'}\n" in again.stdout


# 7. Two runs on one database at once: the second is refused, naming the first.


def _start(data: Path, db: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "asyncmig", "--data-dir", str(data), "--db", str(db), *BATCH],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_a_second_run_is_refused_naming_the_first(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    db = tmp_path / "o.db"
    lock = tmp_path / ".o.db.asyncmig-lock"
    first = _start(trap_root.root, db)
    try:
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None, "the first run ended before it took the lock"
            assert time.monotonic() < deadline, "no lock was taken"
            time.sleep(0.005)
        first.send_signal(signal.SIGSTOP)  # holds the lock, between any two steps
        second = run_cli("--data-dir", trap_root.root, "--db", db)
        dry = run_cli("--data-dir", trap_root.root, "--db", db, "--dry-run")
    finally:
        first.send_signal(signal.SIGCONT)
        _, err = first.communicate(timeout=120)
    for refused in (second, dry):
        assert refused.returncode == 2, refused.stderr
        assert f"in use by another asyncmig run (process {first.pid})" in refused.stderr
    assert first.returncode == 3, err
    assert not lock.exists(), "the lock file goes with the run"


def test_two_runs_started_together_one_is_refused(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    for attempt in range(3):
        db = tmp_path / str(attempt) / "o.db"
        runs = [_start(clean_root.root, db) for _ in range(2)]
        ended = sorted((run.wait(timeout=120), run.communicate()[1]) for run in runs)
        (ok, _), (refused, why) = ended
        assert ok == 0
        assert refused == 2, why
        assert "database is locked" not in why
        assert "in use by another asyncmig run" in why or "already holds a completed" in why


# 8. A refused --resume makes no folder.


def test_a_refused_resume_makes_no_folder(clean_root: GenerateResult, tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "o.db"
    done = run_cli("--data-dir", clean_root.root, "--db", db, "--resume")
    assert done.returncode == 2
    assert "nothing to resume" in done.stderr
    assert not (tmp_path / "a").exists()
