"""Issue 11's landings tried again with cases their tests did not try: odd spellings of
output paths, the backup folder and the database; rollback on tampered backups; verify on
odd objects and read-only folders; the library's Options; a data root whose own path is
not UTF-8. Real ``python -m asyncmig`` processes where exit codes and files are the point."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest
from conftest import PROJECT_ROOT, run_cli

import asyncmig

if TYPE_CHECKING:
    from collections.abc import Iterator

    from benchmarks.generate import GenerateResult

#: Run as root, a command loses the power to write where modes forbid (setpriv drops it).
_UNPRIVILEGED = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _sql(db: Path, *statements: str) -> None:
    with closing(sqlite3.connect(db)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()


def _one_line(done: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The failure's one line on stderr, checked: its exit status and its words."""
    assert done.returncode == code, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def migrated(clean_root: GenerateResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished migration of the clean root (exit 0), shared read-only by the tests."""
    db = tmp_path_factory.mktemp("hostile-verified") / "clean.db"
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


# verify ---------------------------------------------------------------------------------


@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None,
    reason="runs as root, and without setpriv nothing here can drop root's right to write",
)
def test_verify_reads_a_database_in_a_folder_it_cannot_write(
    clean_root: GenerateResult, copy: Path
) -> None:
    # SQLite cannot open a WAL database read-only where it cannot make a -wal: verify said
    # "is not a usable SQLite database" (exit 2) of a sound one.
    folder = copy.parent
    folder.chmod(0o555)
    try:
        command = [sys.executable, "-m", "asyncmig", "verify", "--data-dir", str(clean_root.root)]
        command += ["--db", str(copy), "--workers", "2"]
        if os.geteuid() == 0:
            command = [*_UNPRIVILEGED, *command]
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=300, check=False
        )
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WAL mode: as asyncmig makes them" in done.stdout
    assert "verified: the database matches the source" in done.stdout
    assert _listing(folder) == ["copy.db"]


@pytest.fixture
def read_only_mount(copy: Path, tmp_path: Path) -> Iterator[Path]:
    """``copy``'s folder bound read-only at another place (EROFS: no mode, root included,
    may write there); skipped where mounting is not allowed."""
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if os.geteuid() != 0 or mount is None or umount is None:
        pytest.skip("a read-only bind mount needs root and mount(8)")
    folder = tmp_path / "ro"
    folder.mkdir()
    for options in (["--bind"], ["-o", "remount,bind,ro"]):
        done = subprocess.run(
            [mount, *options, str(copy.parent), str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            subprocess.run([umount, "-l", str(folder)], check=False)
            pytest.skip(f"cannot bind-mount read-only here: {done.stderr.strip()}")
    try:
        yield folder / copy.name
    finally:
        subprocess.run([umount, "-l", str(folder)], check=False)


def test_verify_reads_a_database_on_a_read_only_mount(
    clean_root: GenerateResult, read_only_mount: Path
) -> None:
    # There SQLite's open fails with "unable to open database file" (not "readonly").
    done = _verify(clean_root.root, read_only_mount)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified: the database matches the source" in done.stdout
    assert _listing(read_only_mount.parent) == ["copy.db"]


@pytest.mark.parametrize(
    ("statement", "shown"),
    [
        (
            'CREATE INDEX "odd\nname" ON chats(created_at)',
            "  index odd\\nname on chats is not one a migration makes",
        ),
        (
            "INSERT INTO chats VALUES ('x' || char(10) || 'y' || char(27) || '[2J', '{}', 1, 1)",
            "  chats id x\\ny\\x1b[2J: extra",
        ),
    ],
)
def test_verify_names_what_the_database_holds_on_one_line(
    clean_root: GenerateResult, copy: Path, statement: str, shown: str
) -> None:
    # A name or an id from the database was printed raw: a newline split the line, an
    # escape sequence reached the terminal.
    _sql(copy, statement)
    done = _verify(clean_root.root, copy)
    assert done.returncode == 3, done.stdout + done.stderr
    assert shown in done.stdout.splitlines()
    assert "\x1b" not in done.stdout
