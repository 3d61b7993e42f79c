"""Run one command in a fresh subprocess and measure it: wall and CPU time, peak memory.

Two peaks are kept. ``peak_tree_rss`` is the peak of the *sum* of the resident sets of
the whole process tree (asyncmig's parser processes included), sampled from /proc every
20 ms: the honest number for a tool that runs several processes. ``peak_process_rss`` is
``ru_maxrss`` as the kernel reports it for this one child and the descendants it waited
for (``wait4``): the largest single process, exact, never summed.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
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
    # Output goes to files, not pipes: a chatty child can never block on a full pipe while
    # this loop samples memory instead of reading.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        peak = 0
        while True:
            # wait4, not Popen.poll: it hands back this child's own rusage (its reaped
            # descendants included), where RUSAGE_CHILDREN would mix in earlier runs.
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(_SAMPLE_SECONDS)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    cpu = usage.ru_utime + usage.ru_stime
    return Measurement(process.returncode, wall, cpu, peak, usage.ru_maxrss * 1024, stdout, stderr)


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
