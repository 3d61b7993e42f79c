"""Tests for the seeded OctoPrompt data-root generator (benchmarks/generate.py)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks.generate import (
    TABLES,
    TRAP_NAMES,
    GenerateResult,
    generate,
    main,
    parse_size,
)

if TYPE_CHECKING:
    from pathlib import Path

KB = 1024
MB = 1024 * KB
DAMAGED = (
    "damaged_truncated_record",
    "damaged_truncated_utf8",
    "damaged_empty",
    "damaged_null",
    "damaged_invalid_utf8",
    "damaged_syntax_error",
)
MIN_TS, MAX_TS = 1_700_000_000_000, 1_750_000_000_000
#: Files a migrator reads, by table (the rest of the tree is never migrated).
TABLE_FILES = (
    (re.compile(r"provider_key_storage/provider_keys\.json"), "provider_keys"),
    (re.compile(r"project_storage/projects\.json"), "projects"),
    (re.compile(r"project_storage/project_data/[^/]+/files\.json"), "project_files"),
    (re.compile(r"chat_storage/chats\.json"), "chats"),
    (re.compile(r"chat_storage/chat_data/[^/]+/messages\.json"), "chat_messages"),
    (re.compile(r"prompt_storage/prompts\.json"), "prompts"),
    (re.compile(r"prompt_storage/prompt[-_]projects\.json"), "prompt_projects"),
    (re.compile(r"mcp_storage/(?:mcp_)?server_configs\.json"), "mcp_server_configs"),
    (re.compile(r"mcp_storage/(?:mcp_)?server_states\.json"), "mcp_server_states"),
    (re.compile(r"mcp_storage/(?:mcp_)?tools\.json"), "mcp_tools"),
    (re.compile(r"mcp_storage/(?:mcp_)?resources\.json"), "mcp_resources"),
    (re.compile(r"mcp_storage/(?:mcp_)?tool_executions\.json"), "mcp_tool_executions"),
    (re.compile(r"ticket_storage/tickets\.json"), "tickets"),
    (re.compile(r"ticket_storage/ticket_data/[^/]+/tasks\.json"), "ticket_tasks"),
    (re.compile(r"ticket_storage/ticket_data/[^/]+/files\.json"), "ticket_file_links"),
)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by relative posix path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def is_array_file(rel: str) -> bool:
    """Prompt-project links and ticket-file links are top-level arrays (spec section 1)."""
    prompt_links = rel.endswith("projects.json") and "prompt" in rel
    return (
        prompt_links
        or re.fullmatch(r"ticket_storage/ticket_data/[^/]+/files\.json", rel) is not None
    )


def table_of(rel: str) -> str | None:
    return next((table for pattern, table in TABLE_FILES if pattern.fullmatch(rel)), None)


def damaged_paths(result: GenerateResult) -> set[str]:
    return {rel for name in DAMAGED for rel in result.traps.get(name, ())}


def complete_entries(data: bytes) -> int:
    """Top-level entries followed by a comma: complete records ahead of any damage."""
    return data.count(b"\n  },\n")


@pytest.fixture(scope="module")
def trapped(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(tmp_path_factory.mktemp("trapped") / "data", size_bytes=MB, seed=7, traps=True)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(tmp_path_factory.mktemp("clean") / "data", size_bytes=MB, seed=11)


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", size_bytes=600 * KB, seed=5, traps=True)
    second = generate(tmp_path / "b", size_bytes=600 * KB, seed=5, traps=True)
    assert tree(first.root) == tree(second.root)
    assert (first.bytes_written, first.files_written) == (
        second.bytes_written,
        second.files_written,
    )
    assert first.records == second.records
    assert first.traps == second.traps


def test_other_seed_gives_other_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", size_bytes=300 * KB, seed=5)
    second = generate(tmp_path / "b", size_bytes=300 * KB, seed=6)
    assert tree(first.root) != tree(second.root)


@pytest.mark.parametrize("fixture", ["clean", "trapped"])
def test_json_files_load_and_are_pretty_printed(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    result: GenerateResult = request.getfixturevalue(fixture)
    damaged = damaged_paths(result)
    checked = 0
    for rel, data in tree(result.root).items():
        if not rel.endswith(".json") or rel in damaged:
            continue
        text = data.decode("utf-8")
        loaded: Any = json.loads(text)
        expected_type = list if is_array_file(rel) else dict
        assert type(loaded) is expected_type, rel
        # Exactly what JSON.stringify(value, null, 2) writes: 2 spaces, raw UTF-8, no newline.
        assert text == json.dumps(loaded, indent=2, ensure_ascii=False), rel
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("fixture", ["clean", "trapped"])
def test_records_count_what_was_written(fixture: str, request: pytest.FixtureRequest) -> None:
    result: GenerateResult = request.getfixturevalue(fixture)
    damaged = damaged_paths(result)
    counted = dict.fromkeys(TABLES, 0)
    for rel, data in tree(result.root).items():
        table = table_of(rel)
        if table is None:
            continue
        counted.setdefault(table, 0)  # ticket tables: counted only in roots holding tickets
        if rel in damaged:
            counted[table] += complete_entries(data)
        else:
            counted[table] += len(json.loads(data))
    assert dict(result.records) == counted
    assert all(count > 0 for count in counted.values())


@pytest.mark.parametrize("shape", ["many", "few"])
@pytest.mark.parametrize("size", [300 * KB, 2 * MB])
@pytest.mark.parametrize("traps", [False, True])
def test_size_is_within_ten_percent(tmp_path: Path, shape: str, size: int, traps: bool) -> None:
    assert shape in ("many", "few")
    result = generate(tmp_path / "d", size_bytes=size, shape=shape, seed=3, traps=traps)  # type: ignore[arg-type]  # checked above
    files = tree(result.root)
    assert result.bytes_written == sum(len(data) for data in files.values())
    assert result.files_written == len(files)
    assert abs(result.bytes_written - size) <= size * 0.1, (result.bytes_written, size)


def test_every_trap_is_recorded_and_on_disk(trapped: GenerateResult) -> None:
    assert tuple(trapped.traps) == TRAP_NAMES
    for name, paths in trapped.traps.items():
        assert paths, name
        for rel in paths:
            assert (trapped.root / rel).is_file(), (name, rel)


def test_no_traps_means_no_trap_files(clean: GenerateResult) -> None:
    assert dict(clean.traps) == {}
    files = tree(clean.root)
    assert all(table_of(rel) is not None for rel in files), sorted(files)
    assert "prompt_storage/prompt_projects.json" not in files
    assert "mcp_storage/tools.json" not in files


def test_damaged_files_are_damaged(trapped: GenerateResult) -> None:
    for name in DAMAGED:
        (rel,) = trapped.traps[name]
        data = (trapped.root / rel).read_bytes()
        try:
            loaded = json.loads(data.decode("utf-8"))
        except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
            pass
        else:
            assert loaded is None, name
        if name == "damaged_empty":
            assert data == b""
        elif name != "damaged_null":
            assert complete_entries(data) >= 2, name


def test_traps_look_like_their_names(trapped: GenerateResult) -> None:
    root = trapped.root
    projects: dict[str, Any] = json.loads((root / "project_storage/projects.json").read_text())
    assert next(iter(projects)) == "5"  # JavaScript lists array-index keys first
    assert projects["5"]["id"] == 5
    assert (root / "project_storage/project_data/5/files.json").is_file()
    ids = [str(record["id"]) for record in projects.values() if isinstance(record, dict)]
    assert any(re.fullmatch(r"proj_[0-9a-z]+_[0-9a-z]{5}", value) for value in ids)
    assert 42 in projects.values()
    assert any(key != str(record["id"]) for key, record in projects.items() if record != 42)
    (legacy_rel,) = trapped.traps["legacy_message_no_updated"]
    messages: dict[str, Any] = json.loads((root / legacy_rel).read_text())
    assert any("updated" not in message for message in messages.values())
    first, second = trapped.traps["duplicate_file_id"]
    first_ids = set(json.loads((root / first).read_text()))
    assert first_ids & set(json.loads((root / second).read_text()))
    links_a, links_b = trapped.traps["duplicate_link_files"]
    as_pairs = [
        {(link["promptId"], link["projectId"]) for link in json.loads((root / rel).read_text())}
        for rel in (links_a, links_b)
    ]
    assert as_pairs[0] & as_pairs[1]
    assert as_pairs[1] - as_pairs[0]


def test_valid_records_follow_the_schema(clean: GenerateResult) -> None:
    root = clean.root
    projects: dict[str, Any] = json.loads((root / "project_storage/projects.json").read_text())
    prompts: dict[str, Any] = json.loads((root / "prompt_storage/prompts.json").read_text())
    seen_non_ascii = False
    for rel, data in tree(root).items():
        records: Any = json.loads(data)
        if isinstance(records, list):
            for link in records:
                assert str(link["promptId"]) in prompts
                assert str(link["projectId"]) in projects
            continue
        ids = [record["id"] for record in records.values() if "id" in record]
        assert len(ids) == len(set(ids)), rel
        for key, record in records.items():
            if isinstance(record.get("id"), int):
                assert key == str(record["id"]), rel
                assert MIN_TS < record["id"] < MAX_TS, rel
            if rel.endswith("files.json"):
                seen_non_ascii |= check_file(record)
            elif rel.endswith("messages.json"):
                check_message(record)
    assert seen_non_ascii


def check_file(record: dict[str, Any]) -> bool:
    content = record["content"]
    for key in ("summary", "summaryLastUpdated", "meta", "checksum"):
        assert key in record
    assert record["extension"] == "." + record["name"].rsplit(".", 1)[1]
    if content is None:
        return False
    assert record["size"] == len(content.encode("utf-8"))
    return not content.isascii()


def check_message(record: dict[str, Any]) -> None:
    assert record["role"] in ("user", "assistant", "system")
    assert 50 <= len(record["content"]) <= 2000
    assert record["created"] <= record["updated"]
    for attachment in record.get("attachments", ()):
        assert attachment["url"].startswith("https://")
        assert isinstance(attachment["size"], int)
        assert attachment["size"] > 0


def test_few_shape_has_few_big_files(tmp_path: Path) -> None:
    size = 2 * MB
    result = generate(tmp_path / "d", size_bytes=size, shape="few", seed=9)
    folders = sorted((result.root / "project_storage/project_data").iterdir())
    assert 3 <= len(folders) <= 6
    for folder in folders:
        data = (folder / "files.json").read_bytes()
        assert len(data) >= size / 10
        files: dict[str, Any] = json.loads(data)
        biggest = max(len(record["content"] or "") for record in files.values())
        assert biggest >= len(data) / 4
    chats = list((result.root / "chat_storage/chat_data").iterdir())
    assert 1 <= len(chats) <= 6
    assert all((chat / "messages.json").stat().st_size < size / 20 for chat in chats)


def test_many_shape_scales_its_counts(tmp_path: Path) -> None:
    small = generate(tmp_path / "s", size_bytes=300 * KB, seed=2)
    large = generate(tmp_path / "l", size_bytes=2 * MB, seed=2)
    assert large.records["projects"] > small.records["projects"]
    assert large.records["chats"] > small.records["chats"]


def test_refuses_a_non_empty_root(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an empty directory"):
        generate(tmp_path, size_bytes=300 * KB)
    assert [path.name for path in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500KB", 500 * KB),
        ("100MB", 100 * MB),
        ("1GB", 1024 * MB),
        ("1.5GB", 1536 * MB),
        ("4096", 4096),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


def test_cli_prints_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert main([str(out), "--size", "300KB", "--seed", "4", "--traps"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("seed=4 shape=many bytes=")
    assert "files=" in lines[0]
    assert "seconds=" in lines[0]
    assert main([str(out), "--size", "300KB"]) == 2
    assert "not an empty directory" in capsys.readouterr().err
