"""Seeded generator of realistic OctoPrompt JSON-era data roots, optionally with traps.

The output has the layout of the data spec's section 1 and is written the way the JSON-era
server wrote it (``JSON.stringify(data, null, 2)``, raw UTF-8), one record at a time so that a
multi-GB root never sits in memory. File contents are slices of pre-generated, pre-escaped
text blocks, so most bytes are copied rather than drawn one by one from the PRNG.

``size_bytes`` is met within a few percent from about 100 KB up; below that the output is
the minimal root (~15 KB, ~75 KB with traps). Units on the command line are binary (1KB is
1024 bytes).

``traps=True`` adds a small, fixed set of awkward cases (legacy shapes, invalid records,
damaged files, orphans, duplicates, colliding ids, v0.5.3 tickets, MCP state histories, files
that are not migrated); ``GenerateResult.traps`` names the files holding each of them, by the
names in ``TRAP_NAMES``.

Ids as the real servers allocated them (spec section 3), all off by default so that the
default roots stay byte for byte what they were: ``collide`` is the share of project files
and of chat messages whose id an earlier record of their table already holds (bulk syncs
running ahead of the clock, forked and copied chats), ``copies`` the share of the colliding
messages that are identical copies (duplicates, the others are re-keyed); ``tickets`` writes
that many tickets (most in v0.5.3 shapes, with tasks and ticket-file links); ``mcp_history``
earlier state records per MCP server, all keyed by generated ids as the June 2025 server did.

Run ``python -m benchmarks.generate OUT_DIR --size 100MB --shape many --seed 1 [--traps]
[--collide 0.05]``.
"""

from __future__ import annotations

import argparse
import io
import math
import re
import sys
import time
from array import array
from bisect import bisect_left
from contextlib import contextmanager
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _quote
from pathlib import Path
from random import Random
from types import MappingProxyType
from typing import TYPE_CHECKING, BinaryIO, Literal

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

__all__ = ("TABLES", "TICKET_TABLES", "TRAP_NAMES", "GenerateResult", "generate", "main")

Shape = Literal["many", "few"]
Record = dict[str, object]
Entry = tuple[str | None, object]

TABLES: tuple[str, ...] = (
    "provider_keys",
    "projects",
    "project_files",
    "chats",
    "chat_messages",
    "prompts",
    "prompt_projects",
    "mcp_server_configs",
    "mcp_server_states",
    "mcp_tools",
    "mcp_resources",
    "mcp_tool_executions",
)
#: Counted in ``records`` when the root holds tickets; the links are folded into their
#: tickets (spec section 4), so they have no table of their own.
TICKET_TABLES: tuple[str, ...] = ("tickets", "ticket_tasks", "ticket_file_links")

TRAP_NAMES: tuple[str, ...] = (
    # 1. legacy shapes (spec section 4), upgraded by default
    "legacy_message_no_updated",
    "legacy_created_at_project",
    "legacy_created_at_chat",
    "legacy_created_at_prompt",
    "legacy_summary_last_updated_at",
    "legacy_missing_nullable_field",
    # 2. v0.5.1 string ids
    "string_id_project",
    "string_id_chat",
    # 3. invalid records
    "invalid_wrong_type",
    "invalid_missing_required",
    "invalid_message_role",
    "invalid_attachment_url",
    "invalid_attachment_size",
    "invalid_negative_timestamp",
    "invalid_timestamp_after_2050",
    "invalid_impossible_date",
    "invalid_empty_timestamp",
    "invalid_not_an_object",
    # 4. timestamp forms that are valid once normalised
    "ts_seconds",
    "ts_numeric_string",
    "ts_numeric_string_exponent",
    "ts_iso_utc",
    "ts_iso_offset",
    "ts_iso_no_offset",
    "ts_small_id",
    # 5.-6.
    "unknown_extra_keys",
    "key_id_mismatch",
    # 7. orphans, and a folder that only looks like one
    "orphan_project_folder",
    "orphan_chat_folder",
    "small_id_folder_not_orphan",
    # 8. duplicates
    "duplicate_file_id",
    "duplicate_message_id",
    "duplicate_link",
    "duplicate_link_files",
    "duplicate_mcp_file",
    # 9. child whose parent field differs from its folder
    "parent_mismatch_file",
    "parent_mismatch_message",
    # 10. damaged files
    "damaged_truncated_record",
    "damaged_truncated_utf8",
    "damaged_empty",
    "damaged_null",
    "damaged_invalid_utf8",
    "damaged_syntax_error",
    # 11. dangling optional references, migrated as they are
    "dangling_chat_project",
    "dangling_prompt_project",
    "dangling_link_prompt",
    # 12. ids as the servers allocated them (spec sections 3, 5)
    "collision_bulk_sync",
    "collision_forked_chat",
    "copied_chat",
    # 13. tickets (spec sections 1, 2, 4, 6) and MCP histories
    "legacy_ticket_v053",
    "ticket_file_links",
    "ticket_ref_to_rekeyed_file",
    "orphan_ticket_folder",
    "mcp_state_history",
    "mcp_numeric_enum",
    "mcp_tool_id_conflict",
    # 14. files that are not migrated
    "not_migrated_ai_file_changes",
    "not_migrated_kv_store",
    "not_migrated_agent_logs",
    "not_migrated_index",
    "not_migrated_tmp",
    "not_migrated_chat_attachment",
    "not_migrated_backup",
)

PROVIDER_KEYS = "provider_key_storage/provider_keys.json"
PROJECTS = "project_storage/projects.json"
CHATS = "chat_storage/chats.json"
PROMPTS = "prompt_storage/prompts.json"
LINKS = "prompt_storage/prompt-projects.json"
LINKS_ALT = "prompt_storage/prompt_projects.json"
MCP_FILES: Mapping[str, str] = MappingProxyType(
    {
        "mcp_server_configs": "mcp_storage/mcp_server_configs.json",
        "mcp_server_states": "mcp_storage/mcp_server_states.json",
        "mcp_tools": "mcp_storage/mcp_tools.json",
        "mcp_resources": "mcp_storage/mcp_resources.json",
        "mcp_tool_executions": "mcp_storage/mcp_tool_executions.json",
    }
)
MCP_TOOLS_ALT = "mcp_storage/tools.json"
TICKETS = "ticket_storage/tickets.json"

_KIB = 1024
_MIB = 1024 * _KIB
_DAY_MS = 86_400_000


def files_path(project_id: object) -> str:
    """Relative path of a project's ``files.json``."""
    return f"project_storage/project_data/{project_id}/files.json"


def messages_path(chat_id: object) -> str:
    """Relative path of a chat's ``messages.json``."""
    return f"chat_storage/chat_data/{chat_id}/messages.json"


def ticket_path(ticket_id: object, name: str) -> str:
    """Relative path of a ticket's ``tasks.json`` or ``files.json`` (its file links)."""
    return f"ticket_storage/ticket_data/{ticket_id}/{name}"


@dataclass(frozen=True)
class GenerateResult:
    """What `generate` wrote; ``traps`` maps each trap name to the files holding it."""

    root: Path
    seed: int
    bytes_written: int
    files_written: int
    #: Table -> complete top-level entries written into that table's files (valid or not).
    records: Mapping[str, int]
    #: Trap name -> relative posix paths (from root) of its files; empty without traps.
    traps: Mapping[str, tuple[str, ...]]
    #: Table -> rows a correct migration writes (records less identical copies and
    #: superseded MCP states; links fold into tickets); None with traps (ask the oracle).
    rows: Mapping[str, int] | None = None


# --- JSON text, as JSON.stringify(value, null, 2) writes it --------------------------------


@dataclass(frozen=True, slots=True)
class _Blob:
    """A JSON string body, already escaped, held as views into a text block."""

    pieces: tuple[memoryview, ...]
    size: int  # UTF-8 bytes of the decoded string


