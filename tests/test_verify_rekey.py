"""verify derives the re-keys, duplicates, superseded states and folded links of spec section 5.

Each data root here is written by hand so the rows the spec asks for are known in the
test. A migration that does not re-key yet leaves those rows out, so each test writes them
into the migrated database itself with sqlite3 (replacing whatever is there): then verify
must pass, and with one row changed it must name that row.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
import pytest
from conftest import run_cli

import asyncmig
from asyncmig.source.layout import BY_TABLE, Entity
from asyncmig.source.schemas import Record as Record_
from asyncmig.targets.octoprompt import TARGET
from asyncmig.verify.database import Database
from asyncmig.verify.derive import Derivation
from asyncmig.verify.result import TableCheck
from asyncmig.verify.run import verify
from asyncmig.verify.settle import settle

if TYPE_CHECKING:
    from pathlib import Path

    from asyncmig.source.messages import Row
    from asyncmig.verify.result import Verification

#: A Date.now() of 2024, and the file ids a bulk sync hands out from it.
BASE = 1_709_000_000_000
PROJECT_A, PROJECT_B, PROJECT_C = BASE - 3_000, BASE - 2_000, BASE - 1_000
Record = dict[str, Any]


def project(project_id: int, name: str) -> Record:
    return {
        "id": project_id,
        "name": name,
        "description": "",
        "path": f"/src/{name}",
        "created": project_id,
        "updated": project_id + 1,
    }


def project_file(file_id: int, project_id: int, content: str) -> Record:
    return {
        "id": file_id,
        "projectId": project_id,
        "name": f"f{file_id % 10_000}.py",
        "path": f"src/f{file_id % 10_000}.py",
        "extension": ".py",
        "size": len(content),
        "content": content,
        "summary": None,
        "summaryLastUpdated": None,
        "meta": None,
        "checksum": None,
        "created": BASE,
        "updated": BASE + 5,
    }


def state(server_id: int, status: str, pid: int | None) -> Record:
    started = BASE if pid else None
    return {
        "serverId": server_id,
        "status": status,
        "pid": pid,
        "error": None,
        "startedAt": started,
        "lastHeartbeat": started,
    }


def write(root: Path, rel: str, records: list[Record], keys: list[str] | None = None) -> None:
    """``records`` as the JSON-era server wrote them: an object keyed by id, pretty-printed."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    names = keys or [str(r["id"]) for r in records]
    # A list of pairs keeps repeated keys (json.dumps of a dict would collapse them).
    body = ",\n".join(
        f"  {json.dumps(k)}: {json.dumps(r, indent=2)}" for k, r in zip(names, records, strict=True)
    )
    path.write_text("{\n" + body + "\n}\n", encoding="utf-8")


def compact(record: Record) -> str:
    """The row's ``data`` as a migration writes it (the records here are in schema order)."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def migrate(root: Path, db: Path, **options: Any) -> asyncmig.Report:
    settings = asyncmig.Options(
        data_dir=root, db=db, batch_size=7, workers=2, backup=False, **options
    )
    return anyio.run(asyncmig.migrate, settings, backend="asyncio")


def put(db: Path, table: str, *records: Record, row_id: str | None = None) -> None:
    """Store ``records`` as the spec says a migration does (replacing a row with its id)."""
    with closing(sqlite3.connect(db)) as conn, conn:
        for record in records:
            created = record.get("created") or record.get("startedAt")
            updated = record.get("updated") or created
            conn.execute(
                f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?)",  # noqa: S608
                (row_id or str(record["id"]), compact(record), created, updated),
            )


def sql(db: Path, statement: str, *args: object) -> None:
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(statement, args)


def check(root: Path, db: Path) -> Verification:
    return anyio.run(verify, root, db, backend="asyncio")


def ids(check: TableCheck) -> list[tuple[str, str, str]]:
    return [(m.row_id, m.kind, m.detail) for m in check.listed]


# Re-keys into the gaps: A holds F..F+2 and F+4, B holds F+6; B's F+1 (X) and F+4 (W),
# C's copy of X and D's F+1 (Z) collide. X -> F+3, W -> F+5, the copy is a duplicate (of a
# record still waiting), Z -> F+7 (F+3 and F+5 are taken by then).
F = BASE
PROJECT_D = BASE - 500
X = project_file(F + 1, PROJECT_B, "x = 1\n")
W = project_file(F + 4, PROJECT_B, "w = 4\n")
Z = project_file(F + 1, PROJECT_D, "z = 1\n")
REKEYS = [(X, F + 3), (W, F + 5), (Z, F + 7)]


def files_rel(project_id: int) -> str:
    return f"project_storage/project_data/{project_id}/files.json"


@pytest.fixture(scope="module")
def gaps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The data root above, and a migration of it with the spec's re-keyed rows written."""
    root = tmp_path_factory.mktemp("gaps") / "data"
    projects = [
        project(p, n)
        for p, n in zip((PROJECT_A, PROJECT_B, PROJECT_C, PROJECT_D), "abcd", strict=True)
    ]
    write(root, "project_storage/projects.json", projects)
    write(
        root,
        files_rel(PROJECT_A),
        [project_file(F + n, PROJECT_A, f"a{n}\n") for n in (0, 1, 2, 4)],
    )
    write(root, files_rel(PROJECT_B), [project_file(F + 6, PROJECT_B, "b6\n"), X, W])
    write(root, files_rel(PROJECT_C), [X])
    write(root, files_rel(PROJECT_D), [Z])
    db = root.parent / "gaps.db"
    migrate(root, db)
    put(db, "project_files", *(rekeyed(record, new) for record, new in REKEYS))
    return root, db


