"""Issue 11's landings tried again with cases their tests did not try: odd spellings of
output paths, the backup folder and the database; rollback on tampered backups; verify on
odd objects and read-only folders; the library's Options; a data root whose own path is
not UTF-8. Real ``python -m asyncmig`` processes where exit codes and files are the point."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest
from conftest import PROJECT_ROOT, run_cli, tree_digest
from test_rollback_verify import _verify, copy, migrated

import asyncmig

if TYPE_CHECKING:
    from collections.abc import Iterator

    from benchmarks.generate import GenerateResult

#: Run as root, a command loses the power to write where modes forbid (setpriv drops it).
_UNPRIVILEGED = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")

__all__ = ("copy", "migrated")  # fixtures, used by name


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


# the database's path ---------------------------------------------------------------------


def _odd_db(kind: str, folder: Path) -> Path:
    """A ``--db`` of each kind that is not a database file a run may replace."""
    db = folder / "o.db"
    if kind == "character device":
        try:
            os.mknod(db, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of its own
        except PermissionError:
            pytest.skip("making a device node needs root")
    elif kind == "pipe":
        os.mkfifo(db)
    elif kind == "folder":
        db.mkdir()
    elif kind == "link loop":
        db.symlink_to(db)
    else:  # the server's own empty database, elsewhere, or a link to nothing yet
        (folder / "elsewhere").mkdir()
        if kind == "link to a database":
            sqlite3.connect(folder / "elsewhere" / "server.db").close()
        db.symlink_to(folder / "elsewhere" / "server.db")
    return db


def _kind_of(path: Path) -> tuple[bool, int]:
    return path.is_symlink(), stat.S_IFMT(os.lstat(path).st_mode)


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("character device", "is a character device, not a database file"),
        ("pipe", "is a pipe, not a database file"),
        ("folder", "is a folder: name a file in it, e.g. --db "),
        ("link loop", "is a symbolic link"),
        ("link to a database", "is a symbolic link (to "),
        ("dangling link", "is a symbolic link (to "),
    ],
)
def test_a_database_path_that_is_no_plain_file_is_refused_and_kept(
    clean_root: GenerateResult, tmp_path: Path, kind: str, said: str
) -> None:
    # As root, --db /dev/null replaced /dev/null with the database (the hidden new file
    # renamed over it); a link was replaced by the database; a loop was a RuntimeError.
    folder = tmp_path / "out"
    folder.mkdir()
    db = _odd_db(kind, folder)
    before = _kind_of(db)
    listing = _listing(folder)
    done = run_cli("--data-dir", clean_root.root, "--db", db, "--quiet")
    line = _one_line(done, 2, f"--db {db} ", said)
    assert "pass --db " in line or "name a file in it" in line
    assert _kind_of(db) == before
    assert _listing(folder) == listing
    if kind == "link to a database":
        assert (folder / "elsewhere" / "server.db").stat().st_size == 0


def test_rollback_refuses_a_database_given_as_a_symbolic_link(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    # It deleted the link, said "done: delete link.db" and exit 0; the database stayed.
    db = tmp_path / "out" / "o.db"
    assert run_cli("--data-dir", clean_root.root, "--db", db, "--no-backup").returncode == 0
    link = tmp_path / "link.db"
    link.symlink_to(db)
    done = run_cli("rollback", "--db", link, "--yes")
    _one_line(done, 2, f"--db {link} is a symbolic link", f"pass --db {db}")
    assert link.is_symlink()
    assert db.is_file()
    assert (db.parent / ".migration-state.json").is_file()


# the backup folder's parent, and outputs that hold others ---------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--backup-dir", "o.db"), "it is the database (o.db)"),
        (("--backup-dir", "o.db-wal/x"), "it would lie inside a file kept beside the database"),
        (("--backup-dir", ".o.db.asyncmig-lock"), "it is a file kept beside the database"),
        (("--backup-dir", "notes.txt"), "it is not a folder"),
        (("--backup-dir", "notes.txt/backups"), "notes.txt is not a folder"),
        (("--backup-dir", "loop"), "it cannot be followed"),
        (("--report", "r.json", "--backup-dir", "r.json"), "it is the report (r.json)"),
        (("--rejects", "x", "--backup-dir", "x"), "it is the rejects file (x)"),
        (("--log-file", "x", "--backup-dir", "x/sub"), "it would lie inside the log file x"),
        (("--backup-dir", "old/backup-20260101-000000"), "it is inside the backup folder "),
    ],
)
def test_a_backup_dir_that_cannot_hold_backups_is_refused_first(
    own_root: Path, tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    # --backup-dir o.db made a folder where the database goes, then "unexpected
    # OperationalError" (exit 1); the report's or the rejects file's path was found to be
    # a folder after the load (exit 1; exit 2 with half a database); a loop was a
    # RuntimeError; a folder inside another backup put a backup in it.
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine\n")
    (work / "loop").symlink_to(work / "loop")
    old = work / "old" / "backup-20260101-000000"
    old.mkdir(parents=True)
    (old / ".asyncmig-manifest.json").write_text("{}")
    before, listing = tree_digest(own_root), _listing(work)
    done = run_cli("--data-dir", own_root, "--db", "o.db", *args, cwd=work)
    line = _one_line(done, 2, "(--backup-dir): ", said)
    assert line.endswith("pass --backup-dir a folder"), line
    assert _listing(work) == listing
    assert _listing(old) == [".asyncmig-manifest.json"]
    assert (work / "notes.txt").read_text() == "mine\n"
    assert tree_digest(own_root) == before


@pytest.mark.parametrize(
    ("args", "option", "said"),
    [
        (("--db", "out/o.db", "--report", "out"), "--report", "the database out/o.db goes"),
        (("--report", "x", "--rejects", "x/r.jsonl"), "--report", "the rejects file x/r.jsonl"),
        (("--log-file", "x", "--state-file", "x/s.json"), "--log-file", "the state file x/s"),
        (("--log-file", "x", "--backup-dir", "x"), "--backup-dir", "it is the log file (x)"),
    ],
)
def test_an_output_a_folder_must_be_is_refused_before_anything_is_written(
    clean_root: GenerateResult, tmp_path: Path, args: tuple[str, ...], option: str, said: str
) -> None:
    # The run migrated everything, then could not write its report over the folder it had
    # made (exit 1); or made the log file, then refused the state file inside it.
    words = ("--db", "o.db", *args) if "--db" not in args else args
    done = run_cli("--data-dir", clean_root.root, *words, cwd=tmp_path)
    _one_line(done, 2, f"({option})", said)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize(
    ("option", "name"),
    [
        ("--state-file", ".o.db.asyncmig-lock"),
        ("--report", ".o.db.asyncmig-lock"),
        ("--log-file", ".o.db.asyncmig-new-wal"),
        ("--rejects", ".o.db.asyncmig-new"),
    ],
)
def test_an_output_on_a_file_a_run_keeps_beside_the_database_is_refused(
    clean_root: GenerateResult, tmp_path: Path, option: str, name: str
) -> None:
    # The state file replaced the lock file (a second run could then take the lock), and
    # the log went to a file the run deletes when it has made its database.
    done = run_cli("--data-dir", clean_root.root, "--db", "o.db", option, name, cwd=tmp_path)
    _one_line(done, 2, f"{name} ({option}): it is a file a run keeps beside the database")
    assert _listing(tmp_path) == []


def test_outputs_and_databases_stay_out_of_any_backup_folder(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    # A backup folder beside another database (found by its manifest) took a report, and
    # a database; rollback restores from there, and `cp -r backup-*/*` copies them back.
    first = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "old" / "o.db")
    assert first.returncode == 0, first.stderr
    (backup,) = (tmp_path / "old").glob("backup-*")
    listing = _listing(backup)
    report = backup / "r.json"
    done = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "new.db", "--report", report)
    _one_line(done, 2, f"{report} (--report): it is inside the backup folder {backup}")
    db = backup / "x.db"
    elsewhere = ("--state-file", tmp_path / "s.json", "--rejects", tmp_path / "r.jsonl")
    done = run_cli("--data-dir", clean_root.root, "--db", db, "--no-backup", *elsewhere)
    _one_line(done, 2, f"--db {db} is inside the backup folder {backup}")
    assert _listing(backup) == listing
    assert not (tmp_path / "new.db").exists()


# rollback --------------------------------------------------------------------------------


@pytest.fixture
def own_root(clean_root: GenerateResult, tmp_path: Path) -> Path:
    """A private copy of the clean data root (tests may restore into it)."""
    return Path(shutil.copytree(clean_root.root, tmp_path / "data", symlinks=True))


@pytest.fixture
def backed_up(own_root: Path, tmp_path: Path) -> tuple[Path, Path]:
    """``own_root`` migrated with a backup: (database, backup folder)."""
    db = tmp_path / "out" / "o.db"
    done = run_cli("--data-dir", own_root, "--db", db, "--workers", "2")
    assert done.returncode == 0, done.stderr
    (folder,) = db.parent.glob("backup-*")
    return db, folder


def test_rollback_restores_a_backup_only_into_the_data_root_it_was_made_of(
    own_root: Path, backed_up: tuple[Path, Path], tmp_path: Path
) -> None:
    # The files of one data root were copied over another's (the same names: its
    # projects.json and chats.json replaced), and the database was deleted.
    db, folder = backed_up
    other = tmp_path / "other"
    (other / "chat_storage").mkdir(parents=True)
    (other / "chat_storage" / "chats.json").write_text('{"theirs": true}')
    before = tree_digest(other)
    done = run_cli("rollback", "--db", db, "--data-dir", other, "--restore", folder, "--yes")
    _one_line(done, 2, f"is a backup of {own_root}, not of {other}", f"--data-dir {own_root}")
    assert tree_digest(other) == before
    assert db.exists()
    link = tmp_path / "same-root"  # the same root, named through a link: restored
    link.symlink_to(own_root)
    done = run_cli("rollback", "--db", db, "--data-dir", link, "--restore", folder, "--yes")
    assert done.returncode == 0, done.stderr
    assert not db.exists()


def test_rollback_refuses_a_manifest_whose_path_bytes_are_not_hex(
    own_root: Path, backed_up: tuple[Path, Path]
) -> None:
    # "unexpected ValueError: non-hexadecimal number found in fromhex()" (exit 1).
    db, folder = backed_up
    manifest = folder / ".asyncmig-manifest.json"
    content = json.loads(manifest.read_text())
    content["files"][0]["path_bytes"] = "zz"
    manifest.write_text(json.dumps(content))
    before = tree_digest(own_root)
    done = run_cli("rollback", "--db", db, "--data-dir", own_root, "--restore", folder, "--yes")
    _one_line(done, 2, "it was altered, so nothing was done")
    assert db.exists()
    assert tree_digest(own_root) == before


def test_rollback_refuses_a_manifest_of_a_version_it_does_not_know(
    own_root: Path, backed_up: tuple[Path, Path]
) -> None:
    # A manifest version 99 was read as if it were this one's.
    db, folder = backed_up
    manifest = folder / ".asyncmig-manifest.json"
    content = json.loads(manifest.read_text())
    content["version"] = 99
    manifest.write_text(json.dumps(content))
    before = tree_digest(own_root)
    done = run_cli("rollback", "--db", db, "--data-dir", own_root, "--restore", folder, "--yes")
    _one_line(done, 2, "manifest version 99", "roll back with the asyncmig that made it")
    assert db.exists()
    assert tree_digest(own_root) == before


# a data root whose own path is not UTF-8 ----------------------------------------------------


def test_a_data_root_whose_path_is_not_utf8_migrates_and_is_named_escaped(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    # The ledger, the report, the log's first line and the backup's manifest could not
    # encode the folder's name: "unexpected UnicodeEncodeError" (exit 1), nothing migrated.
    root = Path(shutil.copytree(clean_root.root, tmp_path / os.fsdecode(b"caf\xe9-data")))
    shown = str(tmp_path / "caf\\xe9-data")
    db, report, log = tmp_path / "o.db", tmp_path / "r.json", tmp_path / "run.log"
    done = run_cli("--data-dir", root, "--db", db, "--report", report, "--log-file", log)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"asyncmig migration: {shown} -> {db}"
    assert json.loads(report.read_text("utf-8"))["data_dir"] == shown
    state = json.loads((tmp_path / ".migration-state.json").read_text("utf-8"))
    assert state["data_dir"] == shown
    assert f"--data-dir '{shown}' " in log.read_text("utf-8").splitlines()[0]
    (backup,) = tmp_path.glob("backup-*")
    manifest = json.loads((backup / ".asyncmig-manifest.json").read_text("utf-8"))
    assert manifest["data_dir"] == shown
    # The ledger's record still matches the folder: a resume knows it, verify agrees.
    again = run_cli("--data-dir", root, "--db", db, "--resume")
    _one_line(again, 2, "nothing to resume: the migration in")
    checked = _verify(root, db)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "the migration read" not in checked.stdout
    (root / "chat_storage" / "chats.json").unlink()
    args = ("--db", db, "--data-dir", root, "--restore", backup, "--yes")
    undone = run_cli("rollback", *args)
    assert undone.returncode == 0, undone.stderr
    assert f"into {shown} (each checked" in undone.stdout
    assert tree_digest(root) == tree_digest(clean_root.root)


@pytest.mark.parametrize("option", ["--db", "--backup-dir"])
def test_a_database_or_backup_path_that_is_not_utf8_is_refused_first(
    clean_root: GenerateResult, tmp_path: Path, option: str
) -> None:
    # The database records its backup's path to resume a run killed while copying: the
    # run failed with "unexpected UnicodeEncodeError" after making the backup folder.
    odd = tmp_path / os.fsdecode(b"out\xff")
    path = odd / "o.db" if option == "--db" else odd
    db = ("--db", tmp_path / "o.db") if option == "--backup-dir" else ()
    done = run_cli("--data-dir", clean_root.root, *db, option, path)
    _one_line(done, 2, f"{option} ", "its path is not UTF-8", f"pass {option} a path")
    assert _listing(tmp_path) == []


# the library's Options ------------------------------------------------------------------


def test_options_take_bytes_and_expand_a_tilde(
    clean_root: GenerateResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bytes were refused as "not a path"; "~/x.db" made a folder named "~" where the
    # program ran (the shell leaves "--db=~/x.db" as it is, too).
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    options = asyncmig.Options(
        data_dir=os.fsencode(clean_root.root), db="~/o.db", state_file="~/s.json", backup=False
    )
    assert options.data_dir == clean_root.root
    assert options.db == tmp_path / "home" / "o.db"
    assert options.state_file == tmp_path / "home" / "s.json"
    monkeypatch.chdir(tmp_path)
    report = anyio.run(asyncmig.migrate, options, backend="asyncio")
    assert report.exit_code == 0
    assert (tmp_path / "home" / "o.db").is_file()
    assert not (tmp_path / "~").exists()
    done = run_cli("--data-dir", clean_root.root, "--db=~/cli.db", "--no-backup", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / "cli.db").is_file()
    assert not (tmp_path / "~").exists()


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("db", None, "Options.db must be a path (str, bytes or os.PathLike), got None"),
        ("data_dir", None, "Options.data_dir must be a path"),
        ("force", "false", "Options.force must be True or False, got 'false'"),
        ("backup", 0, "Options.backup must be True or False, got 0"),
        ("dry_run", "no", "Options.dry_run must be True or False"),
    ],
)
def test_options_refuse_what_is_no_path_or_no_flag(field: str, value: object, said: str) -> None:
    # db=None was taken and failed later as "'NoneType' object has no attribute 'parent'";
    # force="false" was taken as true: a --force run (the old database moved out).
    with pytest.raises(asyncmig.ConfigError) as refused:
        asyncmig.Options(**{field: value})  # type: ignore[arg-type]
    assert str(refused.value) == said or str(refused.value).startswith(said)


@pytest.mark.parametrize("option", ["--db", "--report", "--rejects", "--state-file", "--log-file"])
def test_a_file_option_ending_with_a_slash_is_refused(
    clean_root: GenerateResult, tmp_path: Path, option: str
) -> None:
    # Path() drops the slash: `--report reports/` wrote a file named "reports", and
    # `--db out/` made the database a file named "out".
    words = (option, "out/") if option == "--db" else ("--db", "o.db", option, "out/")
    done = run_cli("--data-dir", clean_root.root, *words, cwd=tmp_path)
    _one_line(done, 2, f"argument {option}: out/ ends with /, so it names a folder")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("option", ["--log-file", "--rejects"])
def test_an_output_that_is_a_hard_link_into_a_backup_is_refused(
    own_root: Path, backed_up: tuple[Path, Path], tmp_path: Path, option: str
) -> None:
    # The log was appended to (the rejects file written into) the backup's copy through
    # a second name: rollback then refused the backup as damaged.
    db, folder = backed_up
    copy = folder / "chat_storage" / "chats.json"
    before = copy.read_bytes()
    link = tmp_path / "second-name"
    os.link(copy, link)
    done = run_cli("--data-dir", own_root, "--db", db.parent / "o2.db", "--no-backup", option, link)
    _one_line(done, 2, f"{link} ({option}): it is a hard link to a file of the backup folder")
    assert copy.read_bytes() == before
    args = ("--db", db, "--data-dir", own_root, "--restore", folder, "--yes")
    assert run_cli("rollback", *args).returncode == 0


@pytest.mark.parametrize("restore", ["the data root", "a missing folder", "the manifest"])
def test_rollback_from_what_is_no_backup_names_the_way_out(
    own_root: Path, backed_up: tuple[Path, Path], tmp_path: Path, restore: str
) -> None:
    # "is not a complete asyncmig backup: [Errno 2] ..." said what, not what to do.
    db, folder = backed_up
    path = {
        "the data root": own_root,
        "a missing folder": tmp_path / "nowhere",
        "the manifest": folder / ".asyncmig-manifest.json",
    }[restore]
    done = run_cli("rollback", "--db", db, "--data-dir", own_root, "--restore", path, "--yes")
    line = _one_line(done, 2, f"{path} is not a complete asyncmig backup")
    assert line.endswith(
        "pass --restore a backup-<timestamp> folder, the one holding .asyncmig-manifest.json"
    ), line
    assert db.exists()


def test_a_folder_no_output_may_be_is_named_for_what_it_is(
    own_root: Path, backed_up: tuple[Path, Path]
) -> None:
    # `--report DATA_ROOT` was told "it is a folder; name a file in it, e.g. --report
    # DATA_ROOT/report.json", a file the next try would see refused; a backup folder alike.
    db, folder = backed_up
    new = ("--db", db.parent / "new.db", "--no-backup")
    done = run_cli("--data-dir", own_root, *new, "--report", own_root)
    line = _one_line(done, 2, f"{own_root} (--report): it is the data directory {own_root}")
    assert "e.g." not in line
    done = run_cli("--data-dir", own_root, *new, "--log-file", folder)
    line = _one_line(done, 2, f"{folder} (--log-file): it is the backup folder {folder}")
    assert "e.g." not in line
    assert not (db.parent / "new.db").exists()


def test_outputs_whose_names_are_not_utf8_are_written_and_named_escaped(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    # The report could not encode the rejects file's name: "unexpected UnicodeEncodeError"
    # (exit 1) after the whole load, no report written.
    odd = {end: tmp_path / os.fsdecode(b"o\xff" + end.encode()) for end in (".json", ".jsonl")}
    args = ("--report", odd[".json"], "--rejects", odd[".jsonl"], "--no-backup")
    done = run_cli("--data-dir", trap_root.root, "--db", tmp_path / "o.db", *args)
    assert done.returncode == 3, done.stderr
    shown = str(tmp_path / "o\\xff.jsonl")
    report = json.loads(odd[".json"].read_text("utf-8"))
    assert report["exit_status"] == 3
    assert report["options"]["rejects"] == shown
    assert report["rejects_file"] == shown
    assert f"rejects file: {shown} (" in done.stdout
    assert odd[".jsonl"].stat().st_size > 0


def test_verify_of_a_folder_says_it_is_no_file(clean_root: GenerateResult, tmp_path: Path) -> None:
    # "database X does not exist" was said of a folder that does.
    done = _verify(clean_root.root, tmp_path)
    _one_line(done, 2, f"database {tmp_path} is not a file: pass --db")
