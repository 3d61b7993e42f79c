"""Every failure speaks: one clear line with the way out and the README's exit status, a
report for every run, a state file that never runs ahead of the checkpoint, the small CLI
items. Real ``python -m asyncmig`` processes, a real full disk (a small tmpfs, or
RLIMIT_FSIZE) and real permissions (root without its capability to override them)."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import PROJECT_ROOT, run_cli
from test_safety import assert_oracle

import asyncmig
from asyncmig.options import Options

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from benchmarks.generate import GenerateResult

BATCH = ("--batch-size", "5")
#: Linux capabilities that let root read and write whatever the modes say.
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2
_PR_CAPBSET_DROP = 24
#: The line a failure or refusal is reported on.
_FAILED = re.compile(r"asyncmig( \w+)?: (migration failed|failed|error): ")


@pytest.fixture
def data(trap_root: GenerateResult, tmp_path: Path) -> Path:
    """A private copy of the trap root, free to edit."""
    return Path(shutil.copytree(trap_root.root, tmp_path / "data", symlinks=True))


def run(
    *args: str | Path,
    preexec_fn: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m asyncmig`` as conftest.run_cli runs it, with a ``preexec_fn``."""
    return subprocess.run(
        [sys.executable, "-m", "asyncmig", *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})},
        preexec_fn=preexec_fn,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_one_clear_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """No traceback, and the failure's own line names every one of ``words``."""
    assert "Traceback" not in done.stderr, done.stderr
    failed = [line for line in done.stderr.splitlines() if _FAILED.match(line)]
    assert len(failed) == 1, done.stderr
    for word in words:
        assert word in failed[0], failed[0]


def ledger_done(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM asyncmig_files "
                "WHERE status IN ('migrated', 'damaged', 'orphaned')"
            ).fetchone()[0]
        )


def ledger_tables(db: Path) -> dict[str, int]:
    """Records found per table, as the committed checkpoint counts them."""
    found: dict[str, int] = {}
    with closing(sqlite3.connect(db)) as conn:
        for table, counts in conn.execute("SELECT tbl, counts FROM asyncmig_files"):
            seen = json.loads(counts)["found"] if counts else 0
            found[table] = found.get(table, 0) + seen
    return found


def assert_state_agrees(state_path: Path, db: Path) -> dict[str, Any]:
    """The state file says what the checkpoint committed: never more, never "loading"."""
    state: dict[str, Any] = json.loads(state_path.read_text())
    assert state["status"] in ("incomplete", "interrupted", "failed", "complete"), state
    assert "checkpoint" in state["checkpoint"]
    assert state["files_done"] <= ledger_done(db)
    if state["status"] != "incomplete":  # written at the end, from the last commit
        assert state["files_done"] == ledger_done(db)
        committed = ledger_tables(db)
        assert {t: c["found"] for t, c in state["tables"].items() if c["found"]} == {
            t: n for t, n in committed.items() if n
        }
    return state


# --- a full disk -----------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a tmpfs of a given size (``"64k"``), or grow it; unmounted after the test.
    Needs root with CAP_SYS_ADMIN: skipped otherwise (RLIMIT_FSIZE cannot fill the disk
    under one small file while a bigger one, the database, goes on growing)."""
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if os.geteuid() != 0 or mount is None or umount is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted: list[Path] = []

    def make(size: str) -> Path:
        option = f"remount,size={size}" if mounted else f"size={size}"
        done = subprocess.run(
            [mount, "-t", "tmpfs", "-o", option, "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield make
    if mounted:
        subprocess.run([umount, "-l", str(folder)], check=False)


def _fill(folder: Path) -> None:
    """Take every free byte of ``folder``'s file system."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError, match="No space left") as full:  # noqa: PT012 - fills it
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    assert full.value.errno == errno.ENOSPC


def test_a_full_disk_under_the_state_file_names_it_and_the_way_out(
    data: Path, tmp_path: Path, small_disk: Callable[[str], Path]
) -> None:
    disk = small_disk("64k")
    _fill(disk)
    db, state = tmp_path / "o.db", disk / "s.json"
    full = run("--data-dir", data, "--db", db, *BATCH, "--no-backup", "--state-file", state)
    assert full.returncode == 1, full.stderr
    assert_one_clear_line(
        full, f"could not write the state file {state}", "No space left", str(disk), "needed"
    )
    assert f"--resume --state-file {state}" in full.stderr
    assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # no temporary file left
    small_disk("1m")
    resumed = run("--data-dir", data, "--db", db, *BATCH, "--resume", "--state-file", state)
    assert resumed.returncode == 3, resumed.stderr
    assert assert_state_agrees(state, db)["status"] == "complete"
    assert_oracle(db, data)


