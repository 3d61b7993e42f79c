"""Where a data root's records are and which row each makes, as a user's own script says it.

Written from the data spec, independently of asyncmig's code paths, for the comparison
cases (naive script, parse floor, sqlite-utils). It is only right for the benchmark
shapes, which the generator makes without traps: every record valid, every id unique,
every per-project or per-chat folder's parent present. On such a root it makes the same
rows per table as asyncmig, which the runner checks on every run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

Row = tuple[str, str, int, int]


@dataclass(frozen=True, slots=True)
class Source:
    """One kind of record file: its table, where it is (a glob), and the row id rule."""

    table: str
    pattern: str
    row_id: Callable[[dict[str, Any]], str] = lambda r: str(r["id"])


SOURCES: Final = (
    Source("provider_keys", "provider_key_storage/provider_keys.json"),
    Source("projects", "project_storage/projects.json"),
    Source("project_files", "project_storage/project_data/*/files.json"),
    Source("chats", "chat_storage/chats.json"),
    Source("chat_messages", "chat_storage/chat_data/*/messages.json"),
    Source("prompts", "prompt_storage/prompts.json"),
    Source(
        "prompt_projects",
        "prompt_storage/prompt-projects.json",
        lambda r: f"{r['promptId']}_{r['projectId']}",
    ),
    Source("mcp_server_configs", "mcp_storage/mcp_server_configs.json"),
    Source("mcp_server_states", "mcp_storage/mcp_server_states.json", lambda r: str(r["serverId"])),
    Source("mcp_tools", "mcp_storage/mcp_tools.json"),
    Source(
        "mcp_resources", "mcp_storage/mcp_resources.json", lambda r: f"{r['serverId']}:{r['uri']}"
    ),
    Source("mcp_tool_executions", "mcp_storage/mcp_tool_executions.json"),
)


def record_files(root: Path) -> Iterator[tuple[Source, Path]]:
    """Every record file under ``root``, parents' tables first, folders in sorted order."""
    for source in SOURCES:
        for path in sorted(root.glob(source.pattern)):
            yield source, path


def records_of(document: Any) -> Iterable[dict[str, Any]]:
    """The records of a parsed file: the values of a keyed object, or an array's items."""
    return document.values() if isinstance(document, dict) else document


def make_row(source: Source, record: dict[str, Any], now: int) -> Row:
    """The table row for one record: id, compact JSON, created and updated in ms."""
    created = record.get("created") or now
    updated = record.get("updated") or created
    data = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return source.row_id(record), data, created, updated


def now_ms() -> int:
    return time.time_ns() // 1_000_000
