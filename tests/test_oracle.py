"""Unit tests of the test oracle itself, on tiny data roots written inline."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from oracle import (
    LINKS,
    MAX_TS,
    TABLES,
    Counts,
    Expected,
    Invalid,
    expected,
    normalize_ts,
    parse_entries,
    validate,
)

if TYPE_CHECKING:
    from pathlib import Path

T0 = 1_700_000_000_000
NOW = 1_800_000_000_000  # the migration time passed to the oracle
PROJECTS = "project_storage/projects.json"
CHATS = "chat_storage/chats.json"


def write(root: Path, rel: str, content: object) -> None:
    """Write bytes or text as they are, anything else as pretty-printed JSON."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False), encoding="utf-8")


def keyed(*records: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(record["id"]): record for record in records}


def project(pid: object, **extra: object) -> dict[str, Any]:
    base = {"id": pid, "name": f"p{pid}", "description": "", "path": "/src", "created": T0}
    return base | {"updated": T0 + 1} | extra


def project_file(fid: object, pid: object, **extra: object) -> dict[str, Any]:
    return {
        "id": fid,
        "projectId": pid,
        "name": "a.py",
        "path": "src/a.py",
        "extension": ".py",
        "size": 3,
        "content": "x=1",
        "summary": None,
        "summaryLastUpdated": None,
        "meta": None,
        "checksum": None,
        "created": T0,
        "updated": T0 + 1,
    } | extra


def chat(cid: object, **extra: object) -> dict[str, Any]:
    return {"id": cid, "title": "t", "created": T0, "updated": T0 + 1} | extra


def message(mid: object, cid: object, **extra: object) -> dict[str, Any]:
    base = {"id": mid, "chatId": cid, "role": "user", "content": "hi"}
    return base | {"created": T0, "updated": T0 + 1} | extra


def without(record: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in names}


def files_of(result: Expected) -> dict[str, tuple[Any, int | float, int | float]]:
    return result.rows["project_files"]


# ---------------------------------------------------------------- the ts normaliser

JAN_2024 = 1_704_067_200_000


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        (5, 5000),
        (0, 0),
        ("-0", 0),
        (1.5, 1500),
        ("1.5", 1500),
        ("1700000000", 1_700_000_000_000),
        (" 1700000000000\n", 1_700_000_000_000),
        ("+5", 5000),
        ("0" * 5000 + "5", 5000),
        ("1e3", 1_000_000),
        (".5", 500),
        ("5.", 5000),
        (1e10, 10_000_000_000),
        (2_524_607_999, 2_524_607_999_000),
        (10_000_000_000, 10_000_000_000),
        (1_700_000_000_000.0, 1_700_000_000_000),
        (MAX_TS, MAX_TS),
        ("2024-01-01", JAN_2024),
        ("2024-01-01T00:00:00Z", JAN_2024),
        ("2024-01-01T01:00:00+01:00", JAN_2024),
        ("2024-01-01T00:00:00.1239", JAN_2024 + 123),
        ("1970-01-01T00:00:05Z", 5000),  # the seconds rule is for numbers, not dates
        ("2050-01-01T00:00:00Z", MAX_TS),
    ],
)
def test_ts_accepts(value: object, ms: int) -> None:
    result = normalize_ts(value)
    assert result == ms
    assert type(result) is int


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        "",
        "   ",
        "2024-02-30",
        "0x10",
        "abc",
        "1e400",
        "9" * 5000,
        " 2024-01-01",  # decision: only numeric strings are trimmed
        MAX_TS + 1,
        9_999_999_999,  # seconds: 9_999_999_999_000 ms is after 2050
        "2050-01-01T00:00:00.001Z",
        "1969-12-31T23:59:59Z",
        -1,
        0.0001,
        1_700_000_000_000.5,
        float("nan"),
        float("inf"),
        [],
        {},
    ],
)
def test_ts_rejects(value: object) -> None:
    with pytest.raises(Invalid):
        normalize_ts(value)


def test_ts_null_passes() -> None:
    assert normalize_ts(None) is None


# ---------------------------------------------------------------- reading files

