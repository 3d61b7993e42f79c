"""Run the selected cases on each data root: warm-up, interleaved repeats, checked counts."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from benchmarks import cases as case_list
from benchmarks.generate import generate
from benchmarks.measure import measure
from benchmarks.sqlite_utils_case import is_converted

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarks.cases import Case


#: Cases run ``python -m benchmarks...`` from any working directory, with bytecode
#: written and used as an installed asyncmig's is: where PYTHONDONTWRITEBYTECODE is set (a
#: development machine's habit), every run and every parser process would compile every
#: module from source, a cost that grows with the code and that no user pays.
def case_env(tree: str | None = None) -> dict[str, str]:
    """The environment of a run: this checkout first on the path, or ``tree`` (a case
    ``--against`` another checkout, whose ``python -m asyncmig`` is that tree's). Safe-path
    mode keeps the working folder off the path: run from a checkout, it would come first,
    and an editable install's finder after it, whichever tree the case names."""
    first = tree or str(Path(__file__).resolve().parent.parent)
    return {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "PYTHONSAFEPATH": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, (first, os.environ.get("PYTHONPATH")))),
    }


_ENV: Final = case_env()

#: Roots this big get no per-case warm-up (the root's warm-up run stands in), and their
#: slow cases run fewer times: what keeps the default set within 10 minutes on 2 cores.
BIG_SIZE = 1024**3


class BenchError(Exception):
    """A case failed, or its database does not hold the rows every case must hold."""


@dataclass(frozen=True, slots=True)
class Run:
    """One measured run of one case."""

    wall_seconds: float
    cpu_seconds: float
    peak_tree_rss: int
    peak_process_rss: int
    db_bytes: int


@dataclass(slots=True)
class Result:
    """Every measured run of one case on one data root."""

    case: str
    label: str
    kind: str
    shape: str
    size: int
    json_bytes: int
    records: int
    self_timed: bool
    runs: list[Run] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Settings:
    repeats: int = 3
    #: Per-case warm-up runs on roots under BIG_SIZE.
    warmup: int = 1
    #: Repeats of slow cases (sqlite-utils, sweeps) on roots of BIG_SIZE and more.
    slow_repeats: int = 1
    #: Every case on every root, full warm-ups and repeats: no BIG_SIZE reductions.
    full: bool = False
    sweep_size: int = 1024**3
    seed: int = 1


def data_root(size: int, shape: str, seed: int, cache: Path, *, collide: float = 0.0) -> Path:
    """The cached data root for these settings, generated when missing. With ``collide``,
    that share of files and messages reuse a taken id, every one a different record (no
    identical copies: a correct migration re-keys them all and ends with every record)."""
    root = cache / (f"{shape}-{size}-{seed}" + (f"-collide{collide:g}" if collide else ""))
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    print(
        f"generating {shape} data root of {size:,} bytes (seed {seed}, collide {collide:g}) "
        f"in {root}",
        file=sys.stderr,
    )
    result = generate(
        root / "data",
        size_bytes=size,
        shape=shape,  # type: ignore[arg-type]
        seed=seed,
        collide=collide,
        copies=0.0,
    )
    assert result.rows is not None  # no traps
    (root / ".complete").write_text("\n".join(f"{k} {v}" for k, v in result.rows.items()))
    return root


def expected_records(root: Path) -> dict[str, int]:
    """Per-table rows the generator says a migration writes: every case must end with
    exactly these (for roots without collisions, every record it wrote)."""
    lines = (root / ".complete").read_text().splitlines()
    return {table: int(count) for table, count in (line.split() for line in lines)}


@dataclass(frozen=True, slots=True)
class Root:
    """One generated data root and the folder its runs work in."""

    path: Path
    shape: str
    size: int
    work: Path

    @property
    def data(self) -> Path:
        return self.path / "data"

    @property
    def reference(self) -> Path:
        """A finished asyncmig database of this root: the write floor's rows."""
        return self.work / "reference.db"

    def colliding(self, share: float, seed: int) -> Root:
        """This root's sibling where ``share`` of the records collide (itself for 0)."""
        if not share:
            return self
        path = data_root(self.size, self.shape, seed, self.path.parent, collide=share)
        return Root(path, self.shape, self.size, self.work.parent / path.name)


def run_root(root: Root, cases: Sequence[Case], settings: Settings) -> list[Result]:
    """Measure ``cases`` on one data root, repeats interleaved round by round so that a
    change in the machine's load spreads over every case instead of landing on one."""
    plans = plan_runs(root, cases, settings)
    if not plans:
        return []
    roots = {c: root.colliding(c.collide, settings.seed) for c in plans}
    wants = {r: _warm_up(r) for r in dict.fromkeys(roots.values())}
    results = {
        c.key: Result(
            c.key,
            c.label,
            c.kind,
            root.shape,
            root.size,
            sum(p.stat().st_size for p in roots[c].data.rglob("*") if p.is_file()),
            sum(wants[roots[c]].values()),
            c.self_timed,
        )
        for c in plans
    }
    for round_no in range(max(w + r for w, r in plans.values())):
        for case, (warmup, repeats) in plans.items():
            if round_no >= warmup + repeats:
                continue
            run = _run_fresh(case, roots[case], wants[roots[case]])
            state = "warm-up" if round_no < warmup else f"run {round_no - warmup + 1}/{repeats}"
            print(
                f"  {roots[case].path.name} {case.key:<20} {state:<9} {run.wall_seconds:7.2f} s "
                f"{run.peak_tree_rss / 1e6:7.1f} MB",
                file=sys.stderr,
            )
            if round_no >= warmup:
                results[case.key].runs.append(run)
    return list(results.values())