Part = str | _Blob
_INDENT = tuple("\n" + "  " * level for level in range(16))


def _dump(value: object, level: int, out: list[Part]) -> None:
    """Append the indented JSON of ``value`` (nested ``level`` deep) to ``out``."""
    if isinstance(value, str):
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, _Blob):
        out.extend(('"', value, '"'))
    elif isinstance(value, dict):
        _dump_items([(_quote(k) + ": ", v) for k, v in value.items()], "{}", level, out)
    elif isinstance(value, list | tuple):
        _dump_items([("", v) for v in value], "[]", level, out)
    else:  # floats would print differently from JavaScript, so none are generated
        raise TypeError(f"cannot write {type(value).__name__} as JSON here")


def _dump_items(
    items: list[tuple[str, object]], brackets: str, level: int, out: list[Part]
) -> None:
    if not items:
        out.append(brackets)
        return
    inner = _INDENT[level + 1]
    sep = brackets[0] + inner
    for prefix, item in items:
        out.append(sep + prefix)
        _dump(item, level + 1, out)
        sep = "," + inner
    out.append(_INDENT[level] + brackets[1])


class _EntryWriter:
    """Streams one top-level JSON object or array entry by entry, counting bytes."""

    def __init__(self, out: BinaryIO, *, is_array: bool = False) -> None:
        self._out = out
        self._brackets = "[]" if is_array else "{}"
        self.entries = 0
        self.size = 0
        self.ends: list[int] = []  # offset just after each entry, to damage files precisely

    def add(self, key: str | None, value: object) -> None:
        head = (self._brackets[0] if self.entries == 0 else ",") + "\n  "
        parts: list[Part] = [head if key is None else head + _quote(key) + ": "]
        _dump(value, 1, parts)
        text: list[str] = []
        for part in parts:
            if isinstance(part, str):
                text.append(part)
                continue
            self._write("".join(text).encode())
            text.clear()
            for piece in part.pieces:
                self._write(piece)
        self._write("".join(text).encode())
        self.entries += 1
        self.ends.append(self.size)

    def finish(self) -> None:
        self._write((self._brackets if self.entries == 0 else "\n" + self._brackets[1]).encode())

    def _write(self, data: bytes | memoryview) -> None:
        self._out.write(data)
        self.size += len(data)


def _render(entries: Sequence[Entry], *, is_array: bool = False) -> tuple[bytes, list[int]]:
    """A small JSON file in memory (to damage it), with the end offset of each entry."""
    buf = io.BytesIO()
    writer = _EntryWriter(buf, is_array=is_array)
    for key, value in entries:
        writer.add(key, value)
    writer.finish()
    return buf.getvalue(), writer.ends


def _js_order(entries: list[Entry]) -> list[Entry]:
    """JavaScript objects list array-index keys ("5") first, ascending, then the rest."""
    index = [e for e in entries if e[0] is not None and _is_array_index(e[0])]
    if not index:
        return entries
    index.sort(key=lambda e: int(str(e[0])))
    return index + [e for e in entries if e[0] is None or not _is_array_index(e[0])]


def _is_array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and key == str(int(key)) and int(key) < 2**32 - 1


# --- where bytes go ------------------------------------------------------------------------


