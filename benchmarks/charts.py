"""PNG charts of a result set: throughput per case, and peak RSS against input size."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt

from benchmarks.cases import BASELINE
from benchmarks.report import size_label

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from matplotlib.axes import Axes

    from benchmarks.runner import Result


def throughput(path: Path, results: Sequence[Result]) -> None:
    """One horizontal bar group per data root: MB/s of JSON of every case, min-max whiskers."""
    roots = sorted(
        {(r.shape, r.size) for r in results if r.runs}, key=lambda k: (k[0] != "many", k[1])
    )
    groups = [[r for r in results if (r.shape, r.size) == k and r.runs][::-1] for k in roots]
    height = 2.2 + 0.42 * max(len(rows) for rows in groups) * len(roots)
    fig, axes = plt.subplots(len(roots), 1, figsize=(9, height), squeeze=False)
    for ax, (shape, size), rows in zip(axes[:, 0], roots, groups, strict=True):
        _bars(ax, rows)
        ax.set_title(f"{'many files' if shape == 'many' else 'few big files'}, {size_label(size)}")
        ax.set_xlabel("MB/s of JSON (median; whiskers: slowest and fastest run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(ax: Axes, rows: Sequence[Result]) -> None:
    mid, low, high = [], [], []
    for r in rows:
        times = [run.wall_seconds for run in r.runs]
        mb = r.json_bytes / 1e6
        mid.append(mb / statistics.median(times))
        low.append(mid[-1] - mb / max(times))
        high.append(mb / min(times) - mid[-1])
    colors = ["tab:blue" if r.kind == "asyncmig" else "tab:gray" for r in rows]
    ax.barh([r.label for r in rows], mid, color=colors, xerr=[low, high])


def memory(path: Path, results: Sequence[Result]) -> None:
    """Peak RSS (all processes) against input size, asyncmig and the naive script, per shape."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for case, style in ((BASELINE.key, "-o"), ("naive", "--s")):
        for shape in ("many", "few"):
            found = sorted(
                (r for r in results if r.case == case and r.shape == shape and r.runs),
                key=lambda r: r.size,
            )
            if not found:
                continue
            ax.plot(
                [r.json_bytes / 1e9 for r in found],
                [max(run.peak_tree_rss for run in r.runs) / 1e6 for r in found],
                style,
                label=f"{found[0].label}, {'many files' if shape == 'many' else 'few big files'}",
            )
    ax.axhline(100, color="tab:red", linewidth=0.8, linestyle=":", label="target: 100 MB")
    ax.set_xlabel("input size, GB of JSON")
    ax.set_ylabel("peak RSS, all processes, MB")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