FOUR = b'{\n  "1": {"a": 1},\n  "2": {"b": "\xc3\xa9t\xc3\xa9"},\n  "3": {"c": 3}\n}\n'


@pytest.mark.parametrize(
    ("raw", "array", "entries", "damaged"),
    [
        (FOUR, False, [{"a": 1}, {"b": "été"}, {"c": 3}], False),
        (b" {} ", False, [], False),
        (b"[]", True, [], False),
        (b"[{}, 1]", True, [{}, 1], False),
        (b"", False, [], True),
        (b" \n\t", False, [], True),
        (b"null", False, [], True),
        (b"[]", False, [], True),
        (b"{}", True, [], True),
        (b'"x"', False, [], True),
        (b"\xef\xbb\xbf{}", False, [], True),  # decision: a BOM is not JSON
        (FOUR[:34], False, [{"a": 1}], True),  # cut inside the first "é"
        (FOUR[:30], False, [{"a": 1}], True),
        (FOUR[:40], False, [{"a": 1}, {"b": "été"}], True),  # cut right after a value
        (FOUR[:56], False, [{"a": 1}, {"b": "été"}], True),
        (FOUR[:58], False, [{"a": 1}, {"b": "été"}, {"c": 3}], True),  # only "}" missing
        (FOUR[:20], False, [{"a": 1}], True),  # cut after a complete member
        (FOUR.replace(b'"c"', b'"\xff"'), False, [{"a": 1}, {"b": "été"}], True),
        (FOUR + b"\xff", False, [{"a": 1}, {"b": "été"}, {"c": 3}], True),
        (FOUR + b"{}", False, [{"a": 1}, {"b": "été"}, {"c": 3}], True),
        (FOUR.replace(b'"3":', b'"3"'), False, [{"a": 1}, {"b": "été"}], True),
        (b'{"1": {}, "2": NaN}', False, [{}], True),
        (b'{"1": {},}', False, [{}], True),
        (b'{"1": {}, 2: {}}', False, [{}], True),
        (b'{"1": {"x": 1}, "1": {"x": 2}}', False, [{"x": 1}, {"x": 2}], False),
        (b"[1, 2", True, [1], True),  # "2" may have been "23"
        (b"[1, 2 ", True, [1, 2], True),
        (b'[{"a": "\n"}]', True, [], True),  # raw control character in a string
    ],
)
def test_parse_entries(raw: bytes, array: bool, entries: list[Any], damaged: bool) -> None:
    assert parse_entries(raw, array=array) == (entries, damaged)


# ---------------------------------------------------------------- record validation


def test_provider_key_defaults_order_and_plain_number_times(tmp_path: Path) -> None:
    key = {"extra": 1, "updated": 2.5, "created": 0, "key": "sk", "provider": "openai"}
    write(tmp_path, "provider_key_storage/provider_keys.json", {"5": key | {"id": 5, "name": "k"}})
    result = expected(tmp_path, migrated_at=NOW)
    data, created_at, updated_at = result.rows["provider_keys"]["5000"]
    assert list(data.items()) == [
        ("id", 5000),
        ("name", "k"),
        ("provider", "openai"),
        ("key", "sk"),
        ("isDefault", False),
        ("isActive", True),
        ("environment", "production"),
        ("created", 0),
        ("updated", 2.5),
    ]
    assert (created_at, updated_at) == (NOW, 2.5)


MCP_CONFIG = {"id": 1, "projectId": 1, "name": " ", "command": "c", "created": 1, "updated": 1}