def _warm_up(root: Root) -> dict[str, int]:
    """The warm-up of the whole root: one untimed asyncmig run, which fills the page cache
    and whose database holds the final rows the write floor inserts. The expected counts."""
    want = expected_records(root.path)
    root.work.mkdir(parents=True, exist_ok=True)
    for stale in root.work.glob("reference*.db*"):
        stale.unlink()
    _run(case_list.BASELINE, root, root.reference, want)
    return want


def _run_fresh(case: Case, root: Root, want: dict[str, int]) -> Run:
    """One run in a new folder, removed afterwards whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix=f"{case.key}-", dir=root.work))
    try:
        return _run(case, root, folder / "octoprompt.db", want)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def plan_runs(root: Root, cases: Sequence[Case], settings: Settings) -> dict[Case, tuple[int, int]]:
    """(warm-ups, repeats) of each case that runs on this root."""
    sweep_root = root.shape == "many" and root.size == settings.sweep_size
    if settings.full or root.size < BIG_SIZE:
        return {c: (settings.warmup, settings.repeats) for c in cases if sweep_root or not c.sweep}
    return {
        c: (0, settings.slow_repeats if c.slow else settings.repeats)
        for c in cases
        if (sweep_root or not c.sweep) and root.shape in c.big_shapes
    }


def _run(case: Case, root: Root, db: Path, want: dict[str, int]) -> Run:
    folder = root.work / f"sqlite-utils-{'nl' if '--nl' in case.args else 'array'}"
    if case.kind == "sqlite-utils" and not is_converted(folder):
        print(f"  converting {root.data} for sqlite-utils into {folder}", file=sys.stderr)
        module = [sys.executable, "-m", "benchmarks.sqlite_utils_case"]
        subprocess.run(
            [*module, "convert", str(root.data), str(folder), *case.args], check=True, env=_ENV
        )
    if case.kind == "sqlite-utils":
        _read_through(folder)
    made = case_list.promptliano_reference(root.reference)
    if case.kind == "write-floor" and case.args and not made.exists():
        _run(case_list.PROMPTLIANO, root, made, want)  # untimed, like the warm-up
    command = case_list.command(case, root.data, db, reference=root.reference, converted=folder)
    measured = measure(command, env=case_env(case.tree) if case.tree else _ENV)
    if measured.returncode != 0:
        raise BenchError(
            f"{case.key} exited {measured.returncode}: {' '.join(command)}\n"
            f"{measured.stderr[-3000:]}"
        )
    reported = json.loads(measured.stdout) if case.kind in ("write-floor", "parse-floor") else {}
    got = reported["records"] if case.kind == "parse-floor" else row_counts(db, want)
    if got != want:
        raise BenchError(f"{case.key} on {root.data}: per-table rows {got} differ from {want}")
    wall = reported.get("wall_seconds", measured.wall_seconds)
    cpu = reported.get("cpu_seconds", measured.cpu_seconds)
    db_bytes = sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) if db.exists() else 0
    return Run(wall, cpu, measured.peak_tree_rss, measured.peak_process_rss, db_bytes)


def _read_through(folder: Path) -> None:
    """Read every file once, so a case's input comes from the page cache like the data's."""
    for path in folder.iterdir():
        with path.open("rb") as stream:
            while stream.read(1 << 20):
                pass


def row_counts(db: Path, tables: dict[str, int]) -> dict[str, int]:
    """Rows per table in ``db`` (-1 for a table it does not have)."""
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "asyncmig_file_ids" in names:
            return _promptliano_counts(conn, tables)
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] if t in names else -1  # noqa: S608
            for t in tables
        }


#: A source table's rows in a Promptliano database (kept whole in asyncmig_not_carried
#: when the target has no row for them).
_PROMPTLIANO: Final = {
    "project_files": "SELECT count(*) FROM asyncmig_file_ids",
    **{
        t: f"SELECT count(*) FROM {t}"  # noqa: S608 - fixed names
        for t in ("projects", "chats", "chat_messages", "prompts", "provider_keys", "tickets",
                  "ticket_tasks", "mcp_server_configs")
    },
}  # fmt: skip


def _promptliano_counts(conn: sqlite3.Connection, tables: dict[str, int]) -> dict[str, int]:
    """Records per source table in a Promptliano database: its rows plus the records kept
    whole. A prompt link carried as its prompt's project has no row of its own: its count
    is taken as expected (tests/test_promptliano.py checks every link)."""
    kept = dict(
        conn.execute(
            "SELECT tbl, count(*) FROM asyncmig_not_carried WHERE field = '*' GROUP BY tbl"
        ).fetchall()
    )
    found = {}
    for table, wanted in tables.items():
        if table == "prompt_projects":
            found[table] = wanted
            continue
        rows = conn.execute(_PROMPTLIANO[table]).fetchone()[0] if table in _PROMPTLIANO else 0
        found[table] = rows + kept.get(table, 0)
    return found
