"""The results as a Markdown table with the issue's targets as computed ratios, and as JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict
from typing import TYPE_CHECKING, Final

from benchmarks.cases import BASELINE
from benchmarks.runner import Result, Run
from benchmarks.targets import compute, targets_table

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


GIB: Final = 1024**3
MIB: Final = 1024**2

HOW_COMPARED: Final = (
    "Every case ends with the same rows: the benchmark shapes are generated without traps "
    "(no invalid, duplicate or orphaned records), so each case migrates every record, and "
    "after every run the runner checks that each table holds exactly the generator's record "
    "count, which asyncmig's database holds too (the parse floor's counts come from the parser). "
    "The naive script and the sqlite-utils files build id and data as asyncmig does "
    "(tests/test_bench.py checks the naive script's ids and data byte for byte against "
    "asyncmig's). "
    "The write floor times only its inserts, commits, indexes and ANALYZE; sqlite-utils's "
    "input files are converted from the data root beforehand, outside the clock. "
    "The re-keying pair runs asyncmig on the root and on a sibling of the same size, shape "
    "and seed where 5 % of the project files and messages reuse a taken id as the real "
    "servers' did (each a different record, which a correct migration re-keys): that "
    "sibling's rows are checked the same way."
)


def size_label(size: int) -> str:
    for unit, scale in (("GB", GIB), ("MB", MIB), ("KB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return f"{size}B"


def median(result: Result, attr: str) -> float:
    return float(statistics.median(getattr(run, attr) for run in result.runs))


def _find(results: Sequence[Result], case: str, shape: str, size: int) -> Result | None:
    return next(
        (r for r in results if (r.case, r.shape, r.size) == (case, shape, size) and r.runs),
        None,
    )


def markdown(results: Sequence[Result], machine: dict[str, str]) -> str:
    """Tables per data root, then the targets, then how the comparison is made."""
    lines = [
        "# asyncmig benchmark results\n",
        "Times are medians of the measured runs, with the fastest and slowest in brackets. "
        "A load average well above 0 at the start means other work shared the CPUs: on the "
        "shared development machines, times move by 10-25 % from run to run. Re-run the "
        "whole set on a quiet machine with `python -m benchmarks` (or `nox -s bench`).\n",
        f"Machine: {machine.get('summary', '')}. Load average at start "
        f"{machine.get('load_average_at_start', '?')}, at end "
        f"{machine.get('load_average_at_end', '?')}; runner peak RSS "
        f"{machine.get('runner_peak_rss', '?')}.\n",
    ]
    roots = sorted({(r.shape, r.size) for r in results}, key=lambda k: (k[0] != "many", k[1]))
    for shape, size in roots:
        rows = [r for r in results if (r.shape, r.size) == (shape, size) and r.runs]
        first = rows[0]
        lines.append(
            f"## {'many files' if shape == 'many' else 'few big files'}, {size_label(size)} "
            f"({first.json_bytes / 1e9:.2f} GB of JSON, {first.records:,} records)\n"
        )
        lines.extend(_table(rows, _find(results, BASELINE.key, shape, size)))
    lines.append("## Targets (issue 5)\n")
    lines.extend(targets_table(compute(results)))
    lines.append(f"\n{HOW_COMPARED}\n")
    return "\n".join(lines)


def _table(rows: Sequence[Result], base: Result | None) -> list[str]:
    out = [
        "| case | median time (min-max) | CPU | records/s | MB/s of JSON | peak RSS, all "
        "processes | largest process | database | time / asyncmig's |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base_time = median(base, "wall_seconds") if base else None
    for r in rows:
        wall = median(r, "wall_seconds")
        times = [run.wall_seconds for run in r.runs]
        spread = f" ({min(times):.2f}-{max(times):.2f})" if len(times) > 1 else " (1 run)"
        db = max(run.db_bytes for run in r.runs)
        ratio = f"{wall / base_time:.2f}x" if base_time else "-"
        out.append(
            f"| {r.label}{' *' if r.self_timed else ''} | {wall:.2f} s{spread} "
            f"| {median(r, 'cpu_seconds'):.2f} s | {r.records / wall:,.0f} "
            f"| {r.json_bytes / 1e6 / wall:.0f} "
            f"| {max(run.peak_tree_rss for run in r.runs) / 1e6:.0f} MB "
            f"| {max(run.peak_process_rss for run in r.runs) / 1e6:.0f} MB "
            f"| {f'{db / 1e9:.2f} GB' if db else '-'} | {ratio} |"
        )
    out.append(
        "\n`*` timed part only: inserts, commits, indexes, ANALYZE (see below). Peak RSS, all "
        "processes: the sum over the process tree, sampled every 20 ms, highest of the runs. "
        "Largest process: ru_maxrss of the run (wait4), which starts from the runner's own "
        "size at the fork.\n"
    )
    return out


def read_json(path: Path) -> tuple[list[Result], dict[str, str]]:
    """The results and machine description ``write_json`` wrote."""
    document = json.loads(path.read_text())
    results = []
    for raw in document["results"]:
        runs = [Run(**run) for run in raw.pop("runs")]
        results.append(Result(**raw, runs=runs))
    return results, document["machine"]


def write_json(
    path: Path, results: Sequence[Result], machine: dict[str, str], settings: object
) -> None:
    """The raw results: every run of every case, the machine, the settings and the targets."""
    document = {
        "version": 1,
        "machine": machine,
        "settings": asdict(settings),  # type: ignore[call-overload]
        "how_compared": HOW_COMPARED,
        "results": [asdict(r) for r in results],
        "targets": [asdict(t) for t in compute(results)],
    }
    path.write_text(json.dumps(document, indent=1) + "\n")
