"""Issue 11's landings tried again by hand, as a hostile user would: full disks, signals
and kills at moments the other tests do not try, dry runs, odd summaries, secrets and
progress. Each test here failed before the change it names. Real ``python -m asyncmig``
processes on the generated roots (or private copies of them)."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_cli

if TYPE_CHECKING:
    from benchmarks.generate import GenerateResult

BATCH = ("--batch-size", "5")


@pytest.fixture
def data(trap_root: GenerateResult, tmp_path: Path) -> Path:
    """A private copy of the trap root, free to edit."""
    return Path(shutil.copytree(trap_root.root, tmp_path / "data", symlinks=True))


def listed(*files: Path) -> set[tuple[str, int | None, str]]:
    """(file, index, outcome) of every line of these rejects files."""
    found = set()
    for path in files:
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            found.add((entry["file"], entry["index"], entry["outcome"]))
    return found


# --- the rejects file of a killed run ---------------------------------------------------


@pytest.mark.parametrize("point", ["commit:8", "commit:30"])
def test_a_killed_runs_rejects_file_lists_what_its_checkpoint_committed(
    point: str, trap_root: GenerateResult, tmp_path: Path
) -> None:
    """A resume names the earlier run's rejects file as listing the records that run did
    not migrate: after a SIGKILL, it must (lines were held in a buffer past the commit)."""
    whole = tmp_path / "whole.jsonl"
    clean = run_cli(
        "--data-dir", trap_root.root, "--db", tmp_path / "c.db", *BATCH, "--no-backup",
        "--rejects", whole,
    )  # fmt: skip
    assert clean.returncode == 3, clean.stderr
    db, first, second = tmp_path / "o.db", tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    killed = run_cli(
        "--data-dir", trap_root.root, "--db", db, *BATCH, "--no-backup", "--rejects", first,
        env={"ASYNCMIG_KILL_AT": point},
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = run_cli(
        "--data-dir", trap_root.root, "--db", db, *BATCH, "--resume", "--rejects", second
    )
    assert resumed.returncode == 3, resumed.stderr
    assert f"the records they did not migrate):\n  {first}" in resumed.stdout
    assert listed(first, second) == listed(whole)
