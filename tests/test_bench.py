"""The benchmark harness: measurement, the comparison cases' rows, the runner's checks."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_cli

import asyncmig
from benchmarks import cases as case_list
from benchmarks.generate import generate
from benchmarks.measure import measure
from benchmarks.naive import main as naive_main
from benchmarks.runner import BenchError, Root, Settings, data_root, plan_runs, run_root

TINY = 200 * 1024


def test_measure_sums_the_process_tree_and_reports_the_largest_process() -> None:
    # A child holding 60 MB starts a grandchild holding 40 MB; both live for a second.
    script = textwrap.dedent(
        """
        import subprocess, sys
        held = bytearray(60_000_000)
        grandchild = "held = bytearray(40_000_000); import time; time.sleep(1)"
        subprocess.run([sys.executable, "-c", grandchild], check=True)
        sys.exit(7)
        """
    )
    run = measure([sys.executable, "-c", script])
    assert run.returncode == 7
    assert run.peak_tree_rss >= 100_000_000
    assert 60_000_000 <= run.peak_process_rss < run.peak_tree_rss
    assert run.cpu_seconds > 0
    assert run.wall_seconds >= 1


@pytest.mark.parametrize("shape", ["many", "few"])
def test_naive_script_writes_asyncmig_rows_byte_for_byte(tmp_path: Path, shape: str) -> None:
    root = generate(tmp_path / "data", size_bytes=TINY, shape=shape, seed=5)  # type: ignore[arg-type]
    assert run_cli("--data-dir", root.root, "--db", tmp_path / "asyncmig.db").returncode == 0
    assert naive_main([str(root.root), str(tmp_path / "naive.db")]) == 0
    with sqlite3.connect(tmp_path / "naive.db") as conn:
        conn.execute(f"ATTACH '{tmp_path / 'asyncmig.db'}' AS a")
        for table, count in root.records.items():
            same = conn.execute(
                f"SELECT count(*) FROM {table} n JOIN a.{table} m USING (id) "  # noqa: S608
                "WHERE n.data = m.data"
            ).fetchone()[0]
            assert (table, same) == (table, count)


def test_runner_measures_every_case_and_checks_its_rows(tmp_path: Path) -> None:
    path = data_root(TINY, "many", 3, tmp_path / "cache")
    root = Root(path, "many", TINY, tmp_path / "work" / path.name)
    by_key = {c.key: c for c in case_list.CASES}
    chosen = [by_key[k] for k in ("asyncmig", "write-floor", "parse-floor", "naive", "batch-100")]
    results = run_root(root, chosen, Settings(repeats=2, warmup=0, sweep_size=TINY))
    assert [r.case for r in results] == [c.key for c in chosen]
    for result in results:
        assert len(result.runs) == 2
        assert result.records == sum(root_counts(path).values())
        for run in result.runs:
            assert run.wall_seconds > 0
            assert run.peak_tree_rss > 0
            assert (run.db_bytes > 0) == (result.case != "parse-floor")
    assert results[1].self_timed


def test_a_sweep_runs_only_on_the_sweep_root(tmp_path: Path) -> None:
    path = data_root(TINY, "few", 3, tmp_path / "cache")
    root = Root(path, "few", TINY, tmp_path / "work")
    results = run_root(root, [case_list.SWEEP_CASES[0]], Settings(1, 0, sweep_size=TINY))
    assert results == []


def test_a_case_with_missing_rows_fails_the_run(tmp_path: Path) -> None:
    path = data_root(TINY, "many", 3, tmp_path / "cache")
    counts = root_counts(path)
    counts["chat_messages"] += 1  # what the runner expects no case can reach
    (path / ".complete").write_text("\n".join(f"{t} {n}" for t, n in counts.items()))
    root = Root(path, "many", TINY, tmp_path / "work")
    with pytest.raises(BenchError, match="chat_messages"):
        run_root(root, [case_list.BASELINE], Settings(1, 0))


def root_counts(path: Path) -> dict[str, int]:
    lines = (path / ".complete").read_text().splitlines()
    return {table: int(n) for table, n in (line.split() for line in lines)}


def test_big_roots_run_slow_cases_fewer_times_and_skip_per_case_warmups(tmp_path: Path) -> None:
    by_key = {c.key: c for c in case_list.CASES}
    chosen = [by_key[k] for k in ("asyncmig", "sqlite-utils-nl", "batch-100")]
    settings = Settings(repeats=3, warmup=1, slow_repeats=1)
    many = Root(tmp_path, "many", 1024**3, tmp_path)
    few = Root(tmp_path, "few", 1024**3, tmp_path)
    assert [(c.key, plan) for c, plan in plan_runs(many, chosen, settings).items()] == [
        ("asyncmig", (0, 3)),
        ("sqlite-utils-nl", (0, 1)),
        ("batch-100", (0, 1)),
    ]
    assert [c.key for c in plan_runs(few, chosen, settings)] == ["asyncmig"]
    full = plan_runs(few, chosen, Settings(repeats=3, warmup=1, full=True))
    assert list(full.values()) == [(1, 3), (1, 3)]
    small = Root(tmp_path, "many", 100 * 1024**2, tmp_path)
    assert list(plan_runs(small, chosen, settings).values()) == [(1, 3), (1, 3)]


def test_the_colliding_root_is_a_sibling_of_the_same_size(tmp_path: Path) -> None:
    plain = data_root(TINY, "many", 3, tmp_path / "cache")
    root = Root(plain, "many", TINY, tmp_path / "work" / plain.name)
    sibling = root.colliding(0.05, 3)
    assert root.colliding(0.0, 3) is root
    assert sibling.path == tmp_path / "cache" / "many-204800-3-collide0.05"
    assert sibling.work == tmp_path / "work" / "many-204800-3-collide0.05"
    assert (sibling.shape, sibling.size) == (root.shape, root.size)
    files = sorted(sibling.data.glob("project_storage/project_data/*/files.json"))
    ids = [key for path in files for key in json.loads(path.read_text())]
    assert len(ids) > len(set(ids))  # some files reuse a taken id
    # Same parents; every file is a row (no copies: each colliding one is re-keyed).
    bulk = ("project_files", "chat_messages")
    mine, theirs = root_counts(sibling.path), root_counts(plain)
    assert {t: n for t, n in mine.items() if t not in bulk} == {
        t: n for t, n in theirs.items() if t not in bulk
    }
    assert mine["project_files"] == len(ids)
    assert case_list.COLLIDING.collide == 0.05
    assert case_list.REKEY_CASES == (case_list.BASELINE, case_list.COLLIDING)


def test_the_rekeying_pair_runs_on_both_roots(tmp_path: Path) -> None:
    """Needs asyncmig's re-keying (issue 10): without it the colliding root ends short."""
    path = data_root(TINY, "many", 3, tmp_path / "cache")
    root = Root(path, "many", TINY, tmp_path / "work" / path.name)
    results = run_root(root, case_list.REKEY_CASES, Settings(repeats=1, warmup=0, seed=3))
    plain, colliding = results
    assert (plain.case, colliding.case) == ("asyncmig", "asyncmig-collide-5")
    assert (colliding.shape, colliding.size) == (plain.shape, plain.size)
    sibling = root.colliding(0.05, 3)
    assert colliding.records == sum(root_counts(sibling.path).values())
    assert all(len(r.runs) == 1 and r.runs[0].peak_tree_rss > 0 for r in results)


def test_against_runs_each_asyncmig_case_from_the_other_tree_too(tmp_path: Path) -> None:
    tree = tmp_path / "base"
    shutil.copytree(
        Path(asyncmig.__file__).parent, tree / "asyncmig", ignore=shutil.ignore_patterns("*.pyc")
    )
    by_key = {c.key: c for c in case_list.CASES}
    chosen = [by_key["asyncmig"], by_key["naive"]]
    twins = case_list.against(chosen, tree)
    assert [(c.key, c.tree) for c in twins] == [("asyncmig@base", str(tree))]
    path = data_root(TINY, "many", 3, tmp_path / "cache")
    root = Root(path, "many", TINY, tmp_path / "work" / path.name)
    results = run_root(root, [*chosen, *twins], Settings(repeats=1, warmup=0, sweep_size=TINY))
    assert [r.case for r in results] == ["asyncmig", "naive", "asyncmig@base"]
    assert len(results[-1].runs) == 1
    # Its rows were checked like every case's; its modules were imported from the copy
    # (bytecode is written for the runs, so the copy now holds its own).
    assert list((tree / "asyncmig").rglob("__pycache__/*.pyc"))
