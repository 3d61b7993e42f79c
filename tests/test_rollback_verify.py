"""Rollback and verify tell the truth and destroy nothing (issue 11).

Real ``python -m asyncmig`` processes on copies of a migrated clean data root: verify names
every object and stored type a migration did not make and leaves its folder as it was;
rollback checks all it will do before it deletes anything, deletes only what asyncmig
wrote, restores only inside the data directory, and ends quietly at its prompt."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest
import xxhash
from conftest import PROJECT_ROOT, run_cli, tree_digest
from test_verify import _sql

import asyncmig
from asyncmig.targets.octoprompt import TARGET
from asyncmig.verify.database import Database

if TYPE_CHECKING:
    from benchmarks.generate import GenerateResult


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


@pytest.mark.parametrize("other", ["nothing", "opens", "writes"])
def test_verify_notices_another_process_at_its_database(copy: Path, other: str) -> None:
    database = Database.open(copy, TARGET)
    assert database.conn.execute("SELECT count(*) FROM chats").fetchone()[0] > 0
    elsewhere = sqlite3.connect(copy)
    try:
        if other == "opens":  # the server starting while verify reads
            elsewhere.execute("SELECT count(*) FROM chats").fetchone()
        elif other == "writes":  # ... and writing, then stopping (its -wal checkpointed)
            with elsewhere:
                elsewhere.execute("DELETE FROM chats WHERE rowid = 1")
            elsewhere.close()
        assert database.changed_elsewhere() is (other != "nothing")
    finally:
        elsewhere.close()
        database.conn.close()


# rollback -------------------------------------------------------------------------------

Migrated = tuple[Path, Path, Path]


@pytest.fixture
def run(clean_root: GenerateResult, tmp_path: Path) -> Migrated:
    """A private copy of the clean root migrated with a backup: (data, db, backup folder)."""
    data = Path(shutil.copytree(clean_root.root, tmp_path / "data", symlinks=True))
    db = tmp_path / "out" / "o.db"
    done = run_cli("--data-dir", data, "--db", db, "--workers", "2")
    assert done.returncode == 0, done.stderr
    (folder,) = db.parent.glob("backup-*")
    return data, db, folder


def _rollback(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli("rollback", *args, "--yes")


def _untouched(data: Path, db: Path, before: dict[str, tuple[str, int]]) -> None:
    """Nothing was removed or changed: the database, its state file, the data root."""
    assert db.exists()
    assert (db.parent / ".migration-state.json").exists()
    assert tree_digest(data) == before


def _edit_manifest(folder: Path, change: dict[str, Any]) -> None:
    manifest = folder / ".asyncmig-manifest.json"
    content = json.loads(manifest.read_text())
    content["files"][0].update(change)
    manifest.write_text(json.dumps(content))


@pytest.mark.parametrize("damage", ["changed", "missing"])
def test_rollback_checks_the_backup_whole_before_it_deletes_anything(
    run: Migrated, damage: str
) -> None:
    data, db, folder = run
    before = tree_digest(data)
    copy = folder / "chat_storage" / "chats.json"
    if damage == "changed":
        copy.write_bytes(copy.read_bytes().replace(b"{", b"[", 1))
    else:
        copy.unlink()
    done = _rollback("--db", db, "--data-dir", data, "--restore", folder)
    assert done.returncode == 2, done.stderr
    assert f"the backup copy {copy} is damaged or missing, so nothing was done" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    _untouched(data, db, before)


def test_rollback_checks_the_database_copy_before_it_deletes_anything(
    run: Migrated, tmp_path: Path
) -> None:
    data, db, _ = run
    again = run_cli("--data-dir", data, "--db", db, "--workers", "2", "--force")
    assert again.returncode == 0, again.stderr
    (copy,) = db.parent.glob("backup-*/.asyncmig-db/o.db")
    folder = copy.parent.parent
    with copy.open("r+b") as stream:  # the first page's B-tree header
        stream.seek(100)
        stream.write(b"\xff" * 12)
    before = tree_digest(data)
    done = _rollback("--db", db, "--data-dir", data, "--restore", folder)
    assert done.returncode == 2, done.stderr
    assert f"the backup's database copy {copy} is damaged or missing" in done.stderr
    _untouched(data, db, before)


@pytest.mark.parametrize("kind", ["no ledger", "wal mode", "not sqlite", "empty file"])
def test_rollback_refuses_a_database_asyncmig_did_not_write(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "their.db"
    if kind == "not sqlite":
        db.write_text("my notes\n")
    elif kind == "empty file":
        db.touch()
    else:
        _sql(db, "CREATE TABLE t (x)", "INSERT INTO t VALUES (1)")
        if kind == "wal mode":
            _sql(db, "PRAGMA journal_mode = WAL")
    content, listing = db.read_bytes(), _listing(tmp_path)
    done = _rollback("--db", db)
    assert done.returncode == 2, done.stderr
    assert "rollback leaves it alone: check --db" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert db.read_bytes() == content
    assert _listing(tmp_path) == listing  # no -shm or -wal left beside it either


def test_rollback_removes_what_a_run_killed_before_its_ledger_left(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    db = tmp_path / "o.db"
    killed = run_cli(
        "--data-dir",
        clean_root.root,
        "--db",
        db,
        "--no-backup",
        env={"ASYNCMIG_KILL_AT": "create:1"},
    )
    assert killed.returncode == -9, killed.stderr
    assert not db.exists()
    assert (tmp_path / ".o.db.asyncmig-new").exists()
    done = _rollback("--db", db)
    assert done.returncode == 0, done.stderr
    assert f"done: delete {tmp_path / '.o.db.asyncmig-new'}" in done.stdout
    assert _listing(tmp_path) == []


def test_rollback_refuses_a_state_file_asyncmig_did_not_write(run: Migrated) -> None:
    data, db, _ = run
    source = data / "chat_storage" / "chats.json"
    before = tree_digest(data)
    done = _rollback("--db", db, "--state-file", source)
    assert done.returncode == 2, done.stderr
    assert f"{source} is not an asyncmig state file" in done.stderr
    _untouched(data, db, before)


@pytest.mark.parametrize("escape", ["dot-dot", "absolute", "symlink", "link loop"])
def test_rollback_never_restores_outside_the_data_dir(
    run: Migrated, tmp_path: Path, escape: str
) -> None:
    data, db, folder = run
    outside = tmp_path / "outside"
    outside.mkdir()
    planted = b'{"planted": true}'
    entry = {"size": len(planted), "digest": xxhash.xxh3_128(planted).hexdigest()}
    if escape == "dot-dot":
        # The file the entry names exists, matches, and would land beside the data root.
        (folder.parent / "evil.json").write_bytes(planted)
        _edit_manifest(folder, {"path": "../evil.json", **entry})
    elif escape == "absolute":
        (outside / "evil.json").write_bytes(planted)
        _edit_manifest(folder, {"path": str(outside / "evil.json"), **entry})
    elif escape == "link loop":
        (data / "loop").symlink_to(data / "loop")
        _edit_manifest(folder, {"path": "loop/evil.json", **entry})
    else:
        # A folder of the data root became a link to another place after the backup.
        shutil.move(data / "chat_storage", outside / "chat_storage")
        (data / "chat_storage").symlink_to(outside / "chat_storage")
    before, elsewhere = tree_digest(data), tree_digest(tmp_path)
    done = _rollback("--db", db, "--data-dir", data, "--restore", folder)
    assert done.returncode == 2, done.stderr
    assert "so nothing was done" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    _untouched(data, db, before)
    assert tree_digest(tmp_path) == elsewhere


def _answer_prompt(db: Path, key: bytes) -> tuple[int, str]:
    """``rollback --db db`` on a pseudo-terminal, ``key`` typed at its question: the exit
    status and everything the terminal showed."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    pid, terminal = pty.fork()
    if pid == 0:  # the child: its stdin, stdout and stderr are the terminal
        os.execve(  # noqa: S606 - our own interpreter, fixed arguments, no shell wanted
            sys.executable, [sys.executable, "-m", "asyncmig", "rollback", "--db", str(db)], env
        )
    try:
        shown = _read_until(terminal, b"Proceed? [y/N] ")
        # Typed as a person would: after the prompt, once the process waits in its read
        # (a SIGINT between the prompt and the read() call waits for the next key).
        time.sleep(0.5)
        os.write(terminal, key)
        shown += _read_until(terminal, None)
    finally:
        os.close(terminal)  # a child still waiting gets SIGHUP: the wait below always ends
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode()


