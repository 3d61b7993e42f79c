"""The issue's targets, computed as ratios from one run's results: pass, fail or not measured."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from benchmarks.cases import BASELINE

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarks.runner import Result

GIB: Final = 1024**3
MIB: Final = 1024**2
#: The size the time targets are stated for; the largest measured stands in when absent.
TARGET_SIZE: Final = GIB
RSS_LIMIT: Final = 100 * 1_000_000
FLAT_SIZES: Final = (100 * MIB, 4 * GIB)


@dataclass(frozen=True, slots=True)
class Target:
    """One target: what was compared, the computed value, its limit, and the verdict."""

    name: str
    measured_on: str
    value: str
    limit: str
    passed: bool | None  # None: not measured in this run


def _time(r: Result) -> float:
    return statistics.median(run.wall_seconds for run in r.runs)


def _rss(r: Result) -> int:
    return max(run.peak_tree_rss for run in r.runs)


def _where(r: Result) -> str:
    size = f"{r.size / GIB:g} GB" if r.size >= GIB else f"{r.size / MIB:g} MB"
    return f"{'many files' if r.shape == 'many' else 'few big files'}, {size}"


def _pair(
    results: Sequence[Result], case: str, other: str, shape: str
) -> tuple[Result, Result] | None:
    """Both cases on ``shape`` at the target size, else at the largest size both have."""
    found = {(r.case, r.size): r for r in results if r.shape == shape and r.runs}
    sizes = {s for c, s in found if c == case} & {s for c, s in found if c == other}
    if not sizes:
        return None
    size = TARGET_SIZE if TARGET_SIZE in sizes else max(sizes)
    return found[case, size], found[other, size]


def _ratio(
    results: Sequence[Result], name: str, other: str, shape: str, limit: float, *, faster: bool
) -> Target:
    pair = _pair(results, BASELINE.key, other, shape)
    if pair is None:
        return Target(name, f"{shape}", "-", "-", None)
    base, alt = pair
    if faster:  # how many times faster asyncmig is than the other case
        value = _time(alt) / _time(base)
        return Target(name, _where(base), f"{value:.2f}x faster", f">= {limit}x", value >= limit)
    value = _time(base) / _time(alt)
    return Target(name, _where(base), f"{value:.2f}x its time", f"<= {limit}x", value <= limit)


def compute(results: Sequence[Result]) -> list[Target]:
    """Every target the results allow computing; the others marked not measured."""
    out = [
        _ratio(results, "time vs the write floor", "write-floor", "many", 1.25, faster=False),
        _ratio(results, "faster than the naive script", "naive", "many", 1.3, faster=True),
        _ratio(results, "faster than the naive script", "naive", "few", 1.3, faster=True),
        _ratio(results, "faster than sqlite-utils --nl", "sqlite-utils-nl", "many", 5, faster=True),
        _ratio(
            results,
            "faster than sqlite-utils (array)",
            "sqlite-utils-array",
            "many",
            5,
            faster=True,
        ),
    ]
    for r in sorted((r for r in results if r.case == BASELINE.key and r.runs), key=_key):
        rss = _rss(r)
        out.append(
            Target(
                "peak RSS, all processes",
                _where(r),
                f"{rss / 1e6:.0f} MB",
                f"<= {RSS_LIMIT / 1e6:.0f} MB",
                rss <= RSS_LIMIT,
            )
        )
    out.extend(_flat(results, shape) for shape in ("many", "few"))
    return out


def _key(r: Result) -> tuple[bool, int]:
    return r.shape != "many", r.size


def _flat(results: Sequence[Result], shape: str) -> Target:
    """RSS at 4 GB within 10 % of RSS at 100 MB; the largest size stands in, and says so."""
    found = sorted(
        (r for r in results if r.case == BASELINE.key and r.shape == shape and r.runs),
        key=lambda r: r.size,
    )
    name = "peak RSS flat: 4 GB within 10 % of 100 MB"
    small = next((r for r in found if r.size == FLAT_SIZES[0]), None)
    if small is None or found[-1].size <= small.size:
        return Target(name, shape, "-", "-", None)
    big = found[-1]
    growth = _rss(big) / _rss(small) - 1
    where = f"{_where(big)} vs 100 MB"
    if big.size != FLAT_SIZES[1]:
        where += " (4 GB not in this run)"
    return Target(name, where, f"{growth:+.0%}", "<= +10%", growth <= 0.10)


def targets_table(targets: Sequence[Target]) -> list[str]:
    verdict = {True: "pass", False: "**FAIL**", None: "not measured"}
    out = ["| target | measured on | value | limit | verdict |", "|---|---|---|---|---|"]
    out.extend(
        f"| {t.name} | {t.measured_on} | {t.value} | {t.limit} | {verdict[t.passed]} |"
        for t in targets
    )
    return out
