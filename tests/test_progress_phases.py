"""Progress for every phase: the backup (bytes), the load, the finishing steps, verify; and
a last line saying the run is done once any progress was shown."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from conftest import run_cli
from test_outputs import run_on_a_terminal

import asyncmig
from asyncmig.output.progress import Tracker, Unit
from asyncmig.targets.octoprompt import TARGET
from asyncmig.verify.run import verify

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks.generate import GenerateResult


class _Phases(Tracker):
    """A sink that keeps every phase it hears and what each step added."""

    def __init__(self) -> None:
        super().__init__()
        self.heard: list[tuple[str, int, Unit]] = []
        self.steps: dict[str, int] = {}

    def phase(self, name: str, total: int, unit: Unit) -> None:
        super().phase(name, total, unit)
        self.heard.append((name, total, unit))
        self.steps[name] = 0

    def step(self, done: int) -> None:
        super().step(done)
        assert self.phase_name, "a step belongs to a phase"
        self.steps[self.phase_name] += done


def _data_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


@pytest.mark.anyio
async def test_the_library_hears_the_backup_and_the_finishing_steps(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    sink = _Phases()
    report = await asyncmig.migrate(
        asyncmig.Options(data_dir=trap_root.root, db=tmp_path / "o.db"), sink
    )
    assert report.backup is not None
    names = [name for name, _, _ in sink.heard]
    # Issue 11's hand-tried runs: the re-keying after the load is a phase too (trap_root
    # has colliding ids).
    assert names == ["backup", "re-keying", "finishing"], (
        "the backup before the load, the finish after"
    )
    backup_total = sink.heard[0][1]
    assert backup_total == _data_bytes(trap_root.root)
    assert sink.steps["backup"] == backup_total, "every byte of the copy is heard"
    finishing = len(TARGET.finishing())
    assert sink.heard[2] == ("finishing", finishing, "steps")
    assert sink.steps["finishing"] == finishing
    assert sink.records == report.totals.found, "the load in between, as before"


@pytest.mark.anyio
async def test_a_sink_without_phases_still_works(trap_root: GenerateResult, tmp_path: Path) -> None:
    class LoadOnly:
        """The five methods of the load, nothing more (a sink written before phases)."""

        def __init__(self) -> None:
            self.calls = 0

        def start(self, total_bytes: int, files: int) -> None:
            self.calls += 1

        def file(self, path: str, size: int) -> None:
            self.calls += 1

        def advance(self, table: str, records: int, position: int) -> None:
            self.calls += 1

        def file_done(self) -> None:
            self.calls += 1

        def finish(self) -> None:
            self.calls += 1

    sink = LoadOnly()
    report = await asyncmig.migrate(
        asyncmig.Options(data_dir=trap_root.root, db=tmp_path / "o.db"), sink
    )
    assert report.exit_code == 3
    assert sink.calls > len(report.files)


@pytest.mark.anyio
async def test_verify_hears_every_byte_it_checks(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    db = tmp_path / "o.db"
    await asyncmig.migrate(asyncmig.Options(data_dir=clean_root.root, db=db, backup=False))
    sink = _Phases()
    result = await verify(clean_root.root, db, progress=sink)
    assert result.ok
    assert [name for name, _, _ in sink.heard] == ["verify"]
    total = sink.heard[0][1]
    assert total > 0
    assert sink.steps["verify"] == total


def test_every_phase_speaks_in_a_pipe_and_a_last_line_closes_it(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    done = run_cli(
        "--data-dir", trap_root.root, "--db", tmp_path / "p.db", "--progress-interval", "0"
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.splitlines()
    backup = [line for line in lines if line.startswith("asyncmig: backup ")]
    finishing = [line for line in lines if line.startswith("asyncmig: finishing ")]
    assert backup, done.stderr
    assert all(
        re.fullmatch(r"asyncmig: backup +\d+% of [\d.,]+ MB \([\d.,]+ MB/s\)", b) for b in backup
    )
    assert finishing, done.stderr
    steps = len(TARGET.finishing())
    assert finishing[-1] == f"asyncmig: finishing {steps} of {steps} steps"
    first_load = next(i for i, line in enumerate(lines) if line.startswith("asyncmig: progress"))
    assert lines.index(backup[-1]) < first_load < lines.index(finishing[0])
    assert re.fullmatch(
        r"asyncmig: done: migrated [\d,]+ of [\d,]+ records in [\d.]+ s \(exit status 3\)",
        lines[-1],
    )


def test_a_short_run_in_a_pipe_stays_silent(clean_root: GenerateResult, tmp_path: Path) -> None:
    done = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "s.db")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "no progress shown, so no last line either"


def test_the_terminal_shows_each_phase(trap_root: GenerateResult, tmp_path: Path) -> None:
    code, _, terminal = run_on_a_terminal("--data-dir", trap_root.root, "--db", tmp_path / "t.db")
    assert code == 3, terminal
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)
    for text in ("backup", "migrating", "finishing"):
        assert text in plain, text
    assert "asyncmig: done: migrated" in plain