def rekeyed(record: Record, new: int) -> Record:
    return {**record, "id": new}


def copy_of(db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    target.write_bytes(db.read_bytes())
    return target


def test_the_rekeys_the_spec_asks_for_verify(gaps: tuple[Path, Path]) -> None:
    root, db = gaps
    result = check(root, db)
    assert result.ok, result.summary()
    files = result.tables["project_files"]
    assert (files.rekeyed, files.confirmed, files.duplicate) == (3, 3, 1)
    assert [(r.old, r.new, r.source, r.confirmed) for r in files.rekeys] == [
        (str(F + 1), str(F + 3), f"{files_rel(PROJECT_B)} #1", True),
        (str(F + 4), str(F + 5), f"{files_rel(PROJECT_B)} #2", True),
        (str(F + 1), str(F + 7), f"{files_rel(PROJECT_D)} #0", True),
    ]
    # Four of A, B's keeper, three re-keyed: the copy in C is stored nowhere.
    assert (files.expected, files.stored) == (8, 8)
    summary = result.summary()
    assert "project_files: 3 re-keyed (3 confirmed), 1 duplicate(s) not stored" in summary
    assert (
        f"  re-keyed project_files id {F + 4} -> {F + 5} ({files_rel(PROJECT_B)} #2): confirmed"
        in summary
    )


def test_a_database_without_the_rekeyed_rows_is_named(
    gaps: tuple[Path, Path], tmp_path: Path
) -> None:
    # What "first copy wins" wrote: the colliders dropped as duplicates.
    root, db = gaps
    db = copy_of(db, tmp_path)
    sql(db, "DELETE FROM project_files WHERE id IN (?, ?, ?)", str(F + 3), str(F + 5), str(F + 7))
    files = check(root, db).tables["project_files"]
    assert (files.rekeyed, files.confirmed, files.missing) == (3, 0, 3)
    assert ids(files)[2] == (
        str(F + 7),
        "missing",
        f"re-keyed from id {F + 1}, {files_rel(PROJECT_D)} #0",
    )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param(
            lambda db: sql(
                db, "UPDATE project_files SET id = ? WHERE id = ?", str(F + 8), str(F + 7)
            ),
            [
                (str(F + 7), "missing", f"re-keyed from id {F + 1}, {files_rel(PROJECT_D)} #0"),
                (str(F + 8), "extra", ""),
            ],
            id="wrong-new-id",
        ),
        pytest.param(
            lambda db: put(db, "project_files", rekeyed(X, F + 5), rekeyed(W, F + 3)),
            [
                (
                    str(F + 3),
                    "altered",
                    f"data differs; re-keyed from id {F + 1}, {files_rel(PROJECT_B)} #1",
                ),
                (
                    str(F + 5),
                    "altered",
                    f"data differs; re-keyed from id {F + 4}, {files_rel(PROJECT_B)} #2",
                ),
            ],
            id="wrong-gap",
        ),
        pytest.param(
            lambda db: put(db, "project_files", rekeyed(X, F + 8)),
            [(str(F + 8), "extra", "")],
            id="duplicate-stored-twice",
        ),
        pytest.param(
            lambda db: put(db, "project_files", X, row_id=str(F + 3)),
            [
                (
                    str(F + 3),
                    "altered",
                    f"data differs; re-keyed from id {F + 1}, {files_rel(PROJECT_B)} #1",
                )
            ],
            id="data-id-not-changed",
        ),
    ],
)
def test_a_rekey_stored_otherwise_is_named(
    gaps: tuple[Path, Path], tmp_path: Path, change: Any, named: list[tuple[str, str, str]]
) -> None:
    root, db = gaps
    db = copy_of(db, tmp_path)
    change(db)
    result = check(root, db)
    files = result.tables["project_files"]
    assert ids(files) == named
    assert result.differences == len(named)


