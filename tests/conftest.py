"""Shared fixtures: seeded data roots, a migration runner, and database readers."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks.generate import GenerateResult, generate

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Seed of the shared trap data root; override with ASYNCMIG_TEST_SEED to explore others.
SEED = int(os.environ.get("ASYNCMIG_TEST_SEED", "20261125"))
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # aiosqlite runs on asyncio only.
    return "asyncio"


@pytest.fixture(scope="session")
def trap_root(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    """A small generated data root holding every awkward case the generator knows, with
    ids colliding as the real servers' did (5 % of project files and messages)."""
    root = tmp_path_factory.mktemp("traps") / "data"
    print(f"trap data root seed: {SEED}")
    return generate(root, size_bytes=600_000, shape="many", seed=SEED, traps=True, collide=0.05)


@pytest.fixture(scope="session")
def clean_root(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    """A small generated data root with valid records only."""
    root = tmp_path_factory.mktemp("clean") / "data"
    print(f"clean data root seed: {SEED}")
    return generate(root, size_bytes=400_000, shape="many", seed=SEED, traps=False)


def run_cli(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m asyncmig`` in a real subprocess (``env`` adds to the environment)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "asyncmig", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def db_rows(db: Path, table: str) -> dict[str, tuple[str, Any, Any]]:
    """Every row of ``table``: id -> (data text, created_at, updated_at)."""
    with closing(sqlite3.connect(db)) as conn:
        return {
            row[0]: (row[1], row[2], row[3])
            for row in conn.execute(f"SELECT id, data, created_at, updated_at FROM {table}")  # noqa: S608
        }


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """Path -> (sha256, mode) of every file under ``root``."""
    found: dict[str, tuple[str, int]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[path.relative_to(root).as_posix()] = (digest, path.stat().st_mode)
    return found


def files_under(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())
