"""``python -m benchmarks``: asyncmig side by side with the alternatives, on generated data.

    python -m benchmarks                               # the default set (what results/ holds)
    python -m benchmarks --sizes 100MB --shapes few --cases asyncmig,naive --repeats 5
    python -m benchmarks --sizes 100MB --cases asyncmig -- --workers 2   # asyncmig + options
    python -m benchmarks --cases asyncmig --against ../base   # this tree against another

Data roots are generated once (cached under ``benchmarks/data/``, keyed by size, shape and
seed). On each root: one untimed asyncmig run (the warm-up of the page cache, and the
write floor's rows), then every case in a fresh subprocess, warm-ups first, repeats
interleaved round by round, each run's database checked for the generator's row count in
every table. Writes results.md, results.json, throughput.png and memory.png to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks import cases as case_list
from benchmarks import machine
from benchmarks.generate import parse_size
from benchmarks.runner import BenchError, Root, Settings, data_root, run_root

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarks.cases import Case
    from benchmarks.runner import Result

HERE = Path(__file__).resolve().parent
GROUPS = {
    "all": case_list.CASES,
    "main": case_list.ASYNCMIG_CASES + case_list.COMPARISON_CASES,
    "sweeps": case_list.SWEEP_CASES,
    "rekey": case_list.REKEY_CASES,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--sizes", default="100MB,1GB", help="total JSON sizes, comma-separated (%(default)s)")
    add("--shapes", default="many,few", help="many and/or few (default: %(default)s)")
    keys = ", ".join(c.key for c in case_list.CASES)
    add("--cases", default="all", help=f"all, main, sweeps, rekey, or case keys: {keys}")
    add("--repeats", type=int, default=3, help="measured runs per case (default: %(default)s)")
    add(
        "--warmup",
        type=int,
        default=1,
        help="unmeasured runs per case on roots under 1 GB (default: %(default)s); every root "
        "also gets one untimed asyncmig run first",
    )
    add(
        "--slow-repeats",
        type=int,
        default=1,
        help="runs of sqlite-utils and of the sweeps on roots of 1 GB+ (default: %(default)s)",
    )
    add(
        "--full",
        action="store_true",
        help="every case on every root with --warmup and --repeats (no 1 GB+ reductions)",
    )
    add("--sweep-size", default="1GB", help="the many-files size the sweeps run on (%(default)s)")
    add("--seed", type=int, default=1)
    add("--cache", type=Path, default=HERE / "data", help="generated data roots (%(default)s)")
    add("--work", type=Path, default=HERE / "work", help="databases, converted input")
    add("--out", type=Path, default=HERE / "results", help="where results go (%(default)s)")
    add("--render", action="store_true", help="only remake results.md and charts from results.json")
    add(
        "--against",
        type=Path,
        metavar="TREE",
        help="another checkout of asyncmig (e.g. `git worktree add ../base REV`): each asyncmig "
        "case also runs from it, interleaved round by round with this tree's",
    )
    add("asyncmig_args", nargs="*", help="after --: options for an extra asyncmig case")
    return parser


def select_cases(spec: str, extra: Sequence[str]) -> list[Case]:
    """The cases named in ``spec`` (groups or keys), plus one asyncmig case with ``extra``."""
    by_key = {c.key: c for c in case_list.CASES}
    chosen: list[Case] = []
    for name in filter(None, (part.strip() for part in spec.split(","))):
        if name not in GROUPS and name not in by_key:
            raise SystemExit(f"unknown case {name!r}; choose from {', '.join([*GROUPS, *by_key])}")
        chosen.extend(c for c in GROUPS.get(name, (by_key.get(name),)) if c and c not in chosen)
    if extra:
        args = tuple(extra)
        chosen.append(
            replace(
                case_list.BASELINE,
                key="asyncmig-extra",
                label=f"asyncmig {' '.join(args)}",
                args=args,
            )
        )
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.render:
        from benchmarks import report  # noqa: PLC0415  (matplotlib: see below)

        write_outputs(args.out, *report.read_json(args.out / "results.json"))
        return 0
    settings = Settings(
        repeats=args.repeats,
        warmup=args.warmup,
        slow_repeats=args.slow_repeats,
        full=args.full,
        sweep_size=parse_size(args.sweep_size),
        seed=args.seed,
    )
    described = machine.describe()
    try:
        chosen = select_cases(args.cases, args.asyncmig_args)
        if args.against:
            chosen += case_list.against(chosen, args.against)
        results = _measure(args, chosen, settings)
    except BenchError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    runner_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    described["runner_peak_rss"] = f"{runner_rss / 1e6:.0f} MB"
    described["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    # Imported only now: the runner must stay small while it runs cases, because a child's
    # ru_maxrss starts from its parent's size at the fork, and matplotlib is large.
    from benchmarks import report  # noqa: PLC0415

    args.out.mkdir(parents=True, exist_ok=True)
    report.write_json(args.out / "results.json", results, described, settings)
    print(write_outputs(args.out, results, described))
    print(f"results written to {args.out}", file=sys.stderr)
    return 0


def _measure(args: argparse.Namespace, cases: list[Case], settings: Settings) -> list[Result]:
    results: list[Result] = []
    for shape in args.shapes.split(","):
        for size in (parse_size(s) for s in args.sizes.split(",")):
            path = data_root(size, shape, args.seed, args.cache)
            results.extend(
                run_root(Root(path, shape, size, args.work / path.name), cases, settings)
            )
    return results


def write_outputs(out: Path, results: Sequence[Result], described: dict[str, str]) -> str:
    """results.md, the charts and machine.txt from the results; the Markdown text."""
    from benchmarks import charts, report  # noqa: PLC0415  (matplotlib: see main)

    text = report.markdown(results, described)
    (out / "results.md").write_text(text)
    (out / "machine.txt").write_text(
        f"{described.get('summary', '')}\n\n{described.get('lscpu', '')}\n"
    )
    charts.throughput(out / "throughput.png", results)
    charts.memory(out / "memory.png", results)
    return text


if __name__ == "__main__":
    raise SystemExit(main())