def test_the_cli_names_a_rekey_into_the_wrong_gap(gaps: tuple[Path, Path], tmp_path: Path) -> None:
    root, db = gaps
    db = copy_of(db, tmp_path)
    put(db, "project_files", rekeyed(Z, F + 3), rekeyed(X, F + 7))
    done = run_cli("verify", "--data-dir", root, "--db", db, "--workers", "2")
    assert done.returncode == 3, done.stdout + done.stderr
    assert (
        f"project_files id {F + 3}: altered (data differs; re-keyed from id {F + 1}, "
        f"{files_rel(PROJECT_B)} #1)"
    ) in done.stdout
    rekey = f"  re-keyed project_files id {F + 1} -> {F + 7} ({files_rel(PROJECT_D)} #0)"
    assert f"{rekey}: NOT as expected" in done.stdout
    assert "project_files: 3 re-keyed (1 confirmed)" in done.stdout
    assert "NOT verified: 2 difference(s)" in done.stdout


# States, string ids, links ---------------------------------------------------------------


@pytest.fixture(scope="module")
def mcp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Server 1's states starting, running, stopped (the June 2025 server appended one per
    change), a tool id holding other data in the second tools file, a copied tool and a
    repeated prompt-project link; migrated, with the last state of server 1 written."""
    root = tmp_path_factory.mktemp("mcp") / "data"
    states = [state(1, "starting", None), state(2, "running", 42), state(1, "running", 7)]
    states.append(state(1, "stopped", None))
    write(
        root, "mcp_storage/mcp_server_states.json", states, keys=[str(BASE + n) for n in range(4)]
    )
    tool = {"id": "t1", "name": "grep", "description": "search", "parameters": [], "serverId": 1}
    other = {**tool, "description": "search again"}
    copy = {**tool, "id": "t2", "name": "find"}
    write(root, "mcp_storage/mcp_tools.json", [tool, copy])
    write(root, "mcp_storage/tools.json", [other, copy])
    link = {"id": BASE + 9, "promptId": BASE + 1, "projectId": PROJECT_A}
    links = root / "prompt_storage" / "prompt-projects.json"
    links.parent.mkdir(parents=True)
    links.write_text(json.dumps([link, {**link, "id": BASE + 10}], indent=2), encoding="utf-8")
    db = root.parent / "mcp.db"
    migrate(root, db)
    sql(db, "UPDATE mcp_server_states SET data = ? WHERE id = '1'", compact(states[-1]))
    return root, db


def test_the_last_state_of_a_server_is_expected(mcp: tuple[Path, Path]) -> None:
    result = check(*mcp)
    assert result.ok, result.summary()
    states = result.tables["mcp_server_states"]
    assert (states.expected, states.stored, states.superseded) == (2, 2, 2)
    assert "mcp_server_states: 2 superseded state(s) not stored" in result.summary()


def test_a_superseded_state_kept_is_named(mcp: tuple[Path, Path], tmp_path: Path) -> None:
    root, db = mcp
    db = copy_of(db, tmp_path)
    sql(
        db,
        "UPDATE mcp_server_states SET data = ? WHERE id = '1'",
        compact(state(1, "starting", None)),
    )
    result = check(root, db)
    assert ids(result.tables["mcp_server_states"]) == [("1", "altered", "data differs")]
    assert result.differences == 1


def test_string_ids_with_other_data_and_repeated_links_are_expected_nowhere(
    mcp: tuple[Path, Path],
) -> None:
    result = check(*mcp)
    tools, links = result.tables["mcp_tools"], result.tables["prompt_projects"]
    assert (tools.expected, tools.conflicting, tools.duplicate) == (2, 1, 1)
    assert (links.expected, links.duplicate) == (1, 1)
    assert (
        "mcp_tools: 1 duplicate(s) not stored, 1 conflicting record(s) not stored"
        in result.summary()
    )


# A re-keyed parent owns no folder ----------------------------------------------------------


def test_a_rekeyed_project_does_not_own_the_folder_of_its_new_id(tmp_path: Path) -> None:
    # A copied project: same id, other data. It moves to PROJECT_A + 1; the folder of that
    # id belongs to no project that kept its id while loading, so it is an orphan.
    root = tmp_path / "data"
    first, second = project(PROJECT_A, "a"), project(PROJECT_A, "a copy")
    write(root, "project_storage/projects.json", [first, second], keys=[str(PROJECT_A), "copy"])
    write(root, files_rel(PROJECT_A), [project_file(F, PROJECT_A, "a\n")])
    write(root, files_rel(PROJECT_A + 1), [project_file(F + 1, PROJECT_A + 1, "orphan\n")])
    db = tmp_path / "parent.db"
    migrate(root, db)
    put(db, "projects", rekeyed(second, PROJECT_A + 1))
    sql(db, "DELETE FROM project_files WHERE id = ?", str(F + 1))
    result = check(root, db)
    assert result.ok, result.summary()
    assert (result.tables["projects"].rekeyed, result.tables["project_files"].expected) == (1, 1)
    put(db, "project_files", project_file(F + 1, PROJECT_A + 1, "orphan\n"))
    result = check(root, db)
    assert ids(result.tables["project_files"]) == [(str(F + 1), "extra", "")]


# A bulk sync ------------------------------------------------------------------------------

SYNC = 1_600


def test_a_bulk_sync_colliding_whole_rekeys_past_the_run(tmp_path: Path) -> None:
    # Two projects synced a second apart: the second's 1,600 file ids are the first's.
    root = tmp_path / "data"
    write(root, "project_storage/projects.json", [project(PROJECT_A, "a"), project(PROJECT_B, "b")])
    first = [project_file(F + n, PROJECT_A, f"a{n}") for n in range(SYNC)]
    second = [project_file(F + n, PROJECT_B, f"b{n}") for n in range(SYNC)]
    write(root, files_rel(PROJECT_A), first)
    write(root, files_rel(PROJECT_B), second)
    db = tmp_path / "sync.db"
    migrate(root, db)
    put(db, "project_files", *(rekeyed(record, record["id"] + SYNC) for record in second))
    result = check(root, db)
    assert result.ok, result.summary()
    files = result.tables["project_files"]
    assert (files.rekeyed, files.confirmed, files.expected) == (SYNC, SYNC, 2 * SYNC)
    assert (files.rekeys[-1].old, files.rekeys[-1].new) == (str(F + 19), str(F + SYNC + 19))
    assert f"  ... and {SYNC - 20:,} more re-keyed" in result.summary()


# The derivation itself, fed rows directly --------------------------------------------------


def target_db(path: Path) -> Path:
    """An empty database with the target's tables (what verify compares rows against)."""
    with closing(sqlite3.connect(path)) as conn, conn:
        for statement in TARGET.definitions():
            conn.execute(statement)
    return path


