"""Input the JSON-era server could have written never loses records nor crashes a run
(issue 10): lone surrogate escapes, any nesting depth, a byte order mark, symlinks,
unreadable files, file names that are not UTF-8, a source that goes away mid-run."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import PROJECT_ROOT, db_rows, run_cli

from asyncmig.source import awkward, decode

if TYPE_CHECKING:
    from benchmarks.generate import GenerateResult

#: What JavaScript's JSON.stringify writes for a lone surrogate (U+D800), six characters.
LONE = "\\ud800"
#: Stands for LONE in a Python string that json.dumps writes (replaced in the text after).
_SLOT = "@LONE@"


def copy_root(source: GenerateResult, tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(source.root, root, symlinks=True)
    return root


def read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def write(path: Path, value: Any) -> None:
    """As the JSON-era server wrote files (2-space indent, raw UTF-8), LONE put in."""
    text = json.dumps(value, indent=2, ensure_ascii=False).replace(_SLOT, LONE)
    path.write_text(text, "utf-8")


def nested(levels: int) -> str:
    """Stands for an array ``levels`` deep in a value :func:`put_deep` writes."""
    return f"@DEEP{levels}@"


def put_deep(text: str) -> str:
    return re.sub(r'"@DEEP(\d+)@"', lambda found: deep_text(int(found[1])), text)


def deep_text(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


def migrate(root: Path, db: Path, *more: str | Path, env: dict[str, str] | None = None) -> Any:
    return run_cli("--data-dir", root, "--db", db, "--no-backup", *more, env=env)


def verify(root: Path, db: Path) -> Any:
    return run_cli("verify", "--data-dir", root, "--db", db)


# 1. lone surrogate escapes -------------------------------------------------------------


def _add_lone_surrogates(root: Path) -> dict[str, str]:
    """A lone surrogate in a chat title (fast path), a message's content (its bulk field)
    and a legacy prompt (slow path: createdAt is upgraded); the ids, by table."""
    chats_file = root / "chat_storage" / "chats.json"
    chats = read(chats_file)
    chat_id = next(iter(chats))
    chats[chat_id]["title"] = f"A{_SLOT}B"
    write(chats_file, chats)
    messages_file = root / "chat_storage" / "chat_data" / chat_id / "messages.json"
    messages = read(messages_file)
    message_id = next(iter(messages))
    # U+F0000: the private-use character asyncmig would stand in for U+D800 by default.
    messages[message_id]["content"] = f"emoji \U0001f600 \U000f0000 then {_SLOT} alone"
    write(messages_file, messages)
    prompts_file = root / "prompt_storage" / "prompts.json"
    prompts = read(prompts_file)
    prompt_id = next(iter(prompts))
    prompt = prompts[prompt_id]
    prompt["createdAt"] = prompt.pop("created")
    prompt["name"] = f"{_SLOT}{prompt['name']}"
    write(prompts_file, prompts)
    return {"chats": chat_id, "chat_messages": message_id, "prompts": prompt_id}


@pytest.mark.parametrize("reader", ["whole", "windowed"])
def test_lone_surrogate_escapes_are_kept_as_written(
    clean_root: GenerateResult, tmp_path: Path, reader: str
) -> None:
    root = copy_root(clean_root, tmp_path)
    ids = _add_lone_surrogates(root)
    db = tmp_path / "o.db"
    env = {"ASYNCMIG_WHOLE_FILE_LIMIT": "0"} if reader == "windowed" else None
    done = migrate(root, db, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    title, message, prompt = (db_rows(db, t)[ids[t]][0] for t in ids)
    assert f'"title":"A{LONE}B"' in title
    assert f'"content":"emoji \U0001f600 \U000f0000 then {LONE} alone"' in message
    assert f'"name":"{LONE}' in prompt
    assert '"created":' in prompt  # upgraded on the slow path
    assert len(db_rows(db, "chats")) == len(read(root / "chat_storage" / "chats.json"))
    with closing(sqlite3.connect(db)) as conn:
        (valid,) = conn.execute("SELECT min(json_valid(data)) FROM chats").fetchone()
    assert valid == 1
    checked = verify(root, db)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("limit", [str(16 * 1024 * 1024), "0"])
def test_damage_after_lone_surrogates_keeps_what_came_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    monkeypatch.setattr(decode, "WHOLE_FILE_LIMIT", int(limit))
    path = tmp_path / "f.json"
    text = (
        f'{{\n  "1": {{"a": "x{LONE}"}},\n  "\\udc00k": {{"b": 1}},\n'
        f'  "3": {{"c": {deep_text(3_000)}}},\n  "4": {{"d": tru'
    )
    path.write_text(text)
    found: list[decode.Entry] = []
    with pytest.raises(decode.Damaged) as damaged:
        found.extend(decode.entries(path, "object"))
    assert [(e.key, bytes(e.value)[:12]) for e in found] == [
        ("1", b'{"a": "x\\ud8'),
        ("\\udc00k", b'{"b": 1}'),
        ("3", b'{"c": [[[[[['),
    ]
    assert damaged.value.offset == len(text)  # the end, not the lone low surrogate


# 2. any nesting depth ------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["whole", "windowed"])
def test_any_depth_never_crashes_and_only_unstorable_records_are_rejected(
    clean_root: GenerateResult, tmp_path: Path, reader: str
) -> None:
    limit = awkward.sqlite_depth_limit()
    root = copy_root(clean_root, tmp_path)
    tools_file = root / "mcp_storage" / "mcp_tools.json"
    tools = read(tools_file)
    deep_junk, storable, too_deep, *_ = tools
    tools[deep_junk]["junk"] = nested(10_000)  # an unknown key: dropped anyway
    # Deeper than msgspec goes unaided (about 1,000), within SQLite's limit: migrated.
    kept_levels = min(1_500, limit - 10)
    tools[storable]["parameters"][0]["default"] = nested(kept_levels)
    tools[too_deep]["parameters"][0]["default"] = nested(10_000)
    tools_file.write_text(put_deep(json.dumps(tools, indent=2)))
    db = tmp_path / "o.db"
    env = {"ASYNCMIG_WHOLE_FILE_LIMIT": "0"} if reader == "windowed" else None
    done = migrate(root, db, env=env)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    rows = db_rows(db, "mcp_tools")
    assert set(rows) == set(tools) - {too_deep}
    assert '"junk"' not in rows[deep_junk][0]
    assert deep_text(kept_levels) in rows[storable][0]
    assert f"id {too_deep} (mcp_tools, rejected): $: nested " in done.stdout
    assert f"reads JSON only {limit} levels deep" in done.stdout
    checked = verify(root, db)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# 3. a byte order mark --------------------------------------------------------------------

BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("reader", ["whole", "windowed"])
def test_a_byte_order_mark_is_read_past_with_a_warning(
    clean_root: GenerateResult, tmp_path: Path, reader: str
) -> None:
    root = copy_root(clean_root, tmp_path)
    chats_file = root / "chat_storage" / "chats.json"
    chats_file.write_bytes(BOM + chats_file.read_bytes())
    tools_file = root / "mcp_storage" / "mcp_tools.json"
    cut = tools_file.read_bytes()[:300]  # damaged: its offset counts the mark
    tools_file.write_bytes(BOM + cut)
    db = tmp_path / "o.db"
    env = {"ASYNCMIG_WHOLE_FILE_LIMIT": "0"} if reader == "windowed" else None
    done = migrate(root, db, "--report", tmp_path / "r.json", env=env)
    assert done.returncode == 3, done.stdout + done.stderr
    assert len(db_rows(db, "chats")) == len(read(clean_root.root / "chat_storage" / "chats.json"))
    report = json.loads((tmp_path / "r.json").read_text())
    warned = [w for w in report["warnings"] if "byte order mark" in w]
    assert [w.split(" ", 1)[0] for w in warned] == [
        "chat_storage/chats.json",
        "mcp_storage/mcp_tools.json",
    ]
    assert "chat_storage/chats.json" not in {
        f["path"] for f in report["files"] if f["status"] == "damaged"
    }
    assert f"mcp_storage/mcp_tools.json: damaged at byte {len(cut) + 3}" in done.stdout


# 7. a source that goes away mid-run ------------------------------------------------------

#: Moves a path away right after the run planned (a real rename, at that exact moment).
_MOVE_AFTER_PLAN = """
import os
_move = os.environ.get("HOSTILE_MOVE")
if _move:
    import asyncmig.load.pipeline as _pipeline
    _real = _pipeline._plan
    def _plan(options):
        planned = _real(options)
        source, target = _move.split("=>")
        os.rename(source, target)
        return planned
    _pipeline._plan = _plan
