"""No output destroys anything: every output path is checked before anything is written."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import PROJECT_ROOT, run_cli, tree_digest

from asyncmig.storage import write_atomically

if TYPE_CHECKING:
    from benchmarks.generate import GenerateResult

OPTIONS = ("--report", "--state-file", "--rejects", "--log-file")


@pytest.fixture
def own_root(clean_root: GenerateResult, tmp_path: Path) -> Path:
    """A copy of the clean data root for a test that points outputs into it: should the
    code under test write there after all, the shared root stays as it was."""
    return Path(shutil.copytree(clean_root.root, tmp_path / "data"))


def _refused(done: subprocess.CompletedProcess[str], option: str, path: str | Path) -> str:
    """The refusal's one line, checked: exit 2, the option, the path and a way out."""
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("asyncmig: error: cannot write the "), line
    assert f" {path} ({option}): " in line, line
    assert "; pass " in line or "; name a file" in line or "; give each" in line, line
    return line


def _target(kind: str, tmp_path: Path, root: Path) -> Path:
    """A path of each kind no output may be."""
    db = tmp_path / "o.db"
    if kind in ("db", "db-wal", "db-shm", "db-journal"):
        return db if kind == "db" else db.with_name(db.name + kind.removeprefix("db"))
    if kind == "source":
        return root / "chat_storage" / "chats.json"
    if kind == "new file in the data root":
        return root / "notes.txt"
    if kind == "backup":  # a backup folder an earlier run made beside the database
        folder = tmp_path / "backup-20260101-000000"
        folder.mkdir(exist_ok=True)
        return folder / "out.json"
    assert kind == "folder"
    (tmp_path / "folder").mkdir(exist_ok=True)
    return tmp_path / "folder"


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize(
    "kind", ["db", "db-wal", "db-shm", "source", "new file in the data root", "backup", "folder"]
)
def test_an_output_that_would_destroy_something_is_refused_first(
    own_root: Path, tmp_path: Path, option: str, kind: str
) -> None:
    root = own_root
    before = tree_digest(root)
    target = _target(kind, tmp_path, root)
    done = run_cli("--data-dir", root, "--db", tmp_path / "o.db", option, target)
    line = _refused(done, option, target)
    why = {
        "db": "it is the database",
        "source": "inside the data directory",
        "new file in the data root": "inside the data directory",
        "backup": "inside the backup folder",
        "folder": "it is a folder",
    }.get(kind, "a file SQLite keeps beside the database")
    assert why in line
    assert tree_digest(root) == before, "the source is untouched"
    assert not (tmp_path / "o.db").exists(), "refused before the database is made"
    made = {"backup-20260101-000000"} if kind == "backup" else set()
    assert {p.name for p in tmp_path.glob("backup-*")} == made, "no backup was made"


@pytest.mark.parametrize(
    ("first", "second"),
    [("--report", "--rejects"), ("--log-file", "--report"), ("--rejects", "--state-file")],
)
def test_two_outputs_on_one_file_are_refused(
    clean_root: GenerateResult, tmp_path: Path, first: str, second: str
) -> None:
    same = tmp_path / "out.json"
    done = run_cli(
        "--data-dir", clean_root.root, "--db", tmp_path / "o.db", first, same, second, same
    )
    # The later of the two in the order outputs are checked is the one refused.
    order = ("--state-file", "--rejects", "--report", "--log-file")
    line = _refused(done, max(first, second, key=order.index), same)
    assert "it is also the " in line
    assert not same.exists()
    assert not (tmp_path / "o.db").exists()


def test_an_output_on_the_default_state_file_is_refused(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    state = tmp_path / ".migration-state.json"
    done = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "o.db", "--report", state)
    assert "it is also the state file (--state-file" in _refused(done, "--report", state)


