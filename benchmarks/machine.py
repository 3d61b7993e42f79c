"""A description of the machine a result set was measured on: CPU, memory, versions, load."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
from pathlib import Path


def _run(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return ""
    return done.stdout.strip()


def describe() -> dict[str, str]:
    """What the result set needs to be read fairly; ``summary`` is one line for the README."""
    lscpu = _run("lscpu")
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    model = fields.get("Model name", platform.processor() or "unknown CPU").strip()
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem_kb = next(
        (int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0
    )
    cpus = os.cpu_count() or 0
    info = {
        "cpu": model,
        "cpus": str(cpus),
        "memory": f"{mem_kb / 1024**2:.1f} GiB",
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        "commit": _run("git", "rev-parse", "--short", "HEAD"),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "lscpu": lscpu,
    }
    info["summary"] = (
        f"{cpus} x {model}, {info['memory']} RAM, Linux {info['kernel']}, Python {info['python']},"
        f" SQLite {info['sqlite']}, commit {info['commit'] or 'unknown'}"
    )
    return info
