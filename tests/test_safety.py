"""Never lose data: backups, refusals, edited sources, a full disk, modes, rollback.

Real ``python -m asyncmig`` processes on copies of the generated trap root."""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import PROJECT_ROOT, run_cli, tree_digest
from oracle import expected
from test_migrate import assert_rows_match

if TYPE_CHECKING:
    from benchmarks.generate import GenerateResult

BATCH = ("--batch-size", "5")
KILLED = -9


@pytest.fixture
def data(trap_root: GenerateResult, tmp_path: Path) -> Path:
    """A private copy of the trap root, free to edit."""
    return Path(shutil.copytree(trap_root.root, tmp_path / "data", symlinks=True))


def assert_oracle(db: Path, root: Path) -> None:
    """The database holds exactly what the spec reading of ``root`` says."""
    with closing(sqlite3.connect(db)) as conn:
        (migrated_at,) = conn.execute(
            "SELECT value FROM asyncmig_run WHERE key = 'migrated_at'"
        ).fetchone()
    assert_rows_match(db, expected(root, migrated_at=int(migrated_at)))


def kill_after(data: Path, db: Path, point: str) -> None:
    killed = run_cli("--data-dir", data, "--db", db, *BATCH, env={"ASYNCMIG_KILL_AT": point})
    assert killed.returncode == KILLED, killed.stderr


def status_of(db: Path, rel: str) -> str:
    with closing(sqlite3.connect(db)) as conn:
        row = conn.execute("SELECT status FROM asyncmig_files WHERE path = ?", (rel,)).fetchone()
    return str(row[0]) if row else "absent"


def project_files(data: Path) -> list[str]:
    found = sorted(data.glob("project_storage/project_data/*/files.json"))
    return [p.relative_to(data).as_posix() for p in found]


