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

    from benchmarks.runner import Result


def throughput(path: Path, results: Sequence[Result]) -> None:
    """One horizontal bar group per data root: MB/s of JSON of every case, min-max whiskers."""
    roots = sorted(
        {(r.shape, r.size) for r in results if r.runs}, key=lambda k: (k[0] != "many", k[1])
    )
    fig, axes = plt.subplots(
        len(roots),
        1,
        figsize=(
            9,
            2.2
            + 0.42
            * max(sum(1 for r in results if (r.shape, r.size) == k and r.runs) for k in roots)
            * len(roots),
        ),
        squeeze=False,
    )
    for ax, (shape, size) in zip(axes[:, 0], roots, strict=True):
        rows = [r for r in results if (r.shape, r.size) == (shape, size) and r.runs][::-1]
        mb = [r.json_bytes / 1e6 for r in rows]
        mid = [
            m / statistics.median(run.wall_seconds for run in r.runs)
            for m, r in zip(mb, rows, strict=True)
        ]
        low = [m / max(run.wall_seconds for run in r.runs) for m, r in zip(mb, rows, strict=True)]
        high = [m / min(run.wall_seconds for run in r.runs) for m, r in zip(mb, rows, strict=True)]
        colors = ["tab:blue" if r.kind == "asyncmig" else "tab:gray" for r in rows]
        ax.barh(
            [r.label for r in rows],
            mid,
            color=colors,
            xerr=[
                [m - lo for m, lo in zip(mid, low, strict=True)],
                [hi - m for m, hi in zip(mid, high, strict=True)],
            ],
        )
        ax.set_title(f"{'many files' if shape == 'many' else 'few big files'}, {size_label(size)}")
        ax.set_xlabel("MB/s of JSON (median; whiskers: slowest and fastest run)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