class _Sink:
    """Writes files under the root and keeps every count the result reports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bytes = 0
        self.files = 0
        self.records = dict.fromkeys(TABLES, 0)
        self.traps: dict[str, list[str]] = {}

    @contextmanager
    def stream(self, rel: str, table: str, *, is_array: bool = False) -> Iterator[_EntryWriter]:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb", buffering=_MIB) as out:
            writer = _EntryWriter(out, is_array=is_array)
            yield writer
            writer.finish()
        self._count(writer.size, table, writer.entries)

    def put(self, rel: str, data: bytes, table: str | None = None, records: int = 0) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self._count(len(data), table, records)

    def trap(self, name: str, *rels: str) -> None:
        paths = self.traps.setdefault(name, [])
        paths.extend(rel for rel in rels if rel not in paths)

    def _count(self, size: int, table: str | None, records: int) -> None:
        self.bytes += size
        self.files += 1
        if table is not None:
            self.records[table] = self.records.get(table, 0) + records


# --- text blocks ---------------------------------------------------------------------------

_IDENTS = (
    "user", "project", "file", "chat", "message", "prompt", "config", "state", "result",
    "items", "index", "cache", "token", "value", "handler", "request", "response", "payload",
    "options", "context", "buffer", "record", "schema", "entry", "count", "limit", "path",
)  # fmt: skip
_VERBS = ("get", "load", "save", "parse", "build", "render", "update", "fetch", "sync", "merge")
_TYPES = ("string", "number", "boolean", "Project", "ChatMessage", "Promise<void>", "unknown[]")
_WORDS = (
    "the", "a", "server", "should", "return", "every", "file", "when", "project", "is",
    "opened", "we", "cache", "this", "value", "because", "it", "keeps", "order", "of",
    "messages", "and", "prompts", "after", "restart", "then", "check", "that", "state",
    "handler", "writes", "JSON", "to", "disk", "with", "two", "spaces", "migration", "data",
    "summary", "could", "you", "explain", "why", "fails", "on", "large", "repositories",
)  # fmt: skip
_FOREIGN = (
    "café", "naïve", "résumé", "Größe", "señal", "déjà-vu", "日本語", "数据库", "설정",
    "привет", "🚀", "✅", "🔥", "🐛", "→", "—", "…",
)  # fmt: skip


def _words(rng: Random, count: int) -> str:
    words = rng.choices(_WORDS, k=count)
    if rng.random() < 0.3:
        words[rng.randrange(count)] = rng.choice(_FOREIGN)
    return " ".join(words)


def _code_line(rng: Random) -> str:
    ind = ("\t" if rng.random() < 0.05 else "  ") * rng.randint(0, 3)
    a, b, c = rng.choices(_IDENTS, k=3)
    verb, typ = rng.choice(_VERBS), rng.choice(_TYPES)
    line = rng.choice(
        (
            f"{ind}const {a}{b.title()} = await {c}.{verb}({a}, {rng.randint(0, 999)});",
            f"{ind}// {_words(rng, rng.randint(3, 10))}",
            f"{ind}if ({a} === null) return {b};",
            f"export function {verb}{a.title()}({a}: {typ}, {b}: {typ}): {typ} {{",
            f"{ind}}}",
            f"import {{ {a.title()}, {b.title()} }} from './{a}/{b}';",
            f'{ind}log.info("{_words(rng, 4)}", {{ {a}, {b} }});',
            f"{ind}return {a}.split('\\n').map((line) => line.trim());",
            f'{ind}"{a}": "{_words(rng, 3)}",',
            "",
        )
    )
    return line + "\n"


def _prose_piece(rng: Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        code = "".join(_code_line(rng) for _ in range(rng.randint(2, 6)))
        return f"\n\n```ts\n{code}```\n\n"
    if roll < 0.1:
        return f'"{_words(rng, 4)}" - see C:\\Users\\dev\\{rng.choice(_IDENTS)}. '
    sentence = _words(rng, rng.randint(5, 16))
    return sentence[0].upper() + sentence[1:] + rng.choice((". ", ". ", "? ", ".\n\n"))


class _Texts:
    """Pre-generated text: a code block (escaped once, sliced into views) and prose."""

    def __init__(self, rng: Random, code_bytes: int, prose_chars: int) -> None:
        raw_off, esc_off, chunks = array("q", [0]), array("q", [0]), []
        while raw_off[-1] < code_bytes:
            line = _code_line(rng)
            escaped = _quote(line)[1:-1].encode()
            chunks.append(escaped)
            raw_off.append(raw_off[-1] + len(line.encode()))
            esc_off.append(esc_off[-1] + len(escaped))
        self._raw_off, self._esc_off = raw_off, esc_off
        self._code = memoryview(b"".join(chunks))
        self._lines = len(chunks)
        pieces: list[str] = []
        length = 0
        while length < prose_chars:
            pieces.append(_prose_piece(rng))
            length += len(pieces[-1])
        self._prose = "".join(pieces)

    def code(self, rng: Random, size: int) -> _Blob:
        """Whole code lines from a random start (wrapping) adding up to at least ``size`` bytes."""
        raw, esc, lines = self._raw_off, self._esc_off, self._lines
        line, total, pieces = rng.randrange(lines), 0, []
        while total < size:
            end = min(bisect_left(raw, raw[line] + size - total, line + 1), lines)
            pieces.append(self._code[esc[line] : esc[end]])
            total += raw[end] - raw[line]
            line = 0 if end == lines else end
        return _Blob(tuple(pieces), total)

    def prose(self, rng: Random, chars: int) -> str:
        """``chars`` characters of prose, starting at a word."""
        start = rng.randrange(max(1, len(self._prose) - chars - 40))
        start = self._prose.find(" ", start) + 1
        return self._prose[start : start + chars]


# --- records -------------------------------------------------------------------------------

_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_PROVIDERS = ("openai", "anthropic", "openrouter", "groq", "google_gemini", "xai", "together")
_EXTENSIONS = (".ts", ".ts", ".tsx", ".py", ".md", ".json", ".css", ".go", ".rs")
_DIRS = ("src", "src/components", "src/lib", "src/routes", "packages/server/src", "docs", "test")
_OWNERS = ("dev", "sam", "josé", "ana", "李雷")


class _Records:
    """Makes valid records (spec section 2) with ids from one increasing clock."""

    def __init__(self, rng: Random, texts: _Texts, expected_ids: int) -> None:
        self.rng = rng
        self.texts = texts
        self._now = 1_700_000_000_000 + rng.randrange(10**10)
        self._step = max(2, min(5000, 3 * 10**10 // max(1, expected_ids)))

    def tick(self) -> int:
        """The next ``Date.now()``-like id; ids never repeat within one run."""
        self._now += self.rng.randint(1, self._step)
        return self._now

    def later(self, ts: int) -> int:
        return ts + self.rng.randrange(30 * _DAY_MS)

    def token(self, count: int) -> str:
        return "".join(self.rng.choices(_ALNUM, k=count))

    def provider_key(self, is_default: bool) -> Record:
        rng, kid = self.rng, self.tick()
        provider = rng.choice(_PROVIDERS)
        rec: Record = {"id": kid, "name": f"{provider} {rng.choice(('main', 'team', 'backup'))}"}
        rec |= {"provider": provider, "key": f"sk-test-{self.token(40)}"}
        rec |= {"isDefault": is_default, "isActive": rng.random() < 0.85}
        rec["environment"] = rng.choice(("production", "development", "staging"))
        if rng.random() < 0.5:
            rec["description"] = self.texts.prose(rng, rng.randint(20, 120))
        if rng.random() < 0.3:
            rec["expiresAt"] = kid + 365 * _DAY_MS
        if rng.random() < 0.6:
            rec["lastUsed"] = self.later(kid)
        return rec | {"created": kid, "updated": self.later(kid)}

    def project(self) -> Record:
        rng, pid = self.rng, self.tick()
        name = f"{rng.choice(_VERBS)}-{rng.choice(_IDENTS)}-{self.token(3)}"
        description = "" if rng.random() < 0.1 else self.texts.prose(rng, rng.randint(20, 200))
        path = f"/home/{rng.choice(_OWNERS)}/code/{name}"
        return {"id": pid, "name": name, "description": description, "path": path} | {
            "created": pid,
            "updated": self.later(pid),
        }

    def file(self, project_id: object, content_size: int) -> Record:
        rng, fid = self.rng, self.tick()
        name = f"{rng.choice(_IDENTS)}{rng.choice(_IDENTS).title()}{rng.choice(_EXTENSIONS)}"
        ext = name[name.rindex(".") :]
        content: _Blob | None = None
        if rng.random() < 0.01:  # binary files were listed without their content
            name, ext = name[: -len(ext)] + ".png", ".png"
        else:
            content = self.texts.code(rng, content_size)
        summary = self.texts.prose(rng, rng.randint(80, 400)) if rng.random() < 0.35 else None
        rec: Record = {"id": fid, "projectId": project_id, "name": name}
        rec |= {"path": f"{rng.choice(_DIRS)}/{name}", "extension": ext}
        rec |= {"size": 0 if content is None else content.size, "content": content}
        rec |= {"summary": summary, "summaryLastUpdated": summary and self.later(fid)}
        meta = f'{{"language":"{ext[1:]}","lines":{rng.randint(1, 4000)}}}'
        rec["meta"] = meta if rng.random() < 0.3 else None
        rec["checksum"] = f"{rng.getrandbits(256):064x}" if rng.random() < 0.5 else None
        return rec | {"created": fid, "updated": self.later(fid)}

    def chat(self, project_id: int | None) -> Record:
        cid = self.tick()
        rec: Record = {"id": cid, "title": self.texts.prose(self.rng, self.rng.randint(12, 60))}
        if project_id is not None:
            rec["projectId"] = project_id
        return rec | {"created": cid, "updated": self.later(cid)}

    def message(self, chat_id: object, role: str, chars: int) -> Record:
        rng, mid = self.rng, self.tick()
        rec: Record = {"id": mid, "chatId": chat_id, "role": role}
        rec["content"] = self.texts.prose(rng, chars)
        if rng.random() < 0.2:
            rec["type"] = rng.choice(("text", "code", "summary"))
        rec |= {"created": mid, "updated": mid}
        if rng.random() < 0.03:
            rec["attachments"] = [self.attachment(chat_id) for _ in range(rng.randint(1, 2))]
        return rec

    def attachment(self, chat_id: object) -> Record:
        aid = self.tick()
        name = f"{self.rng.choice(_IDENTS)}-{self.token(4)}.png"
        url = f"https://files.example.com/chats/{chat_id}/{aid}/{name}"
        return {"id": aid, "fileName": name, "mimeType": "image/png"} | {
            "size": self.rng.randint(1, 5 * _MIB),
            "url": url,
            "created": aid,
        }

    def prompt(self, project_id: int | None) -> Record:
        rng, pid = self.rng, self.tick()
        rec: Record = {"id": pid, "name": f"{rng.choice(_VERBS).title()} {rng.choice(_IDENTS)}"}
        rec["content"] = self.texts.prose(rng, rng.randint(100, 3000))
        if project_id is not None:
            rec["projectId"] = project_id
        return rec | {"created": pid, "updated": self.later(pid)}

    def link(self, prompt_id: object, project_id: object) -> Record:
        return {"id": self.tick(), "promptId": prompt_id, "projectId": project_id}


def _rename(rec: Record, renames: Mapping[str, str]) -> Record:
    """The record with keys renamed in place (their position kept)."""
    return {renames.get(key, key): value for key, value in rec.items()}


# --- MCP records ---------------------------------------------------------------------------


def _mcp(recs: _Records, project_ids: Sequence[int]) -> dict[str, list[Entry]]:
    """A few records of each MCP kind, in the spec's shapes, keyed as the server keyed them."""
    rng = recs.rng
    out: dict[str, list[Entry]] = {table: [] for table in MCP_FILES}
    for _ in range(rng.randint(2, 3)):
        sid = recs.tick()
        name = rng.choice(("filesystem", "github", "postgres", "browser", "memory"))
        config: Record = {"id": sid, "projectId": rng.choice(project_ids), "name": name}
        config |= {"command": "npx", "args": ["-y", f"@modelcontextprotocol/server-{name}"]}
        config |= {"env": {"LOG_LEVEL": "info"} if rng.random() < 0.5 else {}}
        config |= {"enabled": True, "autoStart": rng.random() < 0.5}
        out["mcp_server_configs"].append((str(sid), config | _stamps(recs, sid)))
        running = rng.random() < 0.5
        state: Record = {"serverId": sid, "status": "running" if running else "stopped"}
        state |= {"pid": rng.randint(100, 60000) if running else None, "error": None}
        state |= {"startedAt": recs.later(sid) if running else None}
        out["mcp_server_states"].append((str(sid), state | {"lastHeartbeat": state["startedAt"]}))
        for tool in _mcp_tools(recs, sid, name):
            out["mcp_tools"].append((str(tool["id"]), tool))
        uri = f"file:///workspace/{name}-{sid}/README.md"
        resource = {"uri": uri, "name": "README.md", "mimeType": "text/markdown", "serverId": sid}
        out["mcp_resources"].append((uri, resource))
    for _ in range(rng.randint(3, 5)):
        _, tool_value = rng.choice(out["mcp_tools"])
        execution = _mcp_execution(recs, tool_value)
        out["mcp_tool_executions"].append((str(execution["id"]), execution))
    return out