def engine(db: Path, *, strict: bool = False) -> tuple[Database, dict[str, TableCheck], Derivation]:
    database = Database.open(db, TARGET)
    database.present = database.tables()
    checks = {table: TableCheck(table) for table in TARGET.tables}
    return database, checks, Derivation(database, checks, strict=strict)


def row(record: Record, row_id: str | None = None) -> Row:
    created = record.get("created") or BASE
    return (
        row_id or str(record["id"]),
        compact(record).encode(),
        created,
        record.get("updated") or created,
    )


def feed(derivation: Derivation, table: str, records: list[Record], rel: str) -> None:
    rows = [row(record) for record in records]
    derivation.add(BY_TABLE[table], rows, [f"{rel} #{n}" for n in range(len(rows))])


def sqlite_steps(copies: int, run: int, tmp_path: Path) -> int:
    """Thousands of SQLite VM steps spent deriving ``copies`` projects' files, each project
    holding the same ``run`` ids (every project but the first collides), and re-keying."""
    database, checks, derivation = engine(target_db(tmp_path / f"steps{copies}x{run}.db"))
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    database.conn.set_progress_handler(count, 1_000)
    with closing(database.conn):
        for project_id in range(PROJECT_A, PROJECT_A + copies):
            records = [project_file(F + n, project_id, f"{project_id} {n}") for n in range(run)]
            feed(derivation, "project_files", records, files_rel(project_id))
        settle(database, checks)
    files = checks["project_files"]
    assert [r.new for r in files.rekeys][:2] == [str(F + run), str(F + run + 1)]
    assert files.rekeyed == (copies - 1) * run
    return steps[0]