@pytest.mark.parametrize(
    ("table", "record", "valid"),
    [
        ("projects", project(1, created="2024-01-01"), True),
        ("projects", project(1, created=None), False),
        ("projects", project("proj_lx2k3_abcde"), False),
        ("projects", without(project(1), "description"), False),
        ("projects", [project(1)], False),
        ("project_files", project_file(1, 2, size=2.5), True),
        ("project_files", project_file(1, 2, size=True), False),
        ("project_files", project_file(1, 2, content=5), False),
        ("chats", chat(1, projectId=None), False),
        ("chats", chat(1, projectId="7"), True),
        ("chat_messages", message(1, 2, role="tool"), False),
        ("chat_messages", message(1, 2, type=None), False),
        ("prompt_projects", {"id": 1, "promptId": 2}, False),
        ("mcp_server_configs", {"id": 1.0, "projectId": 1, "name": "n", "command": "c"}, False),
        ("mcp_server_configs", {"id": True, "projectId": 1, "name": "n", "command": "c"}, False),
        ("mcp_server_configs", {"id": "1", "projectId": 1, "name": "n", "command": "c"}, False),
        ("mcp_server_configs", {"id": 1, "projectId": 0, "name": "n", "command": "c"}, False),
        ("mcp_server_configs", {"id": 1, "projectId": 1, "name": "", "command": "c"}, False),
        ("mcp_server_configs", {"id": 1, "projectId": 1, "name": "n", "command": "c"}, False),
        ("mcp_server_configs", MCP_CONFIG, True),
        ("mcp_server_configs", MCP_CONFIG | {"args": ["a", 1]}, False),
        ("mcp_server_configs", MCP_CONFIG | {"env": {"A": 1}}, False),
        ("mcp_server_configs", MCP_CONFIG | {"enabled": None}, False),
        ("mcp_server_states", {"serverId": 1, "status": "running"}, False),
        ("mcp_tools", {"id": "t", "name": "n", "serverId": 1}, False),
        ("mcp_resources", {"uri": "u", "name": "n", "serverId": 1, "mimeType": None}, False),
    ],
)
def test_validity(table: str, record: object, valid: bool) -> None:
    data, _ = validate(table, record, strict=False)
    assert (data is not None) is valid


def test_attachments() -> None:
    attachment = {"created": 1, "url": "https://x.test/a b", "size": 3}
    attachment |= {"mimeType": "text/plain", "fileName": "a.txt", "id": 2, "junk": 0}
    data, _ = validate("chat_messages", message(1, 2, attachments=[attachment]), strict=True)
    assert data is None  # whitespace in the URL
    attachment["url"] = "https://x.test/a"
    data, _ = validate("chat_messages", message(1, 2, attachments=[attachment]), strict=True)
    assert data is not None
    assert list(data["attachments"][0].items()) == [
        ("id", 2000),
        ("fileName", "a.txt"),
        ("mimeType", "text/plain"),
        ("size", 3),
        ("url", "https://x.test/a"),
        ("created", 1000),
    ]
    for bad in ({"size": 0}, {"size": 3.0}, {"size": True}, {"url": "no-scheme"}, {"url": 5}):
        data, _ = validate(
            "chat_messages", message(1, 2, attachments=[attachment | bad]), strict=True
        )
        assert data is None, bad


def test_mcp_records(tmp_path: Path) -> None:
    config = {"id": 3, "projectId": 4, "name": "n", "command": "c", "created": 1, "updated": 2}
    write(tmp_path, "mcp_storage/mcp_server_configs.json", keyed(config))
    state = {"serverId": 3, "status": "error", "pid": None, "error": "boom"}
    state |= {"startedAt": "1", "lastHeartbeat": None}
    write(tmp_path, "mcp_storage/server_states.json", {"3": state})
    tool = {"serverId": 3, "description": "d", "name": "n", "id": "t1"}
    tool |= {"parameters": [{"name": "p", "type": "string", "x": 1}]}
    write(tmp_path, "mcp_storage/mcp_tools.json", keyed(tool))
    resource = {"uri": "file:///a", "name": "n", "serverId": 3}
    write(tmp_path, "mcp_storage/mcp_resources.json", {"file:///a": resource})
    execution = {"id": "e1", "toolId": "t1", "serverId": 3, "status": "success", "result": None}
    execution |= {"error": None, "startedAt": T0, "completedAt": None}
    write(tmp_path, "mcp_storage/tool_executions.json", keyed(execution))
    rows = expected(tmp_path, migrated_at=NOW).rows

    assert rows["mcp_server_configs"]["3"] == (
        {"id": 3, "projectId": 4, "name": "n", "command": "c", "args": [], "env": {}}
        | {"enabled": True, "autoStart": False, "created": 1000, "updated": 2000},
        1000,
        2000,
    )
    assert rows["mcp_server_states"]["3"] == (state | {"startedAt": 1000}, NOW, NOW)
    tool_data = rows["mcp_tools"]["t1"][0]
    assert list(tool_data) == ["id", "name", "description", "parameters", "serverId"]
    assert tool_data["parameters"] == [{"name": "p", "type": "string", "required": True}]
    assert rows["mcp_resources"]["3:file:///a"] == (resource, NOW, NOW)
    assert rows["mcp_tool_executions"]["e1"] == (execution, NOW, NOW)