def test_a_small_disk_for_the_whole_run_speaks_and_resume_finishes(
    data: Path, small_disk: Callable[[str], Path]
) -> None:
    disk = small_disk("10m")  # the database and its WAL outgrow it part-way
    db = disk / "o.db"
    # The space check refuses this disk up front (tests/test_truthful_checks.py); here the
    # disk fills while the run writes, as when something else takes the space meanwhile.
    room = {"ASYNCMIG_FREE_BYTES": str(10**12)}
    full = run("--data-dir", data, "--db", db, *BATCH, "--no-backup", env=room)
    assert full.returncode == 1, full.stderr
    assert_one_clear_line(full, "is full", str(disk))
    assert f"--db {db} --resume" in full.stderr
    assert not [p for p in disk.iterdir() if p.name.endswith(".tmp")]
    assert_state_agrees(disk / ".migration-state.json", db)
    small_disk("64m")
    resumed = run("--data-dir", data, "--db", db, *BATCH, "--resume")
    assert resumed.returncode == 3, resumed.stderr
    assert assert_state_agrees(disk / ".migration-state.json", db)["status"] == "complete"
    assert_oracle(db, data)


def test_a_failed_run_writes_its_report_and_a_true_state_file(data: Path, tmp_path: Path) -> None:
    """RLIMIT_FSIZE: every write past 8 MiB fails, as on a disk that fills up."""
    db, report = tmp_path / "o.db", tmp_path / "r.json"
    limit = 8 * 2**20

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = run(
        "--data-dir", data, "--db", db, *BATCH, "--no-backup", "--report", report,
        preexec_fn=small_files,
    )  # fmt: skip
    assert full.returncode == 1, full.stderr
    assert_one_clear_line(full, f"could not write {db}")
    document = json.loads(report.read_text())
    assert document["exit_status"] == 1
    assert document["ended"].startswith("migration failed: could not write")
    assert document["totals"]["found"] > 0
    assert_state_agrees(tmp_path / ".migration-state.json", db)


# --- permissions -------------------------------------------------------------------------


