"""``python -m benchmarks.compare BEFORE.json AFTER.json [...]``: two trees side by side.

Each argument is a ``results.json`` of ``python -m benchmarks``; they pair up as (before,
after) rounds, so a run of the suite on the old tree, then on the new, then both again,
gives ``compare before-1 after-1 before-2 after-2``. Prints a Markdown table: per root and
case, each round's median wall time with its fastest and slowest run, and the highest peak
RSS (process tree) of the befores and of the afters.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

Key = tuple[str, int, str]
Runs = dict[Key, tuple[list[float], int]]


def load(path: Path) -> Runs:
    """Per (shape, size, case): the wall seconds of every run and the highest peak RSS."""
    found: Runs = {}
    for result in json.loads(path.read_text())["results"]:
        runs = result["runs"]
        walls = [float(run["wall_seconds"]) for run in runs]
        rss = max(int(run["peak_tree_rss"]) for run in runs)
        found[(result["shape"], int(result["size"]), result["case"])] = (walls, rss)
    return found


def table(paths: Sequence[Path]) -> str:
    """The Markdown table for (before, after) pairs of results files."""
    rounds = [load(path) for path in paths]
    pairs = len(rounds) // 2
    heads = " | ".join(f"before r{n} | after r{n}" for n in range(1, pairs + 1))
    lines = [
        f"| root | case | {heads} | peak RSS before / after |",
        "|---|---|" + "---|" * (2 * pairs + 1),
    ]
    for key in sorted(rounds[0]):
        shape, size, case = key
        cells = [_cell(found.get(key)) for found in rounds[: 2 * pairs]]
        before = max(rounds[i][key][1] for i in range(0, 2 * pairs, 2) if key in rounds[i])
        after = max(rounds[i][key][1] for i in range(1, 2 * pairs, 2) if key in rounds[i])
        root = f"{shape} {size / 2**30:g} GB" if size >= 2**30 else f"{shape} {size // 2**20} MB"
        lines.append(
            f"| {root} | {case} | {' | '.join(cells)} | {before / 1e6:.0f} / {after / 1e6:.0f} MB |"
        )
    return "\n".join(lines)


def _cell(found: tuple[list[float], int] | None) -> str:
    if found is None:
        return "-"
    walls = found[0]
    return f"{statistics.median(walls):.2f} s ({min(walls):.2f}-{max(walls):.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    paths = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    if len(paths) < 2 or len(paths) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(table(paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
