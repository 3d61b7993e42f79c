"""``python -m benchmarks``: migrate a generated data root as a user would, and measure it.

    python -m benchmarks --size 1GB --shape many

generates the data root once (cached under ``benchmarks/data/``, keyed by size, shape
and seed), runs ``python -m asyncmig`` on it in a fresh subprocess, checks the row counts
against what the generator wrote, and prints time, rows/s, MB/s and peak memory.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.generate import generate, parse_size
from benchmarks.measure import measure

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarks.generate import GenerateResult

HERE = Path(__file__).resolve().parent


def data_root(size: int, shape: str, seed: int, cache: Path) -> tuple[Path, GenerateResult | None]:
    """The cached data root for these settings, generated when missing."""
    root = cache / f"{shape}-{size}-{seed}"
    if (root / ".complete").is_file():
        return root, None
    shutil.rmtree(root, ignore_errors=True)
    print(
        f"generating {shape} data root of {size:,} bytes (seed {seed}) in {root} ...",
        file=sys.stderr,
    )
    result = generate(root / "data", size_bytes=size, shape=shape, seed=seed)  # type: ignore[arg-type]
    (root / ".complete").write_text("\n".join(f"{k} {v}" for k, v in result.records.items()))
    return root, result


def expected_records(root: Path) -> dict[str, int]:
    lines = (root / ".complete").read_text().splitlines()
    return {table: int(count) for table, count in (line.split() for line in lines)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", default="1GB", help="total JSON size (default: %(default)s)")
    parser.add_argument("--shape", choices=("many", "few"), default="many")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cache",
        type=Path,
        default=HERE / "data",
        help="where generated data roots are kept (default: %(default)s)",
    )
    parser.add_argument("asyncmig_args", nargs="*", help="extra options for asyncmig (after --)")
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    root, _ = data_root(size, args.shape, args.seed, args.cache)
    want = expected_records(root)
    with tempfile.TemporaryDirectory(prefix="asyncmig-bench-") as work:
        db = Path(work) / "octoprompt.db"
        command = [
            sys.executable,
            "-m",
            "asyncmig",
            "--data-dir",
            str(root / "data"),
            "--db",
            str(db),
            *args.asyncmig_args,
        ]
        run = measure(command)
        if run.returncode != 0:
            print(run.stdout, run.stderr, sep="\n", file=sys.stderr)
            print(f"asyncmig exited {run.returncode}", file=sys.stderr)
            return 1
        got = _row_counts(db, want)
        db_size = db.stat().st_size
    if got != want:
        print(f"row counts differ from the generator's: {got} != {want}", file=sys.stderr)
        return 1
    rows = sum(want.values())
    json_bytes = sum(p.stat().st_size for p in (root / "data").rglob("*") if p.is_file())
    print(
        f"asyncmig {' '.join(args.asyncmig_args) or '(defaults)'} on {args.shape} "
        f"{json_bytes / 1e9:.2f} GB ({rows:,} rows)"
    )
    print(f"  time      {run.wall_seconds:8.2f} s wall, {run.cpu_seconds:.2f} s CPU")
    print(f"  rows/s    {rows / run.wall_seconds:11,.0f}")
    print(f"  MB/s      {json_bytes / 1e6 / run.wall_seconds:8.1f} of JSON")
    print(
        f"  peak RSS  {run.peak_tree_rss / 1e6:8.1f} MB (all processes), "
        f"{run.peak_process_rss / 1e6:.1f} MB (largest process)"
    )
    print(f"  database  {db_size / 1e9:8.2f} GB")
    return 0


def _row_counts(db: Path, tables: dict[str, int]) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
            for t in tables
        }


if __name__ == "__main__":
    raise SystemExit(main())