def _stamps(recs: _Records, ts: int) -> Record:
    return {"created": ts, "updated": recs.later(ts)}


def _mcp_tools(recs: _Records, server_id: int, server: str) -> list[Record]:
    tools = []
    for verb in recs.rng.sample(("read", "write", "list", "search"), 2):
        params: list[object] = [
            {"name": "path", "type": "string", "description": "Target path", "required": True},
            {"name": "mode", "type": "string", "required": False, "enum": ["fast", "full"]},
            {"name": "limit", "type": "number", "required": False, "default": 50},
        ]
        schema = {"type": "object", "properties": {"path": {"type": "string"}}}
        tool: Record = {"id": f"{server}_{verb}_{server_id}", "name": f"{verb}_{server}"}
        tool |= {"description": f"{verb.title()} {server} items", "parameters": params}
        tools.append(tool | {"inputSchema": schema, "serverId": server_id})
    return tools


def _mcp_execution(recs: _Records, tool_value: object) -> Record:
    tool = tool_value if isinstance(tool_value, dict) else {}
    started = recs.tick()
    ok = recs.rng.random() < 0.7
    result = {"content": [{"type": "text", "text": recs.texts.prose(recs.rng, 80)}]}
    execution: Record = {"id": f"exec_{started}", "toolId": tool.get("id")}
    execution |= {"serverId": tool.get("serverId"), "status": "success" if ok else "error"}
    execution |= {"result": result if ok else None, "error": None if ok else "timed out"}
    return execution | {"startedAt": started, "completedAt": started + 1500}


# --- the plan: what goes where, and how big --------------------------------------------------


@dataclass
class _TopFile:
    table: str
    entries: list[Entry] = field(default_factory=list)
    is_array: bool = False


#: A forked or copied chat repeats at most this many of the previous chat's first messages.
_FORK_PREFIX = 256


@dataclass
class _Collisions:
    """Bulk ids as the servers handed them out, a set share of them already taken.

    A sync of a project's files hands out consecutive ids (``Date.now()`` bumped past the
    last one), so it runs ahead of the clock and the next sync starts inside the previous
    one's ids; a forked or copied chat repeats its original's message ids. Each new file
    decides how far back its sync starts (or how many messages it repeats) from the counts
    so far, so the share holds from small roots to large ones.
    """

    share: float
    copies: float
    files: int = 0
    file_hits: int = 0
    file_bytes: int = 0
    file_end: int = 0  # one past the largest file id handed out
    last_files: int = 0  # files of the previous sync: the ids the next one can reuse
    messages: int = 0
    message_hits: int = 0
    message_bytes: int = 0
    copied: int = 0  # identical copies among the message hits (duplicates)
    prefix: list[Record] = field(default_factory=list)  # the previous chat's first messages

    def want(self, hits: int, done: int, size: int, budget: int, limit: int) -> int:
        """Colliding records the next file needs so that the share holds once it is written."""
        mean = size / done if done else 6000
        return max(0, min(limit, round(self.share * (done + budget / mean)) - hits))


@dataclass
class _Build:
    """Everything one run shares: the PRNG, record maker, sink and the top-level files."""

    rng: Random
    recs: _Records
    sink: _Sink
    shape: Shape
    top: dict[str, _TopFile]
    project_ids: list[int] = field(default_factory=list)
    chat_ids: list[int] = field(default_factory=list)
    prompt_ids: list[int] = field(default_factory=list)
    collisions: _Collisions | None = None
    #: Project id -> its first file ids (what tickets suggest).
    file_sample: dict[int, list[int]] = field(default_factory=dict)
    #: Tickets to write after the bulk: (ticket, its tasks, its file links).
    tickets: list[tuple[Record, list[Record], list[Record]]] = field(default_factory=list)
    superseded: int = 0  # MCP states replaced by a later one for their server

    def add(self, rel: str, key: str | None, value: object, trap: str | None = None) -> None:
        self.top[rel].entries.append((key, value))
        if trap is not None:
            self.sink.trap(trap, rel)