def test_prompts_and_links(tmp_path: Path) -> None:
    prompt = {"id": 1, "name": "p", "content": "c", "projectId": 999, "created": 0, "updated": 0}
    write(tmp_path, "prompt_storage/prompts.json", keyed(prompt))
    links = [{"id": 1, "promptId": 1, "projectId": 2}, {"id": 2, "promptId": 1, "projectId": 2}]
    write(tmp_path, "prompt_storage/prompt-projects.json", links)
    write(
        tmp_path, "prompt_storage/prompt_projects.json", [{"id": 3, "promptId": 1, "projectId": 3}]
    )
    result = expected(tmp_path, migrated_at=NOW)

    assert result.rows["prompts"]["1000"][1:] == (NOW, NOW)  # zero counts as absent
    assert result.rows["prompts"]["1000"][0]["projectId"] == 999_000  # dangling, kept
    assert sorted(result.rows["prompt_projects"]) == ["1000_2000", "1000_3000"]
    link = {"id": 1000, "promptId": 1000, "projectId": 2000}
    assert result.rows["prompt_projects"]["1000_2000"] == (link, NOW, NOW)
    assert result.duplicates == [("prompt_storage/prompt-projects.json", 1)]
    assert result.counts["prompt_projects"] == Counts(found=3, migrated=2, duplicate=1)


# ---------------------------------------------------------------- upgrades


def test_created_updated_renames(tmp_path: Path) -> None:
    legacy = without(project(1), "created", "updated") | {"createdAt": 7, "updatedAt": 8}
    both = project(2) | {"createdAt": 9}  # current key present: createdAt is just dropped
    write(tmp_path, PROJECTS, keyed(legacy, both))
    key = {"id": 1, "name": "k", "provider": "p", "key": "s", "createdAt": 3, "updatedAt": 4}
    write(tmp_path, "provider_key_storage/provider_keys.json", keyed(key))
    result = expected(tmp_path, migrated_at=NOW)

    assert result.rows["projects"]["1000"] == (
        project(1000, name="p1", created=7000, updated=8000),
        7000,
        8000,
    )
    assert result.rows["projects"]["2000"][0] == project(2000, name="p2")
    assert result.counts["projects"] == Counts(found=2, migrated=2, upgraded=1)
    assert result.rows["provider_keys"]["1000"][1:] == (3, 4)
    assert result.counts["provider_keys"].upgraded == 1

    strict = expected(tmp_path, migrated_at=NOW, strict=True)
    assert list(strict.rows["projects"]) == ["2000"]
    assert strict.counts["projects"] == Counts(found=2, migrated=1, rejected=1)
    assert strict.rejected == [("provider_key_storage/provider_keys.json", 0), (PROJECTS, 0)]


def test_message_updated_from_created(tmp_path: Path) -> None:
    write(tmp_path, CHATS, keyed(chat(1)))
    v053 = without(message(1, 1), "updated")
    older = without(message(2, 1), "created", "updated") | {"createdAt": "2024-01-01"}
    hopeless = without(message(3, 1), "created", "updated")
    messages = keyed(v053, older, hopeless)
    write(tmp_path, "chat_storage/chat_data/1/messages.json", messages)
    result = expected(tmp_path, migrated_at=NOW)

    rows = result.rows["chat_messages"]
    assert rows["1000"] == (message(1000, 1000, updated=T0), T0, T0)
    assert rows["2000"][1:] == (JAN_2024, JAN_2024)
    assert result.counts["chat_messages"] == Counts(found=3, migrated=2, upgraded=2, rejected=1)
    strict = expected(tmp_path, migrated_at=NOW, strict=True)
    assert strict.counts["chat_messages"] == Counts(found=3, rejected=3)


