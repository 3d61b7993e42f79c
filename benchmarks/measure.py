"""Run one command in a fresh subprocess and measure it: wall and CPU time, peak memory.

Peak memory is the peak of the *sum* of the resident sets of the whole process tree
(asyncmig's parser processes included), sampled from /proc every 20 ms, alongside the
largest single process's peak as ``getrusage(RUSAGE_CHILDREN)`` reports it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

_PAGE: Final = os.sysconf("SC_PAGE_SIZE")
_SAMPLE_SECONDS: Final = 0.02


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one run of a command cost."""

    returncode: int
    wall_seconds: float
    cpu_seconds: float
    peak_tree_rss: int
    peak_process_rss: int
    stdout: str
    stderr: str


def measure(
    command: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Measurement:
    """Run ``command`` to its end and measure it. Call once per fresh process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(_SAMPLE_SECONDS)
        stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measurement(process.returncode, wall, cpu, peak, after.ru_maxrss * 1024, stdout, stderr)


def _tree_rss(pid: int) -> int:
    return sum(_rss(p) for p in _tree(pid))


def _tree(pid: int) -> list[int]:
    found = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            for child in children:
                found.extend(_tree(int(child)))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0
