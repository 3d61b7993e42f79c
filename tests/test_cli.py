"""``python -m asyncmig`` as a user runs it: real subprocesses, exit codes, stdout vs stderr."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
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

import asyncmig
from asyncmig.cli import main
from benchmarks.generate import generate

if TYPE_CHECKING:
    from benchmarks.generate import GenerateResult


def test_clean_data_exits_0(clean_root: GenerateResult, tmp_path: Path) -> None:
    db = tmp_path / "data" / "octoprompt.db"
    done = run_cli("--data-dir", clean_root.root, "--db", db, "--batch-size", "50")
    assert done.returncode == 0, done.stderr
    assert "total" in done.stdout
    assert "records/s" in done.stdout
    assert "MB/s" in done.stdout
    assert done.stderr == ""
    with sqlite3.connect(db) as conn:
        count = conn.execute("SELECT count(*) FROM chat_messages").fetchone()[0]
    assert count == clean_root.records["chat_messages"]


def test_problems_exit_3_and_logs_go_to_stderr(trap_root: GenerateResult, tmp_path: Path) -> None:
    done = run_cli("--data-dir", trap_root.root, "--db", tmp_path / "t.db", "--verbose")
    assert done.returncode == 3, done.stderr
    assert "damaged files:" in done.stdout
    assert "records not migrated:" in done.stdout
    assert "asyncmig: INFO:" in done.stderr
    assert "asyncmig:" not in done.stdout


def test_defaults_follow_the_guide(clean_root: GenerateResult, tmp_path: Path) -> None:
    data = tmp_path / "packages" / "server" / "data"
    data.parent.mkdir(parents=True)
    os.symlink(clean_root.root, data)
    done = run_cli(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "octoprompt.db").is_file()


def test_dry_run_creates_no_file(trap_root: GenerateResult, tmp_path: Path) -> None:
    done = run_cli(
        "--data-dir", trap_root.root, "--db", tmp_path / "d" / "o.db", "--dry-run", "--verbose"
    )
    assert done.returncode == 3
    assert "dry run" in done.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "0"], "--batch-size: expected a positive integer, got '0'"),
        (["--batch-size", "ten"], "--batch-size: expected a positive integer, got 'ten'"),
        (["--workers", "-1"], "--workers: expected a positive integer"),
        (["--data-dir", "/nonexistent/asyncmig"], "data directory /nonexistent/asyncmig does not"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str, tmp_path: Path) -> None:
    done = run_cli(*args, "--db", tmp_path / "x.db")
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_unwritable_database_path_exits_2(clean_root: GenerateResult, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = run_cli("--data-dir", clean_root.root, "--db", blocker / "o.db")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "database" in done.stderr


def test_second_run_is_refused(clean_root: GenerateResult, tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    assert run_cli("--data-dir", clean_root.root, "--db", db).returncode == 0
    again = run_cli("--data-dir", clean_root.root, "--db", db)
    assert again.returncode == 2
    assert "already holds a completed migration" in again.stderr
    assert "--force" in again.stderr


def test_help_lists_every_option() -> None:
    done = run_cli("--help")
    assert done.returncode == 0
    for flag in (
        "--data-dir",
        "--db",
        "--batch-size",
        "--workers",
        "--dry-run",
        "--verbose",
        "--strict",
        "--include-orphans",
        "--help",
    ):
        assert flag in done.stdout


def test_main_takes_its_arguments(
    clean_root: GenerateResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--data-dir",
            str(clean_root.root),
            "--db",
            str(tmp_path / "m.db"),
            "--workers",
            "1",
            "--dry-run",
        ]
    )
    assert code == 0
    assert "dry run" in capsys.readouterr().out


def test_public_names_are_exported() -> None:
    public = {
        name
        for name, value in vars(asyncmig).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(asyncmig.__all__) - {"__version__"}
    for name in asyncmig.__all__:
        assert hasattr(asyncmig, name), name


def test_pure_python_ijson_is_warned_about(trap_root: GenerateResult, tmp_path: Path) -> None:
    done = run_cli(
        "--data-dir", trap_root.root, "--db", tmp_path / "p.db", env={"IJSON_BACKEND": "python"}
    )
    assert done.returncode == 3
    assert "pure-Python backend" in done.stderr
    assert "7-20x slower" in done.stderr


def test_a_dead_parser_process_fails_the_run(tmp_path: Path) -> None:
    """Exit 1, one clear line: a parser killed in the middle of the run (as the OOM killer
    would) must not pass for a finished migration."""
    # Killed the moment it exists: whatever it had done, the run cannot have finished.
    big = generate(tmp_path / "big", size_bytes=60 * 2**20, shape="few", seed=3)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [
        sys.executable,
        "-m",
        "asyncmig",
        "--data-dir",
        str(big.root),
        "--db",
        str(tmp_path / "k.db"),
        "--workers",
        "1",
        "--batch-size",
        "1",
    ]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        worker = _wait_for_child(process.pid)
        _wait_for_phase(tmp_path / ".migration-state.json", "loading")
        os.kill(worker, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, (stdout, stderr)
    assert "asyncmig: migration failed: a parser process ended while reading" in stderr
    assert "Traceback" not in stderr
    assert stdout == ""


def _wait_for_child(pid: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            if children:
                return int(children[0])
        time.sleep(0.01)
    raise AssertionError("no parser process appeared")


def _wait_for_phase(state: Path, phase: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):  # not there yet, or being replaced
            if json.loads(state.read_text())["phase"] == phase:
                return
        time.sleep(0.01)
    raise AssertionError(f"the state file never said {phase}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_run_with_130(signum: int, tmp_path: Path) -> None:
    big = generate(tmp_path / "big", size_bytes=60 * 2**20, shape="few", seed=4)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    db = tmp_path / "s.db"
    command = [sys.executable, "-m", "asyncmig", "--data-dir", str(big.root), "--db", str(db)]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        worker = _wait_for_child(process.pid)
        _wait_for_phase(tmp_path / ".migration-state.json", "loading")  # the parser starts first
        os.kill(process.pid, signum)
        stopped = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
    assert time.monotonic() - stopped < 5
    assert process.returncode == 130, (stdout, stderr)
    assert f"interrupted by {signal.Signals(signum).name}" in stderr
    assert f"--db {db} --resume" in stderr
    assert stdout == ""
    state = json.loads((tmp_path / ".migration-state.json").read_text())
    assert state["status"] == "interrupted"
    assert state["resume_command"].endswith("--resume")
    resumed = run_cli("--data-dir", big.root, "--db", db, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    with closing(sqlite3.connect(db)) as conn:
        migrated = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in big.records}  # noqa: S608
    assert migrated == dict(big.records)
    assert json.loads((tmp_path / ".migration-state.json").read_text())["status"] == "complete"
    assert (
        not Path(f"/proc/{worker}").exists()
        or "Z" in Path(f"/proc/{worker}/stat").read_text().split()[2]
    )


def test_a_stopped_force_run_says_where_the_old_database_went(tmp_path: Path) -> None:
    big = generate(tmp_path / "big", size_bytes=30 * 2**20, shape="few", seed=5)
    db = tmp_path / "f.db"
    assert run_cli("--data-dir", big.root, "--db", db, "--no-backup").returncode == 0
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [
        *(sys.executable, "-m", "asyncmig", "--data-dir", str(big.root), "--db", str(db)),
        *("--force", "--batch-size", "1"),
    ]
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as process:
        _wait_for_phase(tmp_path / ".migration-state.json", "loading")
        os.kill(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    (kept,) = tmp_path.glob("backup-*/.asyncmig-db/f.db")
    assert f"the database that was there before is kept in the backup: {kept}" in stderr
