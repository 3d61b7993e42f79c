"""The generator's realism knobs (issue 10): colliding ids as the servers allocated them,
forked and copied chats, v0.5.3 tickets, MCP state histories; read back from the files."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import TYPE_CHECKING, Any

import pytest
from oracle import LINKS, expected, normalize_ts

from benchmarks.generate import GenerateResult, generate, main

if TYPE_CHECKING:
    from pathlib import Path

MB = 1024 * 1024


def folders(root: Path, base: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    """(parent id, records) of each container, in processing order (ascending ids)."""
    found = []
    for folder in (root / base).iterdir():
        parent = normalize_ts(folder.name)
        assert parent is not None
        found.append((parent, json.loads((folder / name).read_text())))
    return sorted(found, key=lambda pair: pair[0])


def repeats(root: Path, base: str, name: str) -> tuple[int, int, int]:
    """(records, records whose id an earlier one holds, of which identical copies)."""
    seen: dict[int, list[object]] = {}
    total = hits = copies = 0
    for _, records in folders(root, base, name):
        for record in records.values():
            total += 1
            earlier = seen.setdefault(record["id"], [])
            hits += bool(earlier)
            copies += record in earlier
            earlier.append(record)
    return total, hits, copies


FILES = ("project_storage/project_data", "files.json")
MESSAGES = ("chat_storage/chat_data", "messages.json")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    root = tmp_path_factory.mktemp("real") / "data"
    return generate(root, size_bytes=2 * MB, seed=4, collide=0.05, tickets=30, mcp_history=2)


@pytest.mark.parametrize(("share", "copies"), [(0.02, 0.0), (0.05, 0.25), (0.2, 1.0)])
def test_the_share_of_colliding_records_is_the_one_asked(
    tmp_path: Path, share: float, copies: float
) -> None:
    result = generate(tmp_path / "d", size_bytes=3 * MB, seed=6, collide=share, copies=copies)
    for where in (FILES, MESSAGES):
        total, hits, identical = repeats(result.root, *where)
        assert abs(hits / total - share) <= share * 0.25 + 0.005, (where, hits, total)
        if where == MESSAGES:
            assert abs(identical / hits - copies) <= 0.15, (identical, hits)
        else:
            assert identical == 0  # a sync's files are other records: re-keyed, never copies


def test_no_collisions_unless_asked(tmp_path: Path) -> None:
    result = generate(tmp_path / "d", size_bytes=2 * MB, seed=6)
    for base, name in (FILES, MESSAGES):
        assert repeats(result.root, base, name)[1] == 0
    assert result.rows == result.records


def test_a_sync_runs_ahead_of_the_clock_into_the_next(real: GenerateResult) -> None:
    projects = folders(real.root, *FILES)
    previous: list[int] = []
    overlaps = 0
    for _, records in projects:
        ids = [record["id"] for record in records.values()]
        assert ids == list(range(ids[0], ids[0] + len(ids)))  # bumped: consecutive
        overlaps += bool(previous) and ids[0] <= previous[-1]
        previous = ids
    assert overlaps >= len(projects) // 3


def test_forks_and_copies_repeat_the_previous_chats_ids(real: GenerateResult) -> None:
    chats = folders(real.root, *MESSAGES)
    forked = copied = 0
    for (before, earlier), (chat, records) in itertools.pairwise(chats):
        for record in records.values():
            original = earlier.get(str(record["id"]))
            if original is None:
                continue
            if record == original:
                copied += 1
                assert record["chatId"] == before  # copied as it was
            else:
                forked += 1
                assert record["chatId"] == chat
                assert {**record, "chatId": before, "content": ""} == {**original, "content": ""}
    assert forked > copied > 0


def test_tickets_come_in_v053_and_v06_shapes(real: GenerateResult) -> None:
    root = real.root
    tickets: dict[str, Any] = json.loads((root / "ticket_storage/tickets.json").read_text())
    assert len(tickets) == real.records["tickets"] == 30
    files = {parent: set(map(int, records)) for parent, records in folders(root, *FILES)}
    statuses = {ticket["status"] for ticket in tickets.values()}
    assert {"done", "closed"} <= statuses
    kinds = {type(i) for ticket in tickets.values() for i in ticket["suggestedFileIds"]}
    assert kinds == {int, str}
    for ticket in tickets.values():
        for file_id in ticket["suggestedFileIds"]:
            assert int(file_id) in files[ticket["projectId"]]  # a file of its own project
    tasks = [
        task
        for _, records in folders(root, "ticket_storage/ticket_data", "tasks.json")
        for task in records.values()
    ]
    assert {type(task["done"]) for task in tasks} == {int, bool}
    links = list(root.glob("ticket_storage/ticket_data/*/files.json"))
    assert links
    for path in links:
        for link in json.loads(path.read_text()):
            assert str(link["ticketId"]) == path.parent.name
            assert tickets[path.parent.name]["status"] in ("open", "in_progress", "done")


def test_mcp_states_have_a_history_per_server(real: GenerateResult) -> None:
    states: dict[str, Any] = json.loads(
        (real.root / "mcp_storage/mcp_server_states.json").read_text()
    )
    servers = [state["serverId"] for state in states.values()]
    assert len(servers) == 3 * len(set(servers))  # two earlier states and the current one
    assert not set(states) & {str(server) for server in servers}  # keyed by generated ids
    assert real.rows is not None
    assert real.rows["mcp_server_states"] == len(set(servers))


def test_rows_are_what_the_oracle_migrates(real: GenerateResult) -> None:
    assert real.rows is not None
    want = expected(real.root, migrated_at=1)
    assert {table: len(want.rows[table]) for table in real.rows} == dict(real.rows)
    counts = want.counts
    assert counts["project_files"].rekeyed > 0
    assert counts["chat_messages"].rekeyed > counts["chat_messages"].duplicate > 0
    assert counts["tickets"].upgraded > 0
    assert counts[LINKS].migrated == real.records[LINKS]
    assert sum(c.rejected + c.orphaned for c in counts.values()) == 0


def tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_knobs_are_seeded(tmp_path: Path) -> None:
    knobs: dict[str, Any] = {"collide": 0.1, "tickets": 5, "mcp_history": 1, "traps": True}
    first = generate(tmp_path / "a", size_bytes=MB, seed=8, **knobs)
    second = generate(tmp_path / "b", size_bytes=MB, seed=8, **knobs)
    assert tree_hash(first.root) == tree_hash(second.root)
    assert first.records == second.records


def test_default_roots_are_the_bytes_they_were(tmp_path: Path) -> None:
    """The knobs off, a root is what the generator wrote before it had them, so cached
    benchmark roots and their recorded results stay comparable (digest from main@0e15baf)."""
    result = generate(tmp_path / "d", size_bytes=300 * 1024, seed=3)
    assert tree_hash(result.root) == (
        "e0522ac96678e14cd3b61386298093420ec7e34c56e1976d784db9b35072ad6b"
    )


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"collide": 0.6}, "collide"),
        ({"collide": -0.1}, "collide"),
        ({"copies": 1.5}, "copies"),
        ({"tickets": -1}, "negative"),
    ],
)
def test_bad_knobs_are_refused(tmp_path: Path, knobs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "d", size_bytes=MB, **knobs)
    assert not (tmp_path / "d").exists()


def test_cli_takes_the_knobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    args = ["--size", "300KB", "--collide", "0.1", "--tickets", "3", "--mcp-history", "1"]
    assert main([str(out), *args]) == 0
    assert "seed=0" in capsys.readouterr().out
    assert len(json.loads((out / "ticket_storage/tickets.json").read_text())) == 3
    assert repeats(out, *FILES)[1] > 0