def test_project_file_upgrades(tmp_path: Path) -> None:
    write(tmp_path, PROJECTS, keyed(project(1)))
    renamed = without(project_file(1, 1), "summaryLastUpdated") | {"summaryLastUpdatedAt": 9}
    missing = without(project_file(2, 1), "checksum", "meta", "content", "summary")
    keep = project_file(3, 1, summaryLastUpdated=5) | {"summaryLastUpdatedAt": 9}
    write(tmp_path, "project_storage/project_data/1/files.json", keyed(renamed, missing, keep))
    result = expected(tmp_path, migrated_at=NOW)

    assert files_of(result)["1000"][0]["summaryLastUpdated"] == 9000
    assert files_of(result)["2000"][0] == project_file(2000, 1000, content=None)
    assert list(files_of(result)["2000"][0]) == list(project_file(0, 0))
    assert files_of(result)["3000"][0]["summaryLastUpdated"] == 5000
    assert result.counts["project_files"] == Counts(found=3, migrated=3, upgraded=2)
    strict = expected(tmp_path, migrated_at=NOW, strict=True)
    assert list(files_of(strict)) == ["3000"]


# ---------------------------------------------------------------- orphans and duplicates


def test_orphan_folders(tmp_path: Path) -> None:
    legacy = without(project(7), "created") | {"createdAt": T0}
    write(tmp_path, PROJECTS, keyed(project(5), project("bad"), legacy))
    data = "project_storage/project_data"
    write(tmp_path, f"{data}/5/files.json", keyed(project_file(1, 999)))  # own projectId kept
    write(tmp_path, f"{data}/6/files.json", keyed(project_file(2, 6), {"id": "junk"}))
    write(tmp_path, f"{data}/bad/files.json", keyed(project_file(3, 5)))
    write(tmp_path, f"{data}/7/files.json", keyed(project_file(4, 7)))
    write(tmp_path, f"{data}/8/notes.txt", "no files.json: not a container")
    result = expected(tmp_path, migrated_at=NOW)

    assert list(files_of(result)) == ["1000", "4000"]
    assert files_of(result)["1000"][0]["projectId"] == 999_000
    assert result.orphan_folders == {f"{data}/6", f"{data}/bad"}
    assert result.counts["project_files"] == Counts(found=5, migrated=2, rejected=1, orphaned=2)
    assert result.rejected == [(PROJECTS, 1), (f"{data}/6/files.json", 1)]

    included = expected(tmp_path, migrated_at=NOW, include_orphans=True)
    assert list(files_of(included)) == ["1000", "2000", "4000", "3000"]  # "bad" sorts last
    assert included.orphan_folders == result.orphan_folders
    assert included.counts["project_files"] == Counts(found=5, migrated=4, rejected=1)

    strict = expected(tmp_path, migrated_at=NOW, strict=True)  # a rejected parent orphans
    assert strict.orphan_folders == {f"{data}/6", f"{data}/bad", f"{data}/7"}
    assert list(files_of(strict)) == ["1000"]


def test_chat_orphans(tmp_path: Path) -> None:
    write(tmp_path, CHATS, keyed(chat(1_700_000_000_000)))
    write(tmp_path, "chat_storage/chat_data/1700000000/messages.json", keyed(message(1, 1)))
    write(
        tmp_path, "chat_storage/chat_data/2/messages.json", keyed(without(message(2, 2), "updated"))
    )
    result = expected(tmp_path, migrated_at=NOW)
    assert result.orphan_folders == {"chat_storage/chat_data/2"}
    # upgraded is a part of migrated (issue 10): the orphaned legacy message is not counted
    assert result.counts["chat_messages"] == Counts(found=2, migrated=1, orphaned=1)


