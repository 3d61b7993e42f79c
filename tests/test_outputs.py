"""What the operator sees: progress on a terminal and in a pipe, logs, the JSON report."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from conftest import PROJECT_ROOT, run_cli

import asyncmig
from asyncmig.output.progress import Tracker
from asyncmig.output.report import COLUMNS
from asyncmig.output.reportfile import SCHEMA_VERSION
from asyncmig.results import Counts

if TYPE_CHECKING:
    from benchmarks.generate import GenerateResult

_PROGRESS = re.compile(
    r"asyncmig: progress +(\d+)% of [\d.,]+ MB, file \d+/\d+, [\d,]+ records "
    r"\([\d,]+ records/s, [\d.,]+ MB/s\), ETA [\d:?]+"
)


def run_on_a_terminal(*args: str | Path) -> tuple[int, str, str]:
    """``python -m asyncmig`` with stderr on a pseudo-terminal and stdout on a pipe."""
    controller, terminal = os.openpty()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "TERM": "xterm-256color",
        "COLUMNS": "160",
    }
    env.pop("NO_COLOR", None)
    with subprocess.Popen(
        [sys.executable, "-m", "asyncmig", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
    ) as process:
        os.close(terminal)
        seen = bytearray()
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            seen += chunk
        assert process.stdout is not None
        stdout = process.stdout.read().decode()
        code = process.wait(timeout=60)
    os.close(controller)
    return code, stdout, seen.decode("utf-8", "replace")


def test_progress_bar_on_a_terminal(trap_root: GenerateResult, tmp_path: Path) -> None:
    code, stdout, terminal = run_on_a_terminal(
        "--data-dir", trap_root.root, "--db", tmp_path / "t.db"
    )
    assert code == 3, terminal
    assert "\x1b[" in terminal, "a live display draws with escape codes"
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)
    assert "100%" in plain
    for text in ("migrating", "MB/s", "records/s", "ETA", "provider_keys", "chat_messages"):
        assert text in plain, text
    assert "\x1b" not in stdout, "the summary on a pipe is plain text"
    assert re.search(r"^total +[\d,]+", stdout, re.MULTILINE)


def test_progress_lines_in_a_pipe(trap_root: GenerateResult, tmp_path: Path) -> None:
    done = run_cli(
        "--data-dir", trap_root.root, "--db", tmp_path / "p.db", "--progress-interval", "0"
    )
    assert done.returncode == 3, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("asyncmig: progress")]
    assert len(lines) > 10
    assert "\r" not in done.stderr
    assert "\x1b" not in done.stderr
    percents = []
    for line in lines:
        match = _PROGRESS.match(line)
        assert match, line
        percents.append(int(match[1]))
    assert percents == sorted(percents), "bytes consumed never go back"
    assert any("now chat_storage/chat_data/" in line for line in lines), "the file in flight"
    assert any("chat_messages " in line for line in lines), "counts per table"
    assert "asyncmig: progress" not in done.stdout


def test_quiet_silences_progress_and_warnings(trap_root: GenerateResult, tmp_path: Path) -> None:
    done = run_cli(
        "--data-dir",
        trap_root.root,
        "--db",
        tmp_path / "q.db",
        "--progress-interval",
        "0",
        "--quiet",
    )
    assert done.returncode == 3
    assert done.stderr == ""
    assert "total" in done.stdout
    failing = run_cli("--data-dir", tmp_path / "none", "--db", tmp_path / "n.db", "--quiet")
    assert failing.returncode == 2
    assert "asyncmig: error:" in failing.stderr, "errors still show"
    both = run_cli("--quiet", "--verbose", "--db", tmp_path / "b.db")
    assert both.returncode == 2


@pytest.mark.anyio
async def test_the_library_is_silent_by_default(
    trap_root: GenerateResult, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    await asyncmig.migrate(asyncmig.Options(data_dir=trap_root.root, db=tmp_path / "l.db"))
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_verbose_and_log_file(trap_root: GenerateResult, tmp_path: Path) -> None:
    log_file = tmp_path / "run.log"
    done = run_cli("--data-dir", trap_root.root, "--db", tmp_path / "v.db", "--log-file", log_file)
    assert done.returncode == 3
    assert "INFO" not in done.stderr, "the console keeps its level"
    logged = log_file.read_text()
    assert " DEBUG " in logged, "the file gets everything, whatever the console shows"
    assert re.search(
        r" INFO provider_key_storage/provider_keys.json: migrated, \d+ record\(s\), \d+ upgraded,"
        r" \d+ rejected, \d+ duplicate, \d+ orphaned, \d+ re-keyed, \d+ superseded, [\d.]+ s",
        logged,
    )
    assert " INFO project_storage/projects.json: opened (" in logged
    verbose = run_cli("--data-dir", trap_root.root, "--db", tmp_path / "w.db", "--verbose")
    assert "asyncmig: INFO: project_storage/projects.json: opened (" in verbose.stderr
    rejected = [line for line in verbose.stderr.splitlines() if "rejected): $" in line]
    assert len(rejected) == _tables(verbose.stdout)["total"].rejected > 0


class _Row:
    def __init__(self, values: list[int]) -> None:
        self.found, self.migrated, self.upgraded, self.rejected, *_ = values


def _tables(summary: str) -> dict[str, _Row]:
    """The summary's table, read back from plain text."""
    rows = {}
    for line in summary.splitlines():
        parts = line.split()
        # The superseded column is shown only when a record was superseded.
        shown = len(parts) - 1 in (len(COLUMNS), len(COLUMNS) - 1)
        if shown and parts[1].replace(",", "").isdigit():
            rows[parts[0]] = _Row([int(p.replace(",", "")) for p in parts[1:]])
    return rows