def _read_until(terminal: int, end: bytes | None, seconds: float = 60) -> bytes:
    """What ``terminal`` shows until ``end`` (None: until the child closes it)."""
    shown = b""
    deadline = time.monotonic() + seconds
    while end is None or end not in shown:
        ready, _, _ = select.select([terminal], [], [], max(0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"the terminal showed, in {seconds} s: {shown!r}")
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    return shown


@pytest.mark.parametrize(("key", "status"), [(b"\x04", 1), (b"\x03", 130)])
def test_the_rollback_question_ends_quietly_on_ctrl_d_or_ctrl_c(
    run: Migrated, key: bytes, status: int
) -> None:
    data, db, _ = run
    before = tree_digest(data)
    code, shown = _answer_prompt(db, key)
    assert code == status, shown
    assert "Traceback" not in shown
    last = shown.strip().splitlines()[-1]
    assert last.startswith("asyncmig rollback: "), shown
    assert last.endswith("so nothing was done"), shown
    _untouched(data, db, before)


def test_rollback_without_stdin_asks_for_yes(run: Migrated) -> None:
    data, db, _ = run
    before = tree_digest(data)
    done = subprocess.run(
        ["/bin/sh", "-c", 'exec "$0" -m asyncmig rollback --db "$1" <&-', sys.executable, db],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "no terminal to ask on: pass --yes" in done.stderr
    assert "Traceback" not in done.stderr
    _untouched(data, db, before)


def test_rollback_refuses_a_data_dir_that_is_a_file(run: Migrated) -> None:
    data, db, folder = run
    before = tree_digest(data)
    source = data / "chat_storage" / "chats.json"
    done = _rollback("--db", db, "--data-dir", source, "--restore", folder)
    assert done.returncode == 2, done.stderr
    assert f"--data-dir {source} is not a folder" in done.stderr
    _untouched(data, db, before)