def test_duplicates_follow_numeric_folder_order(tmp_path: Path) -> None:
    write(tmp_path, PROJECTS, keyed(project(3), project(20)))
    data = "project_storage/project_data"
    for folder in ("20", "3", "1"):  # "1" is an orphan folder
        write(tmp_path, f"{data}/{folder}/files.json", keyed(project_file(9, folder)))
    result = expected(tmp_path, migrated_at=NOW)
    assert files_of(result)["9000"][0]["projectId"] == 3000
    # Other data under a taken id is re-keyed, not a duplicate (issue 10, spec section 5).
    assert result.rekeys == [("project_files", f"{data}/20/files.json", 0, 9000, 9001)]
    assert result.counts["project_files"] == Counts(found=3, migrated=2, orphaned=1, rekeyed=1)

    included = expected(tmp_path, migrated_at=NOW, include_orphans=True)
    assert files_of(included)["9000"][0]["projectId"] == 1000
    assert [rekey[1:] for rekey in included.rekeys] == [
        (f"{data}/3/files.json", 0, 9000, 9001),
        (f"{data}/20/files.json", 0, 9000, 9002),
    ]


def test_mcp_prefixed_file_comes_first(tmp_path: Path) -> None:
    resource = {"uri": "u", "name": "first", "serverId": 1}
    write(tmp_path, "mcp_storage/resources.json", {"u": resource | {"name": "second"}})
    write(tmp_path, "mcp_storage/mcp_resources.json", {"u": resource})
    result = expected(tmp_path, migrated_at=NOW)
    assert result.rows["mcp_resources"]["1:u"][0]["name"] == "first"
    # A string key with other data is rejected, not a duplicate (issue 10, spec section 5).
    assert result.rejected == [("mcp_storage/resources.json", 0)]


# ---------------------------------------------------------------- damaged files, listing


PROJECTS_E = json.dumps(keyed(project(1), project(2, name="é")), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("content", "kept"),
    [
        (b"", 0),
        (b"  \n", 0),
        (b"null", 0),
        (b"[]", 0),
        (json.dumps(keyed(project(1), project(2)), indent=2).encode()[:-40], 1),
        (PROJECTS_E[: PROJECTS_E.index("é".encode()) + 1], 1),  # cut inside "é"
        (PROJECTS_E.replace("é".encode(), b"\xe9"), 1),  # Latin-1 byte: invalid UTF-8
        (PROJECTS_E + b"\x00\x00", 2),  # NUL padding after the end
    ],
)
def test_damaged_projects_file(tmp_path: Path, content: bytes, kept: int) -> None:
    write(tmp_path, PROJECTS, content)
    result = expected(tmp_path, migrated_at=NOW)
    assert result.damaged == {PROJECTS: kept}
    assert len(result.rows["projects"]) == kept
    assert result.counts["projects"] == Counts(found=kept, migrated=kept)


def test_not_migrated_listing(tmp_path: Path) -> None:
    write(tmp_path, PROJECTS, keyed(project(1)))
    write(tmp_path, "project_storage/project_data/1/files.json", {})
    write(tmp_path, "project_storage/project_data/2/files.json", {})  # orphan: still an entity
    write(tmp_path, "prompt_storage/prompt_projects.json", [])
    write(tmp_path, "mcp_storage/tools.json", {})
    others = {
        "project_storage/project_data/1/ai-file-changes.json",
        "project_storage/project_data/1/sub/files.json",
        "project_storage/project_data/backup-1/files.json",
        "project_storage/files.json",
        "project_storage/projects.json.tmp",
        "project_storage/indexes/projects.index.json",
        "chat_storage/messages.json",
        "kv-store.json",
        "agent-logs/run.log",
        "chat_attachments/1/a.png",
        "backup-2025-01-01/project_storage/projects.json",
        "provider_keys.json",
    }
    for rel in others:
        write(tmp_path, rel, "{}")
    result = expected(tmp_path, migrated_at=NOW)
    assert result.not_migrated == others
    assert result.orphan_folders == {"project_storage/project_data/2"}
    assert result.damaged == {}


def test_every_table_counted(tmp_path: Path) -> None:
    result = expected(tmp_path / "missing", migrated_at=NOW)
    assert result == Expected()
    assert list(result.counts) == [*TABLES, LINKS]
    assert all(counts == Counts() for counts in result.counts.values())