def test_report_is_versioned_json_replaced_whole(trap_root: GenerateResult, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text("an older report, twice as long as it would need to be " * 1000)
    with path.open() as old:
        done = run_cli("--data-dir", trap_root.root, "--db", tmp_path / "r.db", "--report", path)
        assert old.read().startswith("an older report"), "readers of the old file see it whole"
    assert done.returncode == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []
    document = json.loads(path.read_text())
    _check_schema(document)
    assert document["exit_status"] == 3
    assert document["dry_run"] is False
    lines = len(Path(document["rejects_file"]).read_text().splitlines())
    assert document["rejects_lines"] == lines > 0
    summary = _tables(done.stdout)
    for table, counts in document["tables"].items():
        assert counts["found"] == summary[table].found
    assert document["totals"]["migrated"] == summary["total"].migrated


def _check_schema(document: dict[str, Any]) -> None:
    assert document["schema_version"] == SCHEMA_VERSION
    types = {
        "data_dir": str,
        "db": str,
        "dry_run": bool,
        "migrated_at": int,
        "tables": dict,
        "files": list,
        "rejections": list,
        "warnings": list,
        "elapsed": float,
        "bytes_read": int,
        "options": dict,
        "rejects_lines": int,
        "peak_memory": dict,
        "totals": dict,
        "records_per_second": float,
        "megabytes_per_second": float,
        "exit_status": int,
    }
    for key, kind in types.items():
        assert isinstance(document[key], kind), key
    for counts in (*document["tables"].values(), document["totals"]):
        assert set(counts) == {field.name for field in msgspec.structs.fields(Counts)}
        assert all(isinstance(v, int) for v in counts.values())
    for outcome in document["files"]:
        assert {"path", "status", "table", "records", "seconds"} <= set(outcome)
    for rejection in document["rejections"]:
        assert {"path", "index", "table", "outcome", "record_id", "errors"} <= set(rejection)
    assert document["options"]["data_dir"] == document["data_dir"]
    assert document["peak_memory"]["main_bytes"] > 1_000_000
    assert document["peak_memory"]["largest_child_bytes"] > 1_000_000, "parsers are measured"


@pytest.mark.anyio
async def test_terminal_summary_is_a_table_with_the_same_words(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    from rich.console import Console  # noqa: PLC0415 - only this test draws on a terminal

    from asyncmig.output.display import print_summary  # noqa: PLC0415

    report = await asyncmig.migrate(
        asyncmig.Options(data_dir=trap_root.root, db=tmp_path / "s.db", rejects=tmp_path / "r")
    )
    screen = io.StringIO()
    print_summary(report, Console(file=screen, width=140, force_terminal=True, color_system=None))
    drawn = screen.getvalue()
    plain = report.summary()
    rows = _tables(drawn)
    assert rows.keys() == _tables(plain).keys()
    assert rows["total"].found == report.totals.found
    assert rows["chat_messages"].rejected == report.tables["chat_messages"].rejected
    assert drawn.rstrip().splitlines()[-1] == plain.splitlines()[-1]
    assert plain.splitlines()[-1].startswith(f"rejects file: {tmp_path / 'r'} (")


class _Recorder(Tracker):
    """A progress sink that checks what the pipeline tells it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []
        self.finished = 0

    def advance(self, table: str, records: int, position: int) -> None:
        super().advance(table, records, position)
        assert position <= self.size, "a position inside the file"
        self.seen.append(self.consumed)

    def file_done(self) -> None:
        super().file_done()
        self.seen.append(self.consumed)

    def finish(self) -> None:
        self.finished += 1


@pytest.mark.anyio
@pytest.mark.parametrize("whole_file_limit", ["16777216", "0"])
async def test_progress_follows_the_writer_through_the_plan(
    trap_root: GenerateResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    whole_file_limit: str,
) -> None:
    monkeypatch.setenv("ASYNCMIG_WHOLE_FILE_LIMIT", whole_file_limit)
    recorder = _Recorder()
    options = asyncmig.Options(data_dir=trap_root.root, db=tmp_path / "p.db", batch_size=5)
    report = await asyncmig.migrate(options, recorder)
    assert recorder.total_bytes == report.bytes_read
    assert (
        recorder.files == recorder.files_done == sum(f.path.endswith(".json") for f in report.files)
    )
    assert recorder.seen == sorted(recorder.seen), "bytes consumed never go back"
    assert recorder.seen[-1] == recorder.total_bytes
    migrated_tables = {t: c.found for t, c in report.tables.items() if c.found}
    assert recorder.tables == migrated_tables
    assert recorder.records == report.totals.found
    assert recorder.finished == 1
    if whole_file_limit == "0":  # the scanner knows where records sit: progress inside files
        inside = [b for a, b in itertools.pairwise(recorder.seen) if a < b]
        assert len(inside) > recorder.files_done