def test_a_hard_link_to_a_source_is_refused(own_root: Path, tmp_path: Path) -> None:
    source = own_root / "project_storage" / "projects.json"
    link = tmp_path / "run.log"
    os.link(source, link)
    before = source.read_bytes()
    done = run_cli("--data-dir", own_root, "--db", tmp_path / "o.db", "--log-file", link)
    assert "a hard link to a file of the data directory" in _refused(done, "--log-file", link)
    assert source.read_bytes() == before


def test_symlinked_outputs_are_written_through(clean_root: GenerateResult, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    links = {}
    for option, name in zip(OPTIONS, ("r.json", "s.json", "x.jsonl", "l.log"), strict=True):
        (elsewhere / name).write_text("old\n")
        links[option] = tmp_path / f"link-{name}"
        links[option].symlink_to(elsewhere / name)
    args = [a for option, link in links.items() for a in (option, link)]
    done = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "o.db", *args)
    assert done.returncode == 0, done.stderr
    for link in links.values():
        assert link.is_symlink(), f"{link} was replaced by a file"
    assert json.loads((elsewhere / "r.json").read_text())["exit_status"] == 0
    assert json.loads((elsewhere / "s.json").read_text())["status"] == "complete"
    assert (elsewhere / "x.jsonl").read_text() == "", "truncated: nothing was rejected"
    assert (elsewhere / "l.log").read_text().startswith("old\n"), "the log is appended to"
    assert " asyncmig ended: exit status 0 " in (elsewhere / "l.log").read_text()
    assert not list(elsewhere.glob(".*.tmp")), "no temporary file is left"


def test_a_symlink_into_the_data_root_is_refused(own_root: Path, tmp_path: Path) -> None:
    source = own_root / "chat_storage" / "chats.json"
    before = source.read_bytes()
    link = tmp_path / "report.json"
    link.symlink_to(source)
    done = run_cli("--data-dir", own_root, "--db", tmp_path / "o.db", "--report", link)
    assert "inside the data directory" in _refused(done, "--report", link)
    assert source.read_bytes() == before
    assert link.is_symlink()


@pytest.mark.parametrize("option", ["--report", "--state-file"])
def test_a_file_replaced_whole_must_be_a_regular_file(
    clean_root: GenerateResult, tmp_path: Path, option: str
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "o.db", option, fifo)
    assert "it is a pipe, and the " in _refused(done, option, fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode), "the pipe is still a pipe"
    assert not (tmp_path / "o.db").exists()


@pytest.mark.parametrize("name", ["a link to fd 1", "/dev/stdout"])
def test_report_on_stdout_is_refused_and_never_replaced(
    clean_root: GenerateResult, tmp_path: Path, name: str
) -> None:
    """/dev/stdout is this run's stdout (here a pipe, on a terminal a device): the report is
    replaced whole, so it is refused, before the load; the link is never replaced."""
    if name == "/dev/stdout":
        if os.geteuid() == 0:
            # A regression would replace /dev/stdout of the whole machine (the old code
            # did): as root the link of the same kind below stands in for it.
            pytest.skip("as root only a link in tmp_path to /proc/self/fd/1 is risked")
        link = Path(name)
    else:
        link = tmp_path / "stdout"
        link.symlink_to("/proc/self/fd/1")
    done = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "o.db", "--report", link)
    assert "it is a pipe" in _refused(done, "--report", link)
    assert link.is_symlink()
    assert os.readlink(link) == "/proc/self/fd/1"
    assert not (tmp_path / "o.db").exists(), "refused before the load, not after it"