def _new_build(root: Path, size: int, shape: Shape, seed: int) -> _Build:
    rng = Random(seed)
    texts = _Texts(
        rng, min(2 * _MIB, max(64 * _KIB, size // 16)), min(512_000, max(32_000, size // 16))
    )
    recs = _Records(rng, texts, size // 1500 + 1000)
    top = {
        PROVIDER_KEYS: _TopFile("provider_keys"),
        PROJECTS: _TopFile("projects"),
        CHATS: _TopFile("chats"),
        PROMPTS: _TopFile("prompts"),
        LINKS: _TopFile("prompt_projects", is_array=True),
    }
    top |= {rel: _TopFile(table) for table, rel in MCP_FILES.items()}
    return _Build(rng, recs, _Sink(root), shape, top)


def _add_parents(build: _Build, size: int) -> None:
    """Bulk top-level records: keys, projects, chats, prompts, links and MCP."""
    rng, recs = build.rng, build.recs
    if build.shape == "many":  # ~430 projects and ~1,100 chats at 1 GB, fewer when smaller
        n_projects = max(3, round(math.sqrt(size / 5800)))
        n_chats = max(3, round(math.sqrt(size / 890)))
    else:
        n_projects, n_chats = rng.randint(4, 6), rng.randint(3, 5)
    for i in range(rng.randint(3, 6)):
        key = recs.provider_key(is_default=i == 0)
        build.add(PROVIDER_KEYS, str(key["id"]), key)
    for _ in range(n_projects):
        project = recs.project()
        build.project_ids.append(int(str(project["id"])))
        build.add(PROJECTS, str(project["id"]), project)
    for _ in range(n_chats):
        chat = recs.chat(rng.choice(build.project_ids) if rng.random() < 0.6 else None)
        build.chat_ids.append(int(str(chat["id"])))
        build.add(CHATS, str(chat["id"]), chat)
    _add_prompts(build, max(3, n_projects // 3))
    for table, entries in _mcp(recs, build.project_ids).items():
        build.top[MCP_FILES[table]].entries.extend(entries)


def _add_prompts(build: _Build, count: int) -> None:
    rng, recs = build.rng, build.recs
    for _ in range(count):
        prompt = recs.prompt(rng.choice(build.project_ids) if rng.random() < 0.3 else None)
        build.prompt_ids.append(int(str(prompt["id"])))
        build.add(PROMPTS, str(prompt["id"]), prompt)
    pairs = {(rng.choice(build.prompt_ids), rng.choice(build.project_ids)) for _ in range(count)}
    for prompt_id, project_id in sorted(pairs):
        build.add(LINKS, None, recs.link(prompt_id, project_id))


def _write_top(build: _Build) -> None:
    for rel, top in build.top.items():
        with build.sink.stream(rel, top.table, is_array=top.is_array) as writer:
            for key, value in _js_order(top.entries):
                writer.add(key, value)


def _spread(rng: Random, total: int, count: int, sigma: float, cap: float) -> list[int]:
    """Split ``total`` into ``count`` skewed budgets, none above ``cap`` times the mean."""
    weights = [min(rng.lognormvariate(0.0, sigma), cap) for _ in range(count)]
    scale = total / sum(weights)
    return [max(1, round(w * scale)) for w in weights]


def _write_bulk(build: _Build, size: int) -> None:
    """Fill the projects' files.json and the chats' messages.json up to the size budget."""
    rng = build.rng
    left = max(0, size - build.sink.bytes)
    if build.shape == "many":
        chat_total = round(left * 0.38)
        file_budgets = _spread(rng, left - chat_total, len(build.project_ids), 0.9, 4.0)
        chat_budgets = _spread(rng, chat_total, len(build.chat_ids), 0.9, 3.0)
    else:
        chat_budgets = [min(80 * _KIB, max(2 * _KIB, left // 100))] * len(build.chat_ids)
        file_total = left - sum(chat_budgets)
        file_budgets = _spread(rng, file_total, len(build.project_ids), 0.15, 2.0)
    for project_id, budget in zip(build.project_ids, file_budgets, strict=True):
        _fill_files(build, project_id, budget)
    for chat_id, budget in zip(build.chat_ids, chat_budgets, strict=True):
        _fill_messages(build, chat_id, budget)


def _content_size(rng: Random, shape: Shape) -> int:
    if shape == "few" and rng.random() < 0.45:
        return rng.randint(1 * _MIB, 8 * _MIB)
    return min(300_000, max(60, int(rng.lognormvariate(math.log(5000), 1.1))))


def _fill_files(build: _Build, project_id: int, budget: int) -> None:
    rng, recs, hits = build.rng, build.recs, build.collisions
    next_id = _sync_start(build, budget)
    sample = build.file_sample.setdefault(project_id, [])
    with build.sink.stream(files_path(project_id), "project_files") as writer:
        while True:
            size = min(_content_size(rng, build.shape), max(40, budget - writer.size - 700))
            record = recs.file(project_id, size)
            if hits is not None:  # the sync's own consecutive id, not the clock's
                record["id"], next_id = next_id, next_id + 1
                hits.file_hits += next_id <= hits.file_end
            if len(sample) < 4:
                sample.append(int(str(record["id"])))
            writer.add(str(record["id"]), record)
            if writer.size >= budget:
                break
    if hits is not None:
        hits.files += writer.entries
        hits.file_bytes += writer.size
        hits.last_files = writer.entries
        hits.file_end = max(hits.file_end, next_id)


def _sync_start(build: _Build, budget: int) -> int:
    """The first id of a project's sync: inside the previous sync's ids when some must collide."""
    hits = build.collisions
    if hits is None:
        return 0
    if hits.files == 0:
        return build.recs.tick()
    back = hits.want(hits.file_hits, hits.files, hits.file_bytes, budget, hits.last_files)
    return hits.file_end - back


def _fill_messages(build: _Build, chat_id: int, budget: int) -> None:
    rng, recs = build.rng, build.recs
    with build.sink.stream(messages_path(chat_id), "chat_messages") as writer:
        if build.collisions is not None:
            _fork(build, build.collisions, chat_id, budget, writer)
        if rng.random() < 0.3:
            writer.add(*_keyed(recs.message(chat_id, "system", rng.randint(50, 300))))
        turn = 0
        while writer.size < budget:
            chars = min(2000, max(50, int(rng.lognormvariate(math.log(400), 0.9))))
            chars = min(chars, max(50, budget - writer.size - 250))
            message = recs.message(chat_id, ("user", "assistant")[turn % 2], chars)
            writer.add(*_keyed(message))
            turn += 1
            if build.collisions is not None and len(build.collisions.prefix) < _FORK_PREFIX:
                build.collisions.prefix.append(message)
    if build.collisions is not None:
        build.collisions.messages += writer.entries
        build.collisions.message_bytes += writer.size


def _fork(
    build: _Build, hits: _Collisions, chat_id: int, budget: int, writer: _EntryWriter
) -> None:
    """Open the chat with the previous chat's first messages, under their own ids: copied
    as they are (identical: duplicates) or forked into this chat, some edited (re-keyed)."""
    rng, original = build.rng, hits.prefix
    hits.prefix = []
    size = hits.want(hits.message_hits, hits.messages, hits.message_bytes, budget, len(original))
    for message in original[:size]:
        if rng.random() < hits.copies:
            repeat, hits.copied = message, hits.copied + 1
        else:
            repeat = message | {"chatId": chat_id}
            if rng.random() < 0.3:
                repeat["content"] = build.recs.texts.prose(rng, len(str(message["content"])))
        writer.add(*_keyed(repeat))
        hits.message_hits += 1


def _keyed(record: Record) -> Entry:
    return str(record["id"]), record


# --- MCP state histories and tickets ---------------------------------------------------------


def _mcp_history(build: _Build, earlier: int) -> None:
    """``earlier`` state records per server before its current one, appended over time and
    keyed by generated ids, as the June 2025 server wrote them (the last one wins)."""
    rng, recs = build.rng, build.recs
    top = build.top[MCP_FILES["mcp_server_states"]]
    current = [value for _, value in top.entries]
    history: list[object] = []
    for _ in range(earlier):
        for state in current:
            status = rng.choice(("starting", "running", "error", "stopped"))
            history.append(_state(recs, _field(state, "serverId"), status))
    top.entries = [(str(recs.tick()), value) for value in [*history, *current]]
    build.superseded += len(history)


def _state(recs: _Records, server_id: object, status: str) -> Record:
    running = status == "running"
    started = recs.tick() if running else None
    state: Record = {"serverId": server_id, "status": status}
    state |= {"pid": recs.rng.randint(100, 60000) if running else None}
    state |= {"error": "exited with code 1" if status == "error" else None}
    return state | {"startedAt": started, "lastHeartbeat": started}


def _add_tickets(build: _Build, count: int) -> None:
    """Tickets on the projects' first files: most in v0.5.3 shapes (status "done", numeric
    file ids, tasks done 1/0, a links file), the others as v0.6.0 wrote them."""
    rng, recs = build.rng, build.recs
    for number in range(count):
        project = rng.choice(build.project_ids)
        files = build.file_sample.get(project, [])
        chosen = rng.sample(files, min(len(files), rng.randint(0, 3)))
        legacy = rng.random() < 0.7
        tid = recs.tick()
        status = rng.choice(("open", "in_progress", "done" if legacy else "closed"))
        ticket: Record = {"id": tid, "projectId": project, "title": f"Ticket {number + 1}"}
        ticket |= {"overview": recs.texts.prose(rng, rng.randint(0, 200)), "status": status}
        ticket |= {"priority": rng.choice(("low", "normal", "high"))}
        ticket["suggestedFileIds"] = chosen if legacy else [str(f) for f in chosen]
        tasks = [_task(recs, tid, order, legacy=legacy) for order in range(rng.randint(1, 4))]
        linked = rng.sample(files, min(len(files), rng.randint(0, 2))) if legacy else []
        links: list[Record] = [{"ticketId": tid, "fileId": f} for f in linked]
        build.tickets.append((ticket | _stamps(recs, tid), tasks, links))


def _task(recs: _Records, ticket_id: int, order: int, *, legacy: bool) -> Record:
    kid, done = recs.tick(), recs.rng.random() < 0.4
    task: Record = {"id": kid, "ticketId": ticket_id, "content": recs.texts.prose(recs.rng, 60)}
    task |= {"done": int(done) if legacy else done, "orderIndex": order}
    return task | _stamps(recs, kid)


def _write_tickets(build: _Build) -> None:
    if not build.tickets:
        return
    with build.sink.stream(TICKETS, "tickets") as writer:
        for ticket, _, _ in build.tickets:
            writer.add(*_keyed(ticket))
    for ticket, tasks, links in build.tickets:
        if tasks:
            _put_records(build, ticket_path(ticket["id"], "tasks.json"), "ticket_tasks", tasks)
        if links:
            data = _render([(None, link) for link in links], is_array=True)[0]
            build.sink.put(
                ticket_path(ticket["id"], "files.json"), data, "ticket_file_links", len(links)
            )


# --- traps ---------------------------------------------------------------------------------

_LEGACY = MappingProxyType({"created": "createdAt", "updated": "updatedAt"})
_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


def _add_traps(build: _Build) -> None:
    """Every trap of `TRAP_NAMES`, a few records or small files each, on top of valid data."""
    _trap_projects(build)
    _trap_chats_and_prompts(build)
    _trap_project_folders(build)
    _trap_chat_folders(build)
    _trap_damaged_files(build)
    _trap_damaged_messages(build)
    _trap_links_and_mcp(build)
    _trap_not_migrated(build)
    _trap_not_migrated_more(build)
    _trap_collisions(build)
    _trap_tickets(build)
    _trap_mcp_history(build)


def _trap_projects(build: _Build) -> None:
    recs, add = build.recs, build.add
    for trap, record in (
        ("legacy_created_at_project", _rename(recs.project(), _LEGACY)),
        ("string_id_project", recs.project() | {"id": _string_id(recs, "proj")}),
        ("invalid_wrong_type", recs.project() | {"name": 12345}),
        ("invalid_missing_required", _without(recs.project(), "path")),
        ("invalid_timestamp_after_2050", recs.project() | {"created": 2_600_000_000_000}),
        ("ts_seconds", recs.project() | {"created": 1_700_000_000, "updated": 1_700_000_123}),
        ("ts_small_id", recs.project() | {"id": 5}),
        ("unknown_extra_keys", recs.project() | {"color": "teal", "ui": {"tabSize": 2}}),
    ):
        add(PROJECTS, str(record["id"]), record, trap)
    add(PROJECTS, str(recs.tick()), recs.project(), "key_id_mismatch")
    add(PROJECTS, str(recs.tick()), 42, "invalid_not_an_object")


def _trap_chats_and_prompts(build: _Build) -> None:
    recs, add = build.recs, build.add
    for trap, record in (
        ("legacy_created_at_chat", _rename(recs.chat(None), _LEGACY)),
        ("string_id_chat", recs.chat(None) | {"id": _string_id(recs, "chat")}),
        ("invalid_impossible_date", recs.chat(None) | {"created": "2024-02-30T00:00:00Z"}),
        ("ts_numeric_string", recs.chat(None) | {"created": "1700000000000"}),
        ("ts_numeric_string_exponent", recs.chat(None) | {"updated": " 1.7e12 "}),
        ("dangling_chat_project", recs.chat(recs.tick())),
    ):
        add(CHATS, str(record["id"]), record, trap)
    for trap, record in (
        ("legacy_created_at_prompt", _rename(recs.prompt(None), _LEGACY)),
        ("invalid_negative_timestamp", recs.prompt(None) | {"created": -1_700_000_000_000}),
        ("invalid_empty_timestamp", recs.prompt(None) | {"updated": ""}),
        ("ts_iso_utc", recs.prompt(None) | {"created": "2024-05-01T12:00:00Z"}),
        ("ts_iso_offset", recs.prompt(None) | {"created": "2024-05-01T12:00:00+02:00"}),
        ("ts_iso_no_offset", recs.prompt(None) | {"created": "2024-05-01 12:00:00"}),
        ("dangling_prompt_project", recs.prompt(recs.tick())),
    ):
        add(PROMPTS, str(record["id"]), record, trap)


def _string_id(recs: _Records, prefix: str) -> str:
    """A v0.5.1-style id: ``<prefix>_<base36 ms>_<5 chars>``."""
    ms, digits = recs.tick(), ""
    while ms:
        ms, digit = divmod(ms, 36)
        digits = _ALNUM[(digit + 26) % 36] + digits
    return f"{prefix}_{digits}_{recs.token(5)}"


def _without(rec: Record, *keys: str) -> Record:
    return {key: value for key, value in rec.items() if key not in keys}


def _host_project(build: _Build) -> int:
    """A valid project, in projects.json, whose folder holds a trap."""
    project = build.recs.project()
    build.add(PROJECTS, str(project["id"]), project)
    return int(str(project["id"]))


def _host_chat(build: _Build, chat: Record | None = None, trap: str | None = None) -> int:
    """A chat (valid unless given), in chats.json, whose folder holds a trap."""
    chat = build.recs.chat(None) if chat is None else chat
    build.add(CHATS, str(chat["id"]), chat, trap)
    return int(str(chat["id"]))


def _small_files(build: _Build, project_id: object, count: int) -> list[Record]:
    return [build.recs.file(project_id, build.rng.randint(80, 400)) for _ in range(count)]


def _put_records(build: _Build, rel: str, table: str, records: Sequence[Record]) -> None:
    build.sink.put(rel, _render([_keyed(record) for record in records])[0], table, len(records))


def _trap_project_folders(build: _Build) -> None:
    """Legacy project files, a folder named ``5``, an orphan folder, a duplicated file id."""
    recs, sink = build.recs, build.sink
    host = _host_project(build)
    good, legacy, missing, stranger = _small_files(build, host, 4)
    legacy["summaryLastUpdated"] = recs.later(host)
    legacy = _rename(legacy, {"summaryLastUpdated": "summaryLastUpdatedAt"})
    stranger["projectId"] = build.project_ids[0]
    rel = files_path(host)
    _put_records(build, rel, "project_files", [good, legacy, _without(missing, "meta"), stranger])
    for trap in ("legacy_summary_last_updated_at", "legacy_missing_nullable_field"):
        sink.trap(trap, rel)
    sink.trap("parent_mismatch_file", rel)
    changes_rel = f"project_storage/project_data/{host}/ai-file-changes.json"
    change = {"fileId": good["id"], "diff": "@@ -1 +1 @@\n-old\n+new", "status": "pending"}
    sink.put(changes_rel, _render([(str(recs.tick()), change)])[0])
    sink.trap("not_migrated_ai_file_changes", changes_rel)
    small = _small_files(build, 5, 2)
    small[1] = dict(good)  # an identical copy: a duplicate (other data would be re-keyed)
    _put_records(build, files_path(5), "project_files", small)
    sink.trap("ts_small_id", files_path(5))
    sink.trap("small_id_folder_not_orphan", files_path(5), PROJECTS)
    sink.trap("duplicate_file_id", rel, files_path(5))
    orphan = recs.tick()
    _put_records(build, files_path(orphan), "project_files", _small_files(build, orphan, 2))
    sink.trap("orphan_project_folder", files_path(orphan))


def _trap_chat_folders(build: _Build) -> None:
    """Legacy and invalid messages, a duplicated message id, an orphan chat folder."""
    recs, sink = build.recs, build.sink
    host = _host_chat(build)
    good = recs.message(host, "user", 120) | {"attachments": [recs.attachment(host)]}
    bad_url = recs.attachment(host) | {"url": "not a valid url"}
    empty = recs.attachment(host) | {"size": 0}
    traps: list[tuple[str, Record]] = [
        ("legacy_message_no_updated", _without(recs.message(host, "user", 200), "updated")),
        ("legacy_message_no_updated", _without(recs.message(host, "assistant", 300), "updated")),
        ("invalid_message_role", recs.message(host, "bot", 80)),
        ("invalid_attachment_url", recs.message(host, "user", 90) | {"attachments": [bad_url]}),
        ("invalid_attachment_size", recs.message(host, "user", 90) | {"attachments": [empty]}),
        ("unknown_extra_keys", recs.message(host, "assistant", 100) | {"model": "gpt-4o"}),
        ("parent_mismatch_message", recs.message(build.chat_ids[0], "user", 90)),
    ]
    rel = messages_path(host)
    _put_records(build, rel, "chat_messages", [good] + [record for _, record in traps])
    for trap, _ in traps:
        sink.trap(trap, rel)
    second = _host_chat(build)
    recs.message(second, "assistant", 150)  # drawn as before, so the rest stays the same
    twin = dict(good)  # an identical copy: a duplicate (other data would be re-keyed)
    _put_records(
        build, messages_path(second), "chat_messages", [recs.message(second, "user", 60), twin]
    )
    sink.trap("duplicate_message_id", rel, messages_path(second))
    orphan = _host_chat(build, _without(recs.chat(None), "title"), "orphan_chat_folder")
    messages = [recs.message(orphan, role, 100) for role in ("user", "assistant")]
    _put_records(build, messages_path(orphan), "chat_messages", messages)
    sink.trap("orphan_chat_folder", messages_path(orphan))


def _trap_damaged_files(build: _Build) -> None:
    """Damaged files.json, each in its own project, two complete records before the damage."""

    def truncate(data: bytes, ends: list[int]) -> bytes:
        return data[: (ends[1] + ends[2]) // 2]

    def drop_colon(data: bytes, ends: list[int]) -> bytes:
        at = data.index(b'"name": ', ends[1])
        return data[:at] + b'"name" ' + data[at + len(b'"name": ') :]

    for trap, damage in (
        ("damaged_truncated_record", truncate),
        ("damaged_syntax_error", drop_colon),
    ):
        host = _host_project(build)
        data, ends = _render([_keyed(record) for record in _small_files(build, host, 3)])
        build.sink.put(files_path(host), damage(data, ends), "project_files", 2)
        build.sink.trap(trap, files_path(host))
    host = _host_project(build)
    build.sink.put(files_path(host), b"null", "project_files", 0)
    build.sink.trap("damaged_null", files_path(host))


def _trap_damaged_messages(build: _Build) -> None:
    """Damaged messages.json, each in its own chat, two complete records before the damage."""
    recs, sink = build.recs, build.sink
    for trap, marker in (("damaged_truncated_utf8", "日本語"), ("damaged_invalid_utf8", "@BAD@")):
        host = _host_chat(build)
        messages = [recs.message(host, role, 120) for role in ("user", "assistant", "user")]
        messages[2]["content"] = f"Before the damage {marker} after it."
        data, ends = _render([_keyed(record) for record in messages])
        at = data.index(marker.encode(), ends[1])
        if trap == "damaged_truncated_utf8":
            data = data[: at + 1]  # one byte into a three-byte character
        else:
            data = data[:at] + b"\xff\xfe" + data[at + len(marker) :]
        sink.put(messages_path(host), data, "chat_messages", 2)
        sink.trap(trap, messages_path(host))
    host = _host_chat(build)
    sink.put(messages_path(host), b"", "chat_messages", 0)
    sink.trap("damaged_empty", messages_path(host))


def _trap_links_and_mcp(build: _Build) -> None:
    """Duplicate and dangling links, a second links file, a second MCP tools file."""
    recs, sink = build.recs, build.sink
    first = build.top[LINKS].entries[0][1]
    build.add(LINKS, None, first, "duplicate_link")
    build.add(LINKS, None, recs.link(recs.tick(), build.project_ids[0]), "dangling_link_prompt")
    taken = {(_field(v, "promptId"), _field(v, "projectId")) for _, v in build.top[LINKS].entries}
    fresh = next((p, q) for p in build.prompt_ids for q in build.project_ids if (p, q) not in taken)
    build.top[LINKS_ALT] = _TopFile(
        "prompt_projects", [(None, first), (None, recs.link(*fresh))], True
    )
    sink.trap("duplicate_link_files", LINKS, LINKS_ALT)
    tools = build.top[MCP_FILES["mcp_tools"]].entries
    extra = _mcp_tools(recs, int(str(_field(tools[0][1], "serverId"))), "extra")[0]
    build.top[MCP_TOOLS_ALT] = _TopFile("mcp_tools", [tools[0], _keyed(extra)])
    sink.trap("duplicate_mcp_file", MCP_FILES["mcp_tools"], MCP_TOOLS_ALT)


def _field(record: object, key: str) -> object:
    return record.get(key) if isinstance(record, dict) else None


def _trap_not_migrated(build: _Build) -> None:
    """The key-value store, agent logs and a backup folder."""
    recs, sink = build.recs, build.sink
    for trap, rel, data in (
        ("not_migrated_kv_store", "kv-store.json", _render(_kv_entries(build))[0]),
        ("not_migrated_agent_logs", "agent-logs/run-1.log", _agent_log(recs)),
    ):
        sink.put(rel, data)
        sink.trap(trap, rel)
    backup = [_keyed(recs.project()) for _ in range(2)]
    rel = "backup-2025-01-01/project_storage/projects.json"
    sink.put(rel, _render(backup)[0])
    sink.trap("not_migrated_backup", rel)


def _trap_not_migrated_more(build: _Build) -> None:
    """An index file, a temp file and a chat attachment."""
    sink = build.sink
    names = {_field(v, "name"): _field(v, "id") for _, v in build.top[PROJECTS].entries[:3]}
    index = [("byName", names), ("version", 1)]
    for trap, rel, data in (
        ("not_migrated_index", "project_storage/indexes/projects.index.json", _render(index)[0]),
        (
            "not_migrated_tmp",
            "chat_storage/chats.json.tmp",
            _render(build.top[CHATS].entries[:2])[0],
        ),
        ("not_migrated_chat_attachment", "chat_storage/chat_attachments/pic.png", _PNG),
    ):
        sink.put(rel, data)
        sink.trap(trap, rel)


def _trap_collisions(build: _Build) -> None:
    """A project synced right after another (its files reuse ids), a forked and a copied chat."""
    recs, sink = build.recs, build.sink
    first, second = _host_project(build), _host_project(build)
    start = recs.tick()
    older, newer = _small_files(build, first, 4), _small_files(build, second, 3)
    for offset, record in enumerate(older + newer):  # newer: start+2, start+3 (taken), start+4
        record["id"] = start + offset - (2 if offset >= len(older) else 0)
    _put_records(build, files_path(first), "project_files", older)
    _put_records(build, files_path(second), "project_files", newer)
    sink.trap("collision_bulk_sync", files_path(first), files_path(second))
    build.file_sample[second] = [int(str(record["id"])) for record in newer]
    original = _host_chat(build)
    messages = [recs.message(original, role, 120) for role in ("user", "assistant", "user")]
    _put_records(build, messages_path(original), "chat_messages", messages)
    fork = _host_chat(build)
    forked = [message | {"chatId": fork} for message in messages]
    forked[1]["content"] = "Edited in the fork: " + str(forked[1]["content"])
    forked.append(recs.message(fork, "user", 90))
    _put_records(build, messages_path(fork), "chat_messages", forked)
    sink.trap("collision_forked_chat", messages_path(original), messages_path(fork))
    copy = _host_chat(build)
    _put_records(build, messages_path(copy), "chat_messages", messages)  # byte for byte
    sink.trap("copied_chat", messages_path(original), messages_path(copy))


def _trap_tickets(build: _Build) -> None:
    """A v0.5.3 ticket naming a file that is re-keyed, with 1/0 tasks and links; a v0.6.0
    ticket; a task folder without its ticket."""
    recs, sink = build.recs, build.sink
    second = max(build.file_sample)  # the project of collision_bulk_sync
    taken, kept = build.file_sample[second][0], build.file_sample[second][2]
    tid = recs.tick()
    legacy: Record = {"id": tid, "projectId": second, "title": "Sync the second project"}
    legacy |= {"overview": "", "status": "done", "priority": "high"}
    legacy |= {"suggestedFileIds": [taken, kept]} | _stamps(recs, tid)
    tasks = [_task(recs, tid, order, legacy=True) for order in range(2)]
    tasks[0]["done"], tasks[1]["done"] = 1, 0
    links: list[Record] = [{"ticketId": tid, "fileId": kept}, {"ticketId": tid, "fileId": taken}]
    links.append({"ticketId": tid, "fileId": build.file_sample[second][1]})
    build.tickets.append((legacy, tasks, links))
    other = recs.tick()  # a v0.6.0 ticket of another project naming that id: not followed
    current: Record = {"id": other, "projectId": build.project_ids[0], "title": "Review"}
    current |= {"overview": "Done.", "status": "closed", "priority": "normal"}
    current |= {"suggestedFileIds": [str(taken)]} | _stamps(recs, other)
    build.tickets.append((current, [_task(recs, other, 0, legacy=False)], []))
    for trap, rels in (
        ("legacy_ticket_v053", (TICKETS, ticket_path(tid, "tasks.json"))),
        ("ticket_file_links", (ticket_path(tid, "files.json"),)),
        ("ticket_ref_to_rekeyed_file", (TICKETS, files_path(second))),
    ):
        sink.trap(trap, *rels)
    orphan = recs.tick()
    rel = ticket_path(orphan, "tasks.json")
    _put_records(build, rel, "ticket_tasks", [_task(recs, orphan, 0, legacy=False)])
    sink.trap("orphan_ticket_folder", rel)


def _trap_mcp_history(build: _Build) -> None:
    """Earlier states of the first server, a tool with a numeric enum, a tool id reused."""
    recs, sink = build.recs, build.sink
    states = build.top[MCP_FILES["mcp_server_states"]]
    server = _field(states.entries[0][1], "serverId")
    earlier = [_state(recs, server, status) for status in ("starting", "running")]
    states.entries[:0] = [(str(recs.tick()), state) for state in earlier]
    build.superseded += len(earlier)
    sink.trap("mcp_state_history", MCP_FILES["mcp_server_states"])
    tools = build.top[MCP_FILES["mcp_tools"]].entries
    numeric = _mcp_tools(recs, int(str(server)), "numeric")[0]
    params = [{"name": "level", "type": "number", "enum": [1, 2, 3], "default": {"x": [1, None]}}]
    tools.append(_keyed(numeric | {"parameters": params}))
    sink.trap("mcp_numeric_enum", MCP_FILES["mcp_tools"])
    reused = dict(tools[1][1]) if isinstance(tools[1][1], dict) else {}
    reused["description"] = "Another tool under a taken id"
    build.top[MCP_TOOLS_ALT].entries.append((tools[1][0], reused))
    sink.trap("mcp_tool_id_conflict", MCP_FILES["mcp_tools"], MCP_TOOLS_ALT)


def _kv_entries(build: _Build) -> list[Entry]:
    settings = {"theme": "dark", "language": "en", "summarizationEnabled": True}
    return [
        ("activeProjectId", build.project_ids[0]),
        ("activeChatId", build.chat_ids[0]),
        ("globalSettings", settings),
    ]


def _agent_log(recs: _Records) -> bytes:
    lines = [
        f"[{recs.tick()}] agent step {n}: {recs.texts.prose(recs.rng, 60)!r}" for n in range(5)
    ]
    return ("\n".join(lines) + "\n").encode()


# --- entry points --------------------------------------------------------------------------


def generate(
    root: Path,
    *,
    size_bytes: int,
    shape: Shape = "many",
    seed: int = 0,
    traps: bool = False,
    collide: float = 0.0,
    copies: float = 0.25,
    tickets: int = 0,
    mcp_history: int = 0,
) -> GenerateResult:
    """Write a data root of about ``size_bytes`` at ``root`` (missing or empty) and describe it.

    The same arguments always give byte-identical output (and with the four realism knobs
    at their defaults, the bytes the generator wrote before it had them). Raises ValueError
    for a bad size, shape or knob, or when ``root`` exists and is not an empty directory.
    """
    _check(size_bytes, shape, collide=collide, copies=copies, counts=(tickets, mcp_history))
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ValueError(f"{root} exists and is not an empty directory")
    root.mkdir(parents=True, exist_ok=True)
    build = _new_build(root, size_bytes, shape, seed)
    if collide > 0:
        build.collisions = _Collisions(collide, copies)
    _add_parents(build, size_bytes)
    if mcp_history:
        _mcp_history(build, mcp_history)
    if traps:
        _add_traps(build)
    _write_top(build)
    _write_bulk(build, size_bytes)
    _add_tickets(build, tickets)
    _write_tickets(build)
    return _result(build, seed, traps=traps)


def _check(
    size: int, shape: str, *, collide: float, copies: float, counts: tuple[int, int]
) -> None:
    if size <= 0:
        raise ValueError(f"size_bytes must be positive, not {size}")
    if shape not in ("many", "few"):
        raise ValueError(f"shape must be 'many' or 'few', not {shape!r}")
    if not 0 <= collide <= 0.5:
        raise ValueError(f"collide is a share of the records, from 0 to 0.5, not {collide}")
    if not 0 <= copies <= 1:
        raise ValueError(f"copies is a share of the colliding messages, 0 to 1, not {copies}")
    if min(counts) < 0:
        raise ValueError(f"tickets and mcp_history cannot be negative: {counts}")


def _result(build: _Build, seed: int, *, traps: bool) -> GenerateResult:
    sink = build.sink
    rows = {table: count for table, count in sink.records.items() if table != "ticket_file_links"}
    rows["chat_messages"] -= build.collisions.copied if build.collisions else 0
    rows["mcp_server_states"] -= build.superseded
    return GenerateResult(
        root=sink.root,
        seed=seed,
        bytes_written=sink.bytes,
        files_written=sink.files,
        records=MappingProxyType(dict(sink.records)),
        traps=MappingProxyType(
            {name: tuple(sink.traps[name]) for name in TRAP_NAMES if name in sink.traps}
        ),
        rows=None if traps else MappingProxyType(rows),
    )


_SIZE = re.compile(r"(\d+(?:\.\d*)?)\s*([kmg]?)(?:i?b)?", re.IGNORECASE)
_UNITS = MappingProxyType({"": 1, "k": _KIB, "m": _MIB, "g": 1024 * _MIB})


def parse_size(text: str) -> int:
    """``500KB``, ``100MB``, ``1.5GB`` (binary units: 1KB = 1024 bytes) or a plain byte count."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 500KB, 100MB, 1.5GB)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.lower()])


class _Args(argparse.Namespace):
    out_dir: Path
    size: int
    shape: Shape
    seed: int
    traps: bool
    collide: float
    copies: float
    tickets: int
    mcp_history: int


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.generate",
        description="Write a seeded, realistic OctoPrompt JSON data root.",
    )
    parser.add_argument("out_dir", type=Path, help="data root to create (must be absent or empty)")
    parser.add_argument("--size", type=parse_size, default=parse_size("100MB"), help="e.g. 1GB")
    parser.add_argument("--shape", choices=("many", "few"), default="many")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--traps", action="store_true", help="add the awkward cases too")
    add = parser.add_argument
    add("--collide", type=float, default=0.0, help="share of files/messages whose id is taken")
    add("--copies", type=float, default=0.25, help="share of colliding messages that are copies")
    add("--tickets", type=int, default=0, help="tickets to write (most in v0.5.3 shapes)")
    add("--mcp-history", type=int, default=0, help="earlier MCP states per server")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: generate, then print one summary line to stdout; 2 on a refused output folder."""
    args = _parser().parse_args(argv, namespace=_Args())
    started = time.perf_counter()
    try:
        result = generate(
            args.out_dir,
            size_bytes=args.size,
            shape=args.shape,
            seed=args.seed,
            traps=args.traps,
            collide=args.collide,
            copies=args.copies,
            tickets=args.tickets,
            mcp_history=args.mcp_history,
        )
    except ValueError as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    print(
        f"seed={result.seed} shape={args.shape} bytes={result.bytes_written} "
        f"files={result.files_written} seconds={elapsed:.2f} root={result.root}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