def _as_an_ordinary_user() -> Callable[[], None] | None:
    """A preexec_fn that makes the run obey file modes. Running as root, a setuid to
    nobody cannot work here (the interpreter lives under /root, mode 0700): root keeps its
    uid but drops the two capabilities that override modes, so it is refused like any
    user. None when not root (modes apply already)."""
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
            if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    probe = subprocess.run(
        [sys.executable, "-c", "pass"], preexec_fn=drop, capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE (no prctl here)")
    return drop


def test_an_unreadable_data_file_is_refused_before_anything_is_written(
    data: Path, tmp_path: Path
) -> None:
    secret = data / "chat_storage/chats.json"
    secret.chmod(0)
    db = tmp_path / "o.db"
    drop = _as_an_ordinary_user()
    done = run("--data-dir", data, "--db", db, preexec_fn=drop)
    # Issue 10: refused up front (exit 2, nothing written), no longer a failed backup.
    assert done.returncode == 2, done.stderr
    assert_one_clear_line(done, f"{secret} (Permission denied)", "give this user read access")
    assert not db.exists()


@pytest.mark.parametrize(("below", "way_out"), [("", "choose another folder"), ("sub", "")])
def test_a_backup_folder_that_cannot_be_made_is_one_line(
    data: Path, tmp_path: Path, below: str, way_out: str
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    done = run(
        "--data-dir", data, "--db", tmp_path / "o.db", "--backup-dir", locked / below,
        preexec_fn=_as_an_ordinary_user(),
    )  # fmt: skip
    # 2 when the backup folder is refused; 1 while the free-space check makes its parent
    # (safety.refusals.check_space) and meets the OSError first.
    assert done.returncode in (1, 2), done.stderr
    assert_one_clear_line(done, "Permission denied", str(locked), way_out)


# --- the report of a run that did not finish, and the state file -------------------------


def _wait_for_done_files(db: Path, files: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if ledger_done(db) >= files:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.005)
    raise AssertionError("the run did not commit files in time")


def test_an_interrupted_run_writes_its_report_and_a_true_state_file(
    data: Path, tmp_path: Path
) -> None:
    db, report = tmp_path / "o.db", tmp_path / "r.json"
    command = [sys.executable, "-m", "asyncmig", "--data-dir", str(data), "--db", str(db)]
    with subprocess.Popen(
        [*command, "--batch-size", "1", "--no-backup", "--report", str(report)],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        _wait_for_done_files(db, 3)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert f"--db {db} --resume" in stderr
    document = json.loads(report.read_text())
    assert document["exit_status"] == 130
    assert document["ended"] == "interrupted by SIGINT"
    state = assert_state_agrees(tmp_path / ".migration-state.json", db)
    assert state["status"] == "interrupted"


def test_after_sigkill_the_state_file_is_not_false(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    killed = run_cli(
        "--data-dir", data, "--db", db, *BATCH, "--no-backup", env={"ASYNCMIG_KILL_AT": "commit:40"}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    state = assert_state_agrees(tmp_path / ".migration-state.json", db)
    assert state["status"] == "incomplete"  # not "loading": no run is loading any more
    assert state["phase"] == "loading"  # what the checkpoint says
    done_before = ledger_done(db)
    again = run_cli(
        "--data-dir", data, "--db", db, *BATCH, "--resume", env={"ASYNCMIG_KILL_AT": "commit:1"}
    )
    assert again.returncode == -signal.SIGKILL, again.stderr
    rewritten = assert_state_agrees(tmp_path / ".migration-state.json", db)
    assert rewritten["pid"] != state["pid"]  # the resume rewrote it before its first commit
    assert rewritten["files_done"] == done_before


# --- options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", str(10**30)], "--batch-size: expected at most 1,000,000"),
        (["--max-rejects", str(10**30)], "--max-rejects: expected at most"),
        (["--workers", "100000"], "--workers: expected at most 64"),
        (["--progress-interval", "-5"], "--progress-interval: expected seconds"),
        (["--progress-interval", "nan"], "--progress-interval: expected seconds"),
        (["--progress-interval", "inf"], "--progress-interval: expected seconds"),
        (["--no-backup", "--backup-dir", "bk"], "--no-backup makes no backup"),
    ],
)
def test_numbers_and_contradictions_are_usage_errors(
    args: list[str], message: str, data: Path, tmp_path: Path
) -> None:
    done = run_cli("--data-dir", data, *args, "--db", tmp_path / "d" / "x.db")
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "d").exists()


def test_options_take_str_and_pathlike_paths(tmp_path: Path) -> None:
    class Where:
        def __fspath__(self) -> str:
            return str(tmp_path / "s.json")

    options = Options(data_dir="data", db="x.db", state_file=Where(), batch_size=7)
    assert options.data_dir == Path("data")
    assert options.db == Path("x.db")
    assert options.state_path == tmp_path / "s.json"
    assert options.rejects is None
    with pytest.raises(asyncmig.ConfigError, match="--batch-size must be a positive integer"):
        Options(batch_size=10**30)
    with pytest.raises(asyncmig.ConfigError, match="--no-backup makes no backup"):
        Options(backup=False, backup_dir="bk")


@pytest.mark.anyio
async def test_the_library_migrates_with_str_paths(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    db = str(tmp_path / "m.db")
    report = await asyncmig.migrate(Options(data_dir=str(clean_root.root), db=db, workers=1))
    assert report.exit_code == 0
    assert Path(db).exists()


def test_printed_commands_name_the_state_file_and_quote_paths() -> None:
    options = Options(data_dir="my data", db="out/o.db", state_file="odd\nname.json", strict=True)
    assert options.resume_command == (
        "python -m asyncmig --data-dir 'my data' --db out/o.db --resume "
        "--state-file $'odd\\nname.json' --strict"
    )
    assert options.rollback_command(Path("out/backup-1")) == (
        "python -m asyncmig rollback --db out/o.db --state-file $'odd\\nname.json' "
        "--data-dir 'my data' --restore out/backup-1"
    )


# --- the command line's small items ------------------------------------------------------


def test_version() -> None:
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"python -m asyncmig {asyncmig.__version__}"
    for command in ("verify", "rollback"):  # after a command too (it was refused there)
        done = run_cli(command, "--version")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"python -m asyncmig {command} {asyncmig.__version__}"


def test_usage_names_the_program_as_it_was_run(tmp_path: Path) -> None:
    assert run_cli("--help").stdout.startswith("usage: python -m asyncmig ")
    script = tmp_path / "bin" / "asyncmig"  # what pip writes for the console script
    script.parent.mkdir()
    script.write_text("import sys\nfrom asyncmig.cli import main_entry\nsys.exit(main_entry())\n")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    for words, usage in (([], "usage: asyncmig "), (["verify"], "usage: asyncmig verify ")):
        done = subprocess.run(
            [sys.executable, str(script), *words, "--help"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(usage), done.stdout


def test_a_newline_in_a_file_name_does_not_split_a_log_line(data: Path, tmp_path: Path) -> None:
    (data / "notes\nevil\x1b[2J.json").write_text("[]")
    # Progress lines (which name the file in flight) are output.progress's to escape.
    no_progress = ("--progress-interval", "86400")
    done = run_cli(
        "--data-dir", data, "--db", tmp_path / "o.db", "--no-backup", "--verbose", *no_progress
    )
    assert done.returncode == 3, done.stderr
    assert "notes\\nevil\\x1b[2J.json" in done.stderr
    assert "\x1b" not in done.stderr
    for line in done.stderr.splitlines():
        assert line.startswith("asyncmig"), line