def test_resume_after_an_edit_that_keeps_size_and_mtime(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    kill_after(data, db, "commit:60")
    projects = data / "project_storage/projects.json"
    assert status_of(db, "project_storage/projects.json") == "migrated"
    before = projects.stat()
    text = projects.read_bytes()
    at = text.index(b'"name": "') + len(b'"name": "')
    edited = text[:at] + (b"Z" if text[at : at + 1] != b"Z" else b"Y") + text[at + 1 :]
    projects.write_bytes(edited)
    os.utime(projects, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert projects.stat().st_size == before.st_size
    resumed = run_cli("--data-dir", data, "--db", db, *BATCH, "--resume")
    assert resumed.returncode == 3, resumed.stderr
    assert "project_storage/projects.json changed since the interrupted run" in resumed.stdout
    assert_oracle(db, data)


def test_resume_after_a_file_was_added(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    added = project_files(data)[1]
    aside = tmp_path / "aside.json"
    shutil.move(data / added, aside)
    kill_after(data, db, "commit:60")
    assert status_of(db, project_files(data)[-1]) == "migrated"  # the load went past it
    shutil.move(aside, data / added)
    resumed = run_cli("--data-dir", data, "--db", db, *BATCH, "--resume")
    assert resumed.returncode == 3, resumed.stderr
    assert f"{added} was added since the interrupted run" in resumed.stdout
    assert_oracle(db, data)


def test_resume_after_a_file_was_removed(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    removed = project_files(data)[1]
    kill_after(data, db, "commit:60")
    assert status_of(db, removed) == "migrated"
    (data / removed).unlink()
    resumed = run_cli("--data-dir", data, "--db", db, *BATCH, "--resume")
    assert resumed.returncode == 3, resumed.stderr
    assert f"{removed} is gone since the interrupted run" in resumed.stdout
    assert_oracle(db, data)


def test_a_full_disk_stops_the_run_and_resume_finishes(data: Path, tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes every write past 8 MiB fail with EFBIG: a disk that fills up,
    without root."""
    db = tmp_path / "o.db"
    limit = 8 * 2**20

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = subprocess.run(
        [
            sys.executable,
            "-m",
            "asyncmig",
            "--data-dir",
            str(data),
            "--db",
            str(db),
            *BATCH,
            "--no-backup",
        ],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        preexec_fn=small_disk,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert full.returncode == 1, full.stderr
    assert f"could not write {db}" in full.stderr
    assert "--resume" in full.stderr
    assert "Traceback" not in full.stderr
    assert status_of(db, "project_storage/projects.json") == "migrated"  # stopped mid-load
    resumed = run_cli("--data-dir", data, "--db", db, *BATCH, "--resume")
    assert resumed.returncode == 3, resumed.stderr
    assert_oracle(db, data)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_backup_is_a_verified_copy_with_modes_kept(data: Path, tmp_path: Path) -> None:
    (data / "project_storage/projects.json").chmod(0o640)
    (data / "chat_storage/chats.json").chmod(0o604)
    db = tmp_path / "out" / "o.db"
    done = run_cli("--data-dir", data, "--db", db)
    assert done.returncode == 3, done.stderr
    (folder,) = db.parent.glob("backup-*")
    assert f"backup: {folder}" in done.stdout
    copied = tree_digest(folder)
    manifest = json.loads((folder / ".asyncmig-manifest.json").read_text())
    del copied[".asyncmig-manifest.json"]
    assert copied == tree_digest(data)
    assert {e["path"] for e in manifest["files"]} == set(copied)
    assert _mode(folder) == 0o700
    assert _mode(db) == 0o600
    assert _mode(db.parent / ".migration-state.json") == 0o600
    for side in (db.with_name("o.db-wal"), db.with_name("o.db-shm")):
        assert not side.exists() or _mode(side) == 0o600


def test_too_little_space_stops_before_writing(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "out" / "o.db"
    short = run_cli("--data-dir", data, "--db", db, env={"ASYNCMIG_FREE_BYTES": "1000"})
    assert short.returncode == 2
    assert "not enough free space" in short.stderr
    assert "need about" in short.stderr
    assert not db.parent.exists(), "a refused run makes not even the database's folder"


@pytest.mark.parametrize("flag", ["--no-backup", "--dry-run"])
def test_no_backup_without_asking_for_one(flag: str, data: Path, tmp_path: Path) -> None:
    db = tmp_path / "out" / "o.db"
    done = run_cli("--data-dir", data, "--db", db, flag)
    assert done.returncode == 3, done.stderr
    assert not list(db.parent.glob("backup-*"))
    assert "backup:" not in done.stdout


def test_rollback_restores_the_backup(data: Path, tmp_path: Path) -> None:
    original = tree_digest(data)
    db = tmp_path / "out" / "o.db"
    assert run_cli("--data-dir", data, "--db", db).returncode == 3
    (folder,) = db.parent.glob("backup-*")
    (data / "project_storage/projects.json").write_text("lost")
    (data / "chat_storage/chats.json").unlink()
    asked = run_cli("rollback", "--db", db, "--data-dir", data, "--restore", folder)
    assert asked.returncode == 2  # no terminal to ask on, and no --yes
    assert "--yes" in asked.stderr
    assert db.exists()
    done = run_cli("rollback", "--db", db, "--data-dir", data, "--restore", folder, "--yes")
    assert done.returncode == 0, done.stderr
    assert not db.exists()
    assert not (db.parent / ".migration-state.json").exists()
    assert tree_digest(data) == original


def test_force_moves_the_old_database_into_the_backup(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    assert run_cli("--data-dir", data, "--db", db, "--no-backup").returncode == 3
    with closing(sqlite3.connect(db)) as conn:
        old = conn.execute("SELECT value FROM asyncmig_run WHERE key = 'migrated_at'").fetchone()
    again = run_cli("--data-dir", data, "--db", db, "--force", "--no-backup")
    assert again.returncode == 3, again.stderr
    (kept,) = tmp_path.glob("backup-*/.asyncmig-db/o.db")
    with closing(sqlite3.connect(kept)) as conn:
        assert (
            conn.execute("SELECT value FROM asyncmig_run WHERE key = 'migrated_at'").fetchone()
            == old
        )
    assert_oracle(db, data)


def test_refusals_name_the_way_out(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    nothing = run_cli("--data-dir", data, "--db", db, "--resume")
    assert nothing.returncode == 2
    assert "nothing to resume" in nothing.stderr
    kill_after(data, db, "commit:3")
    again = run_cli("--data-dir", data, "--db", db)
    assert again.returncode == 2
    assert "incomplete migration" in again.stderr
    assert "--resume" in again.stderr
    assert "--force" in again.stderr
    other = tmp_path / "other"
    other.mkdir()
    wrong = run_cli("--data-dir", other, "--db", db, "--resume")
    assert wrong.returncode == 2
    assert f"--data-dir {data.resolve()}" in wrong.stderr
    strict = run_cli("--data-dir", data, "--db", db, "--resume", "--strict")
    assert strict.returncode == 2
    assert "without --strict" in strict.stderr
    assert run_cli("--data-dir", data, "--db", db, "--resume").returncode == 3
    done = run_cli("--data-dir", data, "--db", db, "--resume")
    assert done.returncode == 2
    assert "is complete and no source file changed" in done.stderr


def test_a_database_open_elsewhere_is_refused(data: Path, tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    kill_after(data, db, "commit:3")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT 1 FROM sqlite_master').fetchall(); print('open', flush=True); "
            "sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "open\n"
        refused = run_cli("--data-dir", data, "--db", db, "--resume")
        holder.communicate("")
    assert refused.returncode == 2
    assert "in use by another process" in refused.stderr
    assert "server" in refused.stderr
    assert run_cli("--data-dir", data, "--db", db, "--resume").returncode == 3
