"""Crash points for the fault-injection tests: ``ASYNCMIG_KILL_AT=point:n`` makes the
process SIGKILL itself the n-th time it reaches ``point``.

A real SIGKILL, at a moment the test chooses exactly (between a batch's insert and its
commit, after the n-th index, in the middle of the backup), which a timer from outside
can only hit by luck. Without the variable, ``reached`` is a function that does nothing.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from typing import Final

#: The points a test can name, where the code calls ``reached``.
POINTS: Final = (
    "create",
    "backup-file",
    "batch",
    "commit",
    "loaded",
    "rekey",
    "rekeyed",
    "convert",
    "index",
    "analyze",
    "optimize",
)


def _parse(spec: str) -> tuple[str, int]:
    point, _, count = spec.partition(":")
    if point not in POINTS or not count.isdigit():
        raise ValueError(f"ASYNCMIG_KILL_AT={spec!r}: expected <point>:<n>, point in {POINTS}")
    return point, int(count)


_TARGET: Final = (
    _parse(os.environ["ASYNCMIG_KILL_AT"]) if "ASYNCMIG_KILL_AT" in os.environ else None
)
_seen: Counter[str] = Counter()


def reached(point: str) -> None:
    """Die here if this is the moment the environment names."""
    if _TARGET is None or point != _TARGET[0]:
        return
    _seen[point] += 1
    if _seen[point] == _TARGET[1]:
        os.kill(os.getpid(), signal.SIGKILL)