@pytest.mark.parametrize(
    ("small", "large"),
    [
        # A bulk sync: each collider lands just past the previous one's new id; a walk over
        # the held ids from each collider would cost run**2 / 2.
        pytest.param((2, 200), (2, 1_600), id="a-run-of-1600-ids"),
        # A chat forked 80 times: 79 records wait under each id; looking up every record
        # waiting under an id, batch after batch, would cost copies**2.
        pytest.param((10, 50), (80, 50), id="eighty-copies-of-each-id"),
    ],
)
def test_rekeying_costs_linear_sqlite_work(
    tmp_path: Path, small: tuple[int, int], large: tuple[int, int]
) -> None:
    # Eight times the colliders: eight times the work when linear, 64 when quadratic.
    few, many = sqlite_steps(*small, tmp_path), sqlite_steps(*large, tmp_path)
    assert many < 12 * few, (few, many)


# Ticket file links fold into their ticket; its file ids follow re-keys ---------------------


class TicketRecord(Record_, kw_only=True):
    """Test-only stand-ins for the ticket entities (their layout lands separately)."""

    id: int
    projectId: int
    title: str
    overview: str = ""
    status: str = "open"
    priority: str = "normal"
    suggestedFileIds: list[str] = msgspec.field(default_factory=list)
    created: int
    updated: int


class LinkRecord(Record_, kw_only=True):
    ticketId: int
    fileId: int


TICKETS = Entity("tickets", TicketRecord, ("tickets.json",), "ticket_storage")
LINKS = Entity(
    "ticket_file_links",
    LinkRecord,
    ("files.json",),
    "ticket_storage/ticket_data",
    top_level="array",
    parent_table="tickets",
    parent_field="ticketId",
    row_id=lambda record: str(record.ticketId),  # type: ignore[attr-defined]
    on_conflict="duplicate",
    folds_into="tickets",
)
T1, T2 = BASE + 50_000, BASE + 60_000
G, H = F + 2, F + 9


def ticket(ticket_id: int, project_id: int, title: str, files: list[int]) -> Record:
    return {
        "id": ticket_id,
        "projectId": project_id,
        "title": title,
        "overview": "",
        "status": "open",
        "priority": "normal",
        "suggestedFileIds": [str(f) for f in files],
        "created": ticket_id,
        "updated": ticket_id,
    }


#: Project B's file F collides with A's and moves to F + 1 (G = F + 2 is B's own).
A_FILE, B_FILE = project_file(F, PROJECT_A, "a\n"), project_file(F, PROJECT_B, "b\n")
#: T1 (project B) names F and G; T2 (project A) names F; a copied ticket (project B) takes
#: T1's id with another title: it moves to T1 + 1, and its F follows the re-key too.
FIRST, SECOND, COPIED = (
    ticket(T1, PROJECT_B, "one", [F, G]),
    ticket(T2, PROJECT_A, "two", [F]),
    ticket(T1, PROJECT_B, "copy", [F]),
)
#: T1's links: F (named already), H twice (folded once).
LINKED = [{"ticketId": T1, "fileId": f} for f in (F, H, H)]


def fold_and_follow(db: Path, *, strict: bool = False) -> dict[str, TableCheck]:
    """Feed the files, tickets and links in processing order; settle; finish the tables."""
    database, checks, derivation = engine(db, strict=strict)
    with closing(database.conn):
        feed(derivation, "project_files", [A_FILE], files_rel(PROJECT_A))
        feed(
            derivation,
            "project_files",
            [B_FILE, project_file(G, PROJECT_B, "g\n")],
            files_rel(PROJECT_B),
        )
        rows = [row(r) for r in (FIRST, SECOND, COPIED)]
        derivation.add(TICKETS, rows, [f"ticket_storage/tickets.json #{n}" for n in range(3)])
        links = [row(link, str(T1)) for link in LINKED]
        derivation.add(
            LINKS, links, [f"ticket_storage/ticket_data/{T1}/files.json #{n}" for n in range(3)]
        )
        settle(database, checks)
        for table in ("project_files", "tickets"):
            database.finish_table(checks[table])
    return checks


