"""Issue 11's landings tried again by hand, as a hostile user would: full disks, signals
and kills at moments the other tests do not try, dry runs, odd summaries, secrets and
progress. Each test here failed before the change it names. Real ``python -m asyncmig``
processes on the generated roots (or private copies of them)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
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
from conftest import PROJECT_ROOT, run_cli, tree_digest
from test_failures_speak import _as_an_ordinary_user, run, small_disk
from test_failures_speak import _fill as fill

from benchmarks.generate import GenerateResult, generate

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("small_disk",)  # a fixture, used by name

BATCH = ("--batch-size", "5")


@pytest.fixture
def data(trap_root: GenerateResult, tmp_path: Path) -> Path:
    """A private copy of the trap root, free to edit."""
    return Path(shutil.copytree(trap_root.root, tmp_path / "data", symlinks=True))


def listed(*files: Path) -> set[tuple[str, int | None, str]]:
    """(file, index, outcome) of every line of these rejects files."""
    found = set()
    for path in files:
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            found.add((entry["file"], entry["index"], entry["outcome"]))
    return found


# --- the rejects file of a killed run ---------------------------------------------------


@pytest.mark.parametrize("point", ["commit:8", "commit:30"])
def test_a_killed_runs_rejects_file_lists_what_its_checkpoint_committed(
    point: str, trap_root: GenerateResult, tmp_path: Path
) -> None:
    """A resume names the earlier run's rejects file as listing the records that run did
    not migrate: after a SIGKILL, it must (lines were held in a buffer past the commit)."""
    whole = tmp_path / "whole.jsonl"
    clean = run_cli(
        "--data-dir", trap_root.root, "--db", tmp_path / "c.db", *BATCH, "--no-backup",
        "--rejects", whole,
    )  # fmt: skip
    assert clean.returncode == 3, clean.stderr
    db, first, second = tmp_path / "o.db", tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    killed = run_cli(
        "--data-dir", trap_root.root, "--db", db, *BATCH, "--no-backup", "--rejects", first,
        env={"ASYNCMIG_KILL_AT": point},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = run_cli(
        "--data-dir", trap_root.root, "--db", db, *BATCH, "--resume", "--rejects", second
    )
    assert resumed.returncode == 3, resumed.stderr
    assert f"the records they did not migrate):\n  {first}" in resumed.stdout
    assert listed(first, second) == listed(whole)


def test_a_default_rejects_name_taken_in_the_same_second_is_not_overwritten(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    """Two runs in one second (a killed run, then --force at once) chose the same default
    name, and the second truncated the first's file."""
    db = tmp_path / "o.db"
    now = time.time()
    taken = {}
    for ahead in range(30):  # every name the run could choose while it starts
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now + ahead))
        path = tmp_path / f"o.rejects-{stamp}.jsonl"
        path.write_text(f"an earlier run's line {ahead}\n")
        taken[path] = path.read_text()
    done = run_cli("--data-dir", trap_root.root, "--db", db, "--no-backup")
    assert done.returncode == 3, done.stderr
    assert {path: path.read_text() for path in taken} == taken
    named = done.stdout.rstrip().splitlines()[-1].removeprefix("rejects file: ").split(" (")[0]
    assert Path(named) not in taken
    assert Path(named).read_text().count("\n") > 10