def test_streams_take_the_rejects_and_the_log(trap_root: GenerateResult, tmp_path: Path) -> None:
    """The rejects file and the log are written as streams: /dev/null discards them, never
    replaced; a pipe nobody reads is refused (opening it would wait forever)."""
    done = run_cli(
        "--data-dir", trap_root.root, "--db", tmp_path / "o.db", "--no-backup",
        "--rejects", "/dev/null", "--log-file", "/dev/null",
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not list(tmp_path.glob("*.jsonl")), "no default rejects file beside the database"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = run_cli("--data-dir", trap_root.root, "--db", tmp_path / "p.db", "--rejects", fifo)
    assert "it is a pipe that nobody reads" in _refused(done, "--rejects", fifo)


def test_an_output_on_the_redirected_stdout_is_refused(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    args = ["--data-dir", str(clean_root.root), "--db", str(tmp_path / "o.db"), "--report"]
    with out.open("w") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "asyncmig", *args, str(out)],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert "it is where this run's standard output or error already goes" in done.stderr
    assert not (tmp_path / "o.db").exists()


def test_missing_folders_are_made_for_every_output(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    paths = {option: tmp_path / option.strip("-") / "deeper" / "out" for option in OPTIONS}
    args = [a for option, path in paths.items() for a in (option, path)]
    done = run_cli("--data-dir", trap_root.root, "--db", tmp_path / "o.db", *args)
    assert done.returncode == 3, done.stderr
    assert json.loads(paths["--state-file"].read_text())["status"] == "complete"
    assert json.loads(paths["--report"].read_text())["exit_status"] == 3
    assert paths["--rejects"].read_text().count("\n") > 0
    assert " asyncmig ended: exit status 3 " in paths["--log-file"].read_text()


@pytest.mark.parametrize("option", OPTIONS)
def test_a_folder_that_cannot_be_made_is_refused_first(
    clean_root: GenerateResult, tmp_path: Path, option: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    path = blocker / "out"
    done = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "o.db", option, path)
    assert "is not a folder" in _refused(done, option, path)
    assert not (tmp_path / "o.db").exists()
    assert blocker.read_text() == "not a folder\n"


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="root writes in a folder without write permission (and where the interpreter "
    "lives under /root, no unprivileged user can run it)",
)
def test_a_folder_without_write_permission_is_refused_first(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    done = run_cli(
        "--data-dir", clean_root.root, "--db", tmp_path / "o.db", "--report", locked / "r.json"
    )
    assert "cannot write in" in _refused(done, "--report", locked / "r.json")


def test_the_log_file_is_private_and_marks_each_run(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    done = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "o.db", "--log-file", log)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    again = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "o.db", "--log-file", log)
    assert again.returncode == 2, "refused: the database holds a finished migration"
    lines = log.read_text().splitlines()
    started = [line for line in lines if " INFO asyncmig 0.1.0 started: asyncmig migrate " in line]
    ended = [line.split(" INFO ")[1] for line in lines if " INFO asyncmig ended: " in line]
    assert len(started) == 2
    assert f"--log-file {log} " in started[0]
    assert "(pid " in started[0]
    assert [e.split(" after ")[0] for e in ended] == [
        "asyncmig ended: exit status 0",
        "asyncmig ended: exit status 2",
    ]
    assert lines[0] == started[0], "the run's first line"
    assert lines[-1].endswith(ended[-1]), "the run's last line"


def test_an_existing_log_file_keeps_its_mode(clean_root: GenerateResult, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("earlier\n")
    log.chmod(0o640)
    done = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "o.db", "--log-file", log)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o640, "the owner chose it"
    assert log.read_text().startswith("earlier\n")


def test_write_atomically_writes_through_a_symlink(tmp_path: Path) -> None:
    folder = tmp_path / "real"
    folder.mkdir()
    (folder / "f.json").write_bytes(b"old")
    link = tmp_path / "link.json"
    link.symlink_to(folder / "f.json")
    write_atomically(link, b"new")
    assert link.is_symlink()
    assert (folder / "f.json").read_bytes() == b"new"
    assert sorted(p.name for p in folder.iterdir()) == ["f.json"], "the temporary file is gone"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real"]


def test_write_atomically_never_replaces_a_pipe_or_a_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        write_atomically(fifo, b"x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    with pytest.raises(OSError, match="not a regular file"):
        write_atomically(tmp_path, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]