"""


def _moving_after_plan(tmp_path: Path, source: Path, target: Path) -> dict[str, str]:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_MOVE_AFTER_PLAN)
    return {
        "PYTHONPATH": os.pathsep.join((str(hook), str(PROJECT_ROOT))),
        "HOSTILE_MOVE": f"{source}=>{target}",
    }


@pytest.mark.parametrize("what", ["the data directory", "one file"])
def test_a_source_gone_mid_run_stops_it_and_a_resume_finishes(
    clean_root: GenerateResult, tmp_path: Path, what: str
) -> None:
    root = copy_root(clean_root, tmp_path)
    if what == "one file":
        chat_id = sorted(read(root / "chat_storage" / "chats.json"))[-1]
        gone = root / "chat_storage" / "chat_data" / chat_id / "messages.json"
    else:
        gone = root
    away = tmp_path / "away"
    db = tmp_path / "o.db"
    done = migrate(root, db, env=_moving_after_plan(tmp_path, gone, away))
    assert done.returncode == 1, done.stdout + done.stderr
    named = gone if what == "one file" else root / "provider_key_storage"
    assert f"{named}" in done.stderr
    assert "is gone since the run started" in done.stderr
    assert "--resume" in done.stderr
    away.rename(gone)
    resumed = migrate(root, db, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    checked = verify(root, db)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# 6. names that are not UTF-8 ---------------------------------------------------------------

LATIN1_FOLDER = b"caf\xe9"  # cafe with an e acute in Latin-1: not UTF-8
SHOWN_FOLDER = "caf\\xe9"


def test_names_that_are_not_utf8_are_listed_escaped_and_backed_up(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    root = copy_root(clean_root, tmp_path)
    chats = root / "chat_storage" / "chat_data"
    folder = os.path.join(os.fsencode(chats), LATIN1_FOLDER)
    os.mkdir(folder)
    some_messages = next(chats.glob("*/messages.json")).read_bytes()
    with open(os.path.join(folder, b"messages.json"), "wb") as out:
        out.write(some_messages)
    with open(os.path.join(os.fsencode(root), b"notes-\xff.json"), "wb") as out:
        out.write(b'{"a": 1}')
    db, report_file = tmp_path / "o.db", tmp_path / "r.json"
    done = run_cli("--data-dir", root, "--db", db, "--report", report_file)
    assert done.returncode == 3, done.stdout + done.stderr  # the folder's messages: orphans
    orphans = f"chat_storage/chat_data/{SHOWN_FOLDER}/messages.json"
    assert f"{orphans}: orphan: folder name" in done.stdout
    assert "notes-\\xff.json: not a file of OctoPrompt" in done.stdout
    report = json.loads(report_file.read_text("utf-8"))
    statuses = {f["path"]: f["status"] for f in report["files"]}
    assert statuses[orphans] == "orphaned"
    assert statuses["notes-\\xff.json"] == "not_migrated"
    lines = Path(report["rejects_file"]).read_text("utf-8").splitlines()
    assert orphans in {json.loads(line)["file"] for line in lines}
    with closing(sqlite3.connect(db)) as conn:
        ledger = {path for (path,) in conn.execute("SELECT path FROM asyncmig_files")}
    assert orphans in ledger
    state = json.loads((tmp_path / ".migration-state.json").read_text("utf-8"))
    assert state  # written whole, as UTF-8
    backup = Path(report["backup"])
    manifest = json.loads((backup / ".asyncmig-manifest.json").read_text("utf-8"))
    shown = {entry["path"] for entry in manifest["files"]}
    assert {orphans, "notes-\\xff.json"} <= shown
    shutil.rmtree(folder)
    undone = run_cli("rollback", "--db", db, "--data-dir", root, "--restore", backup, "--yes")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    with open(os.path.join(folder, b"messages.json"), "rb") as back:
        assert back.read() == some_messages


# 4. symbolic links -----------------------------------------------------------------------


def test_links_are_followed_listed_and_backed_up_as_content(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    root = copy_root(clean_root, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    chat_data = root / "chat_storage" / "chat_data"
    linked = sorted(chat_data.iterdir())[0]
    messages = read(linked / "messages.json")
    linked.rename(elsewhere / linked.name)
    linked.symlink_to(elsewhere / linked.name)  # a chat folder that is a link
    prompts = root / "prompt_storage" / "prompts.json"
    prompts.rename(elsewhere / "prompts.json")
    prompts.symlink_to(os.path.relpath(elsewhere / "prompts.json", prompts.parent))
    (chat_data / "up").symlink_to("..")  # a loop: a link to a folder it lies in
    db, report_file = tmp_path / "o.db", tmp_path / "r.json"
    done = run_cli("--data-dir", root, "--db", db, "--report", report_file)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = db_rows(db, "chat_messages")
    assert set(messages) <= set(rows)
    assert len(db_rows(db, "prompts")) == len(read(elsewhere / "prompts.json"))
    report = json.loads(report_file.read_text())
    rel = linked.relative_to(root).as_posix()
    assert f"{rel} is a link to {elsewhere / linked.name}: followed" in report["warnings"]
    assert (
        f"prompt_storage/prompts.json is a link to {elsewhere / 'prompts.json'}: followed"
        in (report["warnings"])
    )
    (loop,) = (f for f in report["files"] if f["path"] == "chat_storage/chat_data/up")
    assert loop["status"] == "not_migrated"
    assert "(a loop): not followed" in loop["reason"]
    backup = Path(report["backup"])
    copied = backup / rel / "messages.json"
    assert not (backup / rel).is_symlink()
    assert not (backup / "prompt_storage" / "prompts.json").is_symlink()
    assert read(copied) == messages
    checked = verify(root, db)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# 5. files and folders this user cannot read ----------------------------------------------

#: Run as root, the commands lose the power to read what they may not (setpriv drops it).
_UNPRIVILEGED = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


def _as_unprivileged(*args: str | Path) -> Any:
    if os.geteuid() != 0:
        return run_cli(*args)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [*_UNPRIVILEGED, sys.executable, "-m", "asyncmig", *map(str, args)]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None,
    reason="runs as root, and without setpriv nothing here can drop root's right to read",
)
@pytest.mark.parametrize("extra", [(), ("--no-backup",), ("--dry-run",)])
def test_unreadable_files_and_folders_are_named_before_anything_is_written(
    clean_root: GenerateResult, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    root = copy_root(clean_root, tmp_path)
    folder = sorted((root / "chat_storage" / "chat_data").iterdir())[0]
    prompts = root / "prompt_storage" / "prompts.json"
    folder.chmod(0)
    prompts.chmod(0)
    db = tmp_path / "o.db"
    try:
        done = _as_unprivileged("--data-dir", root, "--db", db, *extra)
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"{folder} (Permission denied)" in done.stderr
        assert f"{prompts} (Permission denied)" in done.stderr
        assert "give this user read access" in done.stderr
        assert "Traceback" not in done.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # nothing written
    finally:
        folder.chmod(0o755)
        prompts.chmod(0o644)
    again = _as_unprivileged("--data-dir", root, "--db", db, *extra)
    assert again.returncode == 0, again.stdout + again.stderr