def test_a_resume_that_had_nothing_left_to_read_says_so_truly(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    """Killed after the load: "migrated 3,249 of 3,318 records (3,318 of them by earlier
    runs)" said more records were migrated by earlier runs than were migrated at all; they
    were read by them."""
    db = tmp_path / "o.db"
    killed = run_cli(
        "--data-dir", trap_root.root, "--db", db, "--no-backup",
        env={"ASYNCMIG_KILL_AT": "loaded:1"},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    resumed = run_cli("--data-dir", trap_root.root, "--db", db, "--resume")
    assert resumed.returncode == 3, resumed.stderr
    line = next(line for line in resumed.stdout.splitlines() if "earlier runs);" in line)
    found = line.split(" of ")[1].split(" records")[0]
    assert f"({found} of them read by earlier runs); this run: 0 records in" in line


# --- outputs on a full disk --------------------------------------------------------------


@pytest.mark.parametrize("option", ["--report", "--log-file"])
def test_a_report_or_log_on_a_full_disk_is_one_line_naming_it(
    option: str, data: Path, tmp_path: Path, small_disk: Callable[[str], Path]
) -> None:
    """The migration finishes; the output it could not write is named with its disk, once,
    and the status says the command did not do everything it was asked (no traceback:
    the log file's used to print one per record, then crash on close)."""
    disk = small_disk("64k")
    fill(disk)
    where = disk / "out"
    done = run_cli("--data-dir", data, "--db", tmp_path / "o.db", "--no-backup", option, where)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "Logging error" not in done.stderr
    said = [line for line in done.stderr.splitlines() if "cannot write" in line]
    assert len(said) == 1, done.stderr
    assert f"{where}: No space left on device" in said[0]
    assert f"the file system mounted at {disk} is full" in said[0]
    assert "migrated" in done.stdout  # the summary of the run all the same


def test_a_rejects_file_on_a_full_disk_is_counted_by_what_it_holds(
    data: Path, tmp_path: Path, small_disk: Callable[[str], Path]
) -> None:
    """The report counted the lines handed to the file, not those on the disk (6 for a
    file of none)."""
    disk = small_disk("16k")
    rejects, report = disk / "r.jsonl", tmp_path / "r.json"
    done = run_cli(
        "--data-dir", data, "--db", tmp_path / "o.db", "--no-backup", "--rejects", rejects,
        "--report", report, *BATCH,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"could not write the rejects file {rejects}" in done.stderr
    held = rejects.read_bytes().count(b"\n")
    assert json.loads(report.read_text())["rejects_lines"] == held


def test_a_disk_too_full_for_the_new_database_leaves_nothing(
    data: Path, small_disk: Callable[[str], Path]
) -> None:
    """The database could not be made: its half was removed, but the backup folder made
    for the run stayed behind, empty, and the next run made another."""
    disk = small_disk("1m")
    room = {"ASYNCMIG_FREE_BYTES": str(10**12)}  # past the space check, as when space goes
    done = run_cli("--data-dir", data, "--db", disk / "o.db", env=room)
    assert done.returncode == 1, done.stderr
    assert f"nothing was written to {disk / 'o.db'}" in done.stderr
    assert list(disk.iterdir()) == []


def test_a_rollback_that_fills_the_data_disk_says_so_and_can_run_again(
    trap_root: GenerateResult, tmp_path: Path, small_disk: Callable[[str], Path]
) -> None:
    """It said "[Errno 28] No space left on device: 'backup/x' -> 'data/x'": no disk, no
    way out (and the disk it would have named was the backup's)."""
    disk = small_disk("16m")
    data = Path(shutil.copytree(trap_root.root, disk / "data", symlinks=True))
    db = tmp_path / "o.db"
    assert run_cli("--data-dir", data, "--db", db).returncode == 3
    (backup,) = tmp_path.glob("backup-*")
    shutil.rmtree(data / "chat_storage")
    fill(disk)
    rollback = ("rollback", "--db", db, "--data-dir", data, "--restore", backup, "--yes")
    done = run_cli(*rollback)
    assert done.returncode == 1, done.stderr
    (said,) = done.stderr.splitlines()
    assert said.startswith(f"asyncmig rollback: failed: could not restore the backup into {data}")
    assert f"No space left on device; the file system mounted at {disk} is full" in said
    assert said.endswith("run the same rollback again once that is fixed")
    assert db.exists()
    (disk / "filler").unlink()
    assert run_cli(*rollback).returncode == 0
    assert tree_digest(data) == tree_digest(trap_root.root)


def test_verify_on_a_full_temporary_disk_names_it(
    tmp_path: Path, small_disk: Callable[[str], Path]
) -> None:
    """verify keeps what it expects in SQLite's temporary files: a full disk there was
    "failed: OperationalError('database or disk is full')", naming neither disk nor way out."""
    root = tmp_path / "data"
    # Big colliding records: what verify holds of them outgrows its 8 MiB of cache.
    generate(root, size_bytes=20 * 2**20, shape="few", seed=4, collide=0.5)
    db = tmp_path / "o.db"
    assert run_cli("--data-dir", root, "--db", db, "--no-backup").returncode in (0, 3)
    disk = small_disk("64k")
    fill(disk)
    done = run_cli("verify", "--data-dir", root, "--db", db, env={"SQLITE_TMPDIR": str(disk)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "asyncmig verify: failed: SQLite's temporary files (what verify expects, kept out of "
        f"memory) filled their disk; the file system mounted at {disk} is full (0.0 KB free); "
        "free space there, or point SQLITE_TMPDIR at a folder with room, and run verify again"
    ]


# --- a database folder the user cannot write -------------------------------------------


def test_a_read_only_database_folder_is_named_first(data: Path, tmp_path: Path) -> None:
    """The folder of the database is the cause: the state file and the rejects file beside
    it were refused one after the other, each with "pass --state-file ..." as the way out."""
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    done = run("--data-dir", data, "--db", folder / "o.db", preexec_fn=_as_an_ordinary_user())
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"asyncmig: error: cannot write the database {folder / 'o.db'}: {folder} is not "
        "writable; pass --db a path in a folder you can write to, or give this user write "
        "access to that folder"
    ]
    assert list(folder.iterdir()) == []


# --- another process on the database -----------------------------------------------------


def start(*args: str | Path) -> subprocess.Popen[str]:
    """``python -m asyncmig`` started in the background, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "asyncmig", *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_commits(db: Path, files: int) -> None:
    """Until the run has committed ``files`` files (read through SQLite, as a reader may)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
                query = "SELECT count(*) FROM asyncmig_files WHERE status = 'migrated'"
                if conn.execute(query).fetchone()[0] >= files:
                    return
        except sqlite3.Error:
            pass
        time.sleep(0.005)
    raise AssertionError("the run did not commit files in time")


def test_a_process_writing_the_database_mid_run_is_named(data: Path, tmp_path: Path) -> None:
    """The server started meanwhile: "database is locked" alone did not say by what."""
    db = tmp_path / "o.db"
    with start("--data-dir", data, "--db", db, "--batch-size", "1", "--no-backup") as run:
        wait_for_commits(db, 3)
        with closing(sqlite3.connect(db, timeout=30, isolation_level=None)) as server:
            server.execute("BEGIN IMMEDIATE")
            _, stderr = run.communicate(timeout=60)
            server.execute("ROLLBACK")
    assert run.returncode == 1, stderr
    failed = [line for line in stderr.splitlines() if "migration failed" in line]
    assert failed == [
        f"asyncmig: migration failed: could not write {db}: database is locked; another "
        "process is writing it (the OctoPrompt server?): stop that process"
    ]
    assert f"--db {db} --resume" in stderr
    resumed = run_cli("--data-dir", data, "--db", db, "--resume")
    assert resumed.returncode == 3, resumed.stderr


# --- signals at each phase ---------------------------------------------------------------


@pytest.fixture(scope="module")
def big_root(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    """20 MB: a backup that takes long enough (about 0.1 s) to be signalled in."""
    root = tmp_path_factory.mktemp("big") / "data"
    return generate(root, size_bytes=20_000_000, shape="many", seed=3, traps=True, collide=0.05)


def signal_at(
    phase: str, signals: tuple[signal.Signals, ...], *args: str | Path, again: str = ""
) -> tuple[int, str]:
    """Run ``python -m asyncmig`` (progress lines on every step), send ``signals`` once a
    progress line of ``phase`` shows, and the first of them again once a line starting
    with ``again`` does (if given); (status, stderr)."""
    with start(*args, "--progress-interval", "0") as run:
        assert run.stderr is not None
        seen, waiting = [], [(f"asyncmig: {phase} ", signals)]
        if again:
            waiting.append((again, signals[:1]))
        for line in run.stderr:
            seen.append(line)
            if line.startswith(waiting[0][0]):
                for signum in waiting.pop(0)[1]:
                    run.send_signal(signum)
                if not waiting:
                    break
        rest = run.communicate(timeout=60)[1]
    return run.returncode, "".join(seen) + rest


def state_and_ledger(folder: Path, db: Path) -> tuple[dict[str, object], str, int]:
    """The state file, and the ledger's phase and files done."""
    state = json.loads((folder / ".migration-state.json").read_text())
    with closing(sqlite3.connect(db)) as conn:
        phase = conn.execute("SELECT value FROM asyncmig_run WHERE key = 'status'").fetchone()[0]
        done = conn.execute(
            "SELECT count(*) FROM asyncmig_files WHERE status IN ('migrated', 'damaged', "
            "'orphaned')"
        ).fetchone()[0]
    return state, str(phase), int(done)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_in_the_backup_stops_it_and_the_state_file_agrees(
    signum: signal.Signals, big_root: GenerateResult, tmp_path: Path
) -> None:
    """The copy ran to its last file before the run stopped (seconds per GB); the state
    file was written while SQLite's thread still wrote the ledger's next phase, and said
    "backup" where the database said "loading"; SIGHUP (a dropped ssh session) killed the
    run with no report."""
    db, report = tmp_path / "o.db", tmp_path / "r.json"
    status, stderr = signal_at(
        "backup", (signum,), "--data-dir", big_root.root, "--db", db, "--report", report
    )
    assert status == 130, stderr
    assert f"interrupted by {signum.name}" in stderr
    assert json.loads(report.read_text())["ended"] == f"interrupted by {signum.name}"
    state, phase, done = state_and_ledger(tmp_path, db)
    assert (state["status"], state["phase"], state["files_done"]) == ("interrupted", phase, done)
    assert phase == "backup"  # stopped in the copy: a resume copies again
    (folder,) = tmp_path.glob("backup-*")
    copied = sum(1 for path in folder.rglob("*") if path.is_file())
    assert copied < sum(1 for path in big_root.root.rglob("*") if path.is_file())
    resumed = run_cli("--data-dir", big_root.root, "--db", db, "--resume")
    assert resumed.returncode == 3, resumed.stderr
    assert (folder / ".asyncmig-manifest.json").is_file()


@pytest.mark.parametrize("phase", ["progress", "finishing"])
def test_a_second_signal_while_the_run_stops_does_not_kill_it(
    phase: str, big_root: GenerateResult, tmp_path: Path
) -> None:
    """SIGTERM twice (a service manager, an impatient user): the second one killed the run
    half-way through its stop, leaving no report and an "incomplete" state file."""
    db, report = tmp_path / "o.db", tmp_path / "r.json"
    twice = (signal.SIGTERM, signal.SIGTERM)
    args = ("--data-dir", big_root.root, "--db", db, "--report", report, "--no-backup")
    status, stderr = signal_at(phase, twice, *args, again="asyncmig: interrupted by")
    assert status == 130, stderr
    assert json.loads(report.read_text())["exit_status"] == 130
    state, ledger_phase, done = state_and_ledger(tmp_path, db)
    assert (state["status"], state["phase"], state["files_done"]) == (
        "interrupted",
        ledger_phase,
        done,
    )


def _committed(db: Path) -> int:
    try:
        with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
            query = "SELECT count(*) FROM asyncmig_files WHERE status = 'migrated'"
            return int(conn.execute(query).fetchone()[0])
    except sqlite3.Error:
        return 0


def test_a_terminal_that_hangs_up_stops_the_run_cleanly(
    big_root: GenerateResult, tmp_path: Path
) -> None:
    """An ssh session that drops: SIGHUP, then every write to the terminal fails. The run
    died of the signal, or (caught) failed on its progress bar's last write: state
    "failed", no report."""
    db, report = tmp_path / "o.db", tmp_path / "r.json"
    args = ["--data-dir", str(big_root.root), "--db", str(db), "--report", str(report)]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: asyncmig on the terminal, as a user starts it
        os.environ["PYTHONPATH"] = str(PROJECT_ROOT)
        command = [sys.executable, "-m", "asyncmig", *args, "--batch-size", "20"]
        os.execv(sys.executable, command)  # noqa: S606 - our interpreter, fixed arguments
    deadline = time.monotonic() + 60
    while _committed(db) < 3 and time.monotonic() < deadline:
        if select.select([terminal], [], [], 0.01)[0]:
            os.read(terminal, 65536)  # what a terminal shows: keeps the run from blocking
    os.close(terminal)  # the hangup
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 130
    document = json.loads(report.read_text())
    assert (document["exit_status"], document["ended"]) == (130, "interrupted by SIGHUP")
    state, phase, done = state_and_ledger(tmp_path, db)
    assert (state["status"], state["phase"], state["files_done"]) == ("interrupted", phase, done)
    resumed = run_cli("--data-dir", big_root.root, "--db", db, "--resume")
    assert resumed.returncode == 3, resumed.stderr


# --- secrets in odd places ----------------------------------------------------------------


def _add_env_in_odd_places(root: Path) -> None:
    """An ``env`` (a config's, copied) in a state, in a tool call's input and result, and
    nested in a config; and a damaged tool executions file that shows one near its damage."""
    mcp = root / "mcp_storage"
    configs = json.loads((mcp / "mcp_server_configs.json").read_text())
    configs["951"] = {"id": 951, "name": "n", "command": "npx", "enabled": "x",
                      "transport": {"env": {"K": "SECRET-1"}}}  # fmt: skip
    (mcp / "mcp_server_configs.json").write_text(json.dumps(configs))
    states = json.loads((mcp / "mcp_server_states.json").read_text())
    states["961"] = {"serverId": "bad", "status": 1, "env": {"TOKEN": "SECRET-2"}}
    (mcp / "mcp_server_states.json").write_text(json.dumps(states))
    calls = json.loads((mcp / "mcp_tool_executions.json").read_text())
    first = next(iter(calls.values()))
    first["result"] = {"env": {"TOKEN": "SECRET-3"}}  # valid: kept, and not carried by Promptliano
    calls["exec_bad"] = {"id": "exec_bad", "toolId": 5, "input": {"env": {"T": "SECRET-4"}}}
    (mcp / "mcp_tool_executions.json").write_text(json.dumps(calls))
    damaged = mcp / "tool_executions.json"
    damaged.write_text('{"e1": {"id": "e1", "input": {"env": {"TOKEN": "SECRET-5"}}')


@pytest.mark.parametrize("target", ["octoprompt-0.6", "promptliano-0.12"])
def test_mcp_env_values_in_odd_places_appear_in_no_output(
    target: str, data: Path, tmp_path: Path
) -> None:
    """Only a server config's top-level ``env`` was redacted: the same values in a state, a
    tool call, nested in a config, or next to a damaged MCP file's damage were in clear."""
    _add_env_in_odd_places(data)
    out = tmp_path / "out"
    rejects, report, log = out / "rejects.jsonl", out / "r.json", out / "log.txt"
    done = run_cli(
        "--data-dir", data, "--db", out / "o.db", "--no-backup", "--target", target, "--verbose",
        "--rejects", rejects, "--report", report, "--log-file", log,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    texts = {
        "stdout": done.stdout,
        "stderr": done.stderr,
        **{p.name: p.read_text() for p in (rejects, report, log, out / ".migration-state.json")},
    }
    assert {name: "SECRET-" in text for name, text in texts.items()} == dict.fromkeys(texts, False)
    assert '"env":{"T":"***redacted***"}' in texts["rejects.jsonl"]  # the names stay


# --- progress and the summary on a terminal ------------------------------------------------


def test_the_re_keying_step_shows_its_progress(trap_root: GenerateResult, tmp_path: Path) -> None:
    """After the load's "100 %", the records waiting for a new id moved without a word (on
    a big root with many collisions, seconds of nothing)."""
    done = run_cli(
        "--data-dir", trap_root.root, "--db", tmp_path / "o.db", "--no-backup",
        "--progress-interval", "0",
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    phases = [line.split()[1] for line in done.stderr.splitlines() if "WARNING" not in line]
    order = list(dict.fromkeys(phases))
    assert order == ["progress", "re-keying", "finishing", "done:"]
    rekeying = [line for line in done.stderr.splitlines() if " re-keying " in line]
    total = rekeying[0].split(" of ")[1]
    assert rekeying[0] == f"asyncmig: re-keying 0 of {total}"
    assert rekeying[-1] == f"asyncmig: re-keying {total.split()[0]} of {total}"


def _on_a_terminal(columns: int, *args: str) -> str:
    """What ``python -m asyncmig`` writes on a terminal ``columns`` wide (both streams)."""
    pid, terminal = pty.fork()
    if pid == 0:
        os.environ.update(PYTHONPATH=str(PROJECT_ROOT), COLUMNS=str(columns))
        command = [sys.executable, "-m", "asyncmig", *args]
        os.execv(sys.executable, command)  # noqa: S606 - our interpreter, fixed arguments
    shown = b""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # the run ended: the terminal has no writer any more
            break
        if not chunk:
            break
        shown += chunk
    os.close(terminal)
    os.waitpid(pid, 0)
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", shown.decode(errors="replace"))  # no styles


@pytest.mark.parametrize("columns", [80, 20])
def test_the_summary_on_a_narrow_terminal_keeps_every_name_and_count(
    columns: int, trap_root: GenerateResult, tmp_path: Path
) -> None:
    """On 80 columns the table cut names to "mcp_ser…" (two rows of it) and on 20 every
    count to "…"."""
    shown = _on_a_terminal(
        columns, "--data-dir", str(trap_root.root), "--db", str(tmp_path / "o.db"), "--no-backup"
    )
    table = shown[shown.index("asyncmig migration:") : shown.index("damaged files:")]
    assert "…" not in table
    for name in ("mcp_server_configs", "mcp_server_states", "ticket_file_links", "total"):
        assert name in table
    assert re.search(r"total +[\d,]+ +[\d,]+", table)