@pytest.fixture
def tickets_db(tmp_path: Path) -> Path:
    """What the spec asks for: B's F under F + 1, T1 with its link folded and F followed."""
    db = target_db(tmp_path / "tickets.db")
    put(db, "project_files", A_FILE, rekeyed(B_FILE, F + 1), project_file(G, PROJECT_B, "g\n"))
    put(db, "tickets", ticket(T1, PROJECT_B, "one", [F + 1, G, H]), SECOND)
    put(db, "tickets", rekeyed(ticket(T1, PROJECT_B, "copy", [F + 1]), T1 + 1))
    return db


def test_links_fold_into_their_ticket_and_file_ids_follow_rekeys(tickets_db: Path) -> None:
    checks = fold_and_follow(tickets_db)
    tickets, files = checks["tickets"], checks["project_files"]
    assert (tickets.differences, files.differences) == (0, 0), (tickets.listed, files.listed)
    assert (tickets.expected, tickets.stored, tickets.rekeyed, tickets.folded) == (3, 3, 1, 1)
    assert [(r.old, r.new, r.confirmed) for r in tickets.rekeys] == [(str(T1), str(T1 + 1), True)]
    assert (files.rekeyed, files.confirmed) == (1, 1)


@pytest.mark.parametrize(
    ("stored", "named"),
    [
        pytest.param(ticket(T1, PROJECT_B, "one", [F, G, H]), str(T1), id="file-id-not-followed"),
        pytest.param(ticket(T1, PROJECT_B, "one", [F + 1, G]), str(T1), id="link-not-folded"),
        pytest.param(
            ticket(T1, PROJECT_B, "one", [F + 1, G, H, H]), str(T1), id="link-folded-twice"
        ),
        pytest.param(
            ticket(T2, PROJECT_A, "two", [F + 1]), str(T2), id="other-projects-file-followed"
        ),
        pytest.param(rekeyed(COPIED, T1 + 1), str(T1 + 1), id="copy-not-followed"),
    ],
)
def test_a_ticket_stored_otherwise_is_named(tickets_db: Path, stored: Record, named: str) -> None:
    put(tickets_db, "tickets", stored)
    tickets = fold_and_follow(tickets_db)["tickets"]
    assert [(m.row_id, m.kind) for m in tickets.listed] == [(named, "altered")]


def test_under_strict_links_are_not_folded(tickets_db: Path) -> None:
    checks = fold_and_follow(tickets_db, strict=True)
    assert [(m.row_id, m.kind) for m in checks["tickets"].listed] == [(str(T1), "altered")]
    put(tickets_db, "tickets", ticket(T1, PROJECT_B, "one", [F + 1, G]))
    checks = fold_and_follow(tickets_db, strict=True)
    assert (checks["tickets"].differences, checks["tickets"].folded) == (0, 0)


@pytest.mark.skipif(
    "ticket_file_links" not in BY_TABLE, reason="the ticket entities are not in the layout yet"
)
def test_a_v053_ticket_verifies_with_its_links_folded_and_file_ids_followed(tmp_path: Path) -> None:
    # Through the parse path: v0.5.3's numeric suggestedFileIds and status "done", and a
    # links file naming F again (folded once) and H; B's F moved to F + 1.
    root = tmp_path / "data"
    write(root, "project_storage/projects.json", [project(PROJECT_A, "a"), project(PROJECT_B, "b")])
    write(root, files_rel(PROJECT_A), [A_FILE])
    write(root, files_rel(PROJECT_B), [B_FILE, project_file(G, PROJECT_B, "g\n")])
    db = tmp_path / "tickets.db"
    migrate(root, db)  # before the tickets are there: the rows below are written by hand
    write(
        root,
        "ticket_storage/tickets.json",
        [{**FIRST, "status": "done", "suggestedFileIds": [F, G]}],
    )
    links = root / "ticket_storage" / "ticket_data" / str(T1) / "files.json"
    links.parent.mkdir(parents=True)
    links.write_text(json.dumps([{"ticketId": T1, "fileId": f} for f in (H, F)]), encoding="utf-8")
    put(db, "project_files", rekeyed(B_FILE, F + 1))
    put(db, "tickets", {**ticket(T1, PROJECT_B, "one", [F + 1, G, H]), "status": "closed"})
    result = check(root, db)
    assert result.ok, result.summary()
    assert (result.tables["tickets"].expected, result.tables["tickets"].folded) == (1, 1)
    put(db, "tickets", {**ticket(T1, PROJECT_B, "one", [F, G, H]), "status": "closed"})
    assert ids(check(root, db).tables["tickets"]) == [(str(T1), "altered", "data differs")]
