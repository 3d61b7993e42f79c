"""The rejects file lists every record not migrated, with errors and original; --max-rejects."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from conftest import run_cli
from oracle import expected, parse_entries

import asyncmig
from asyncmig.output.rejects import split_error

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks.generate import GenerateResult


def read_lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def entry_at(root: Path, rel: str, index: int) -> Any:
    """The oracle's reading of entry ``index`` of ``rel``."""
    raw = (root / rel).read_bytes()
    entries, _ = parse_entries(raw, array=raw.lstrip()[:1] == b"[")
    return entries[index]


@pytest.mark.anyio
async def test_every_record_not_migrated_is_listed_with_its_original(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    root = trap_root.root
    rejects = tmp_path / "rejects.jsonl"
    report = await asyncmig.migrate(
        asyncmig.Options(data_dir=root, db=tmp_path / "r.db", workers=2, rejects=rejects)
    )
    want = expected(root, migrated_at=report.migrated_at)
    lines = read_lines(rejects)
    assert report.rejects_file == str(rejects)
    assert report.rejects_lines == len(lines)
    by_outcome: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_outcome.setdefault(line["outcome"], []).append(line)

    def places(outcome: str) -> list[tuple[str, int]]:
        return sorted((line["file"], line["index"]) for line in by_outcome.get(outcome, []))

    assert places("rejected") == sorted(want.rejected)
    assert places("duplicate") == sorted(want.duplicates)
    orphaned = Counter(line["table"] for line in by_outcome["orphaned"])
    assert orphaned == {t: c.orphaned for t, c in want.counts.items() if c.orphaned}
    for line in by_outcome["orphaned"]:
        assert line["file"].rsplit("/", 1)[0] in want.orphan_folders
    assert {line["file"]: line["index"] for line in by_outcome["damaged"]} == want.damaged
    moved = [(x["table"], x["file"], x["index"], x["id"]) for x in by_outcome["rekeyed"]]
    assert moved == [(t, f, i, str(new)) for t, f, i, _, new in want.rekeys]
    assert set(by_outcome) == {"rejected", "duplicate", "orphaned", "damaged", "rekeyed"}

    for line in [*by_outcome["rejected"], *by_outcome["duplicate"], *by_outcome["orphaned"]]:
        assert line["errors"], line
        original = entry_at(root, line["file"], line["index"])
        if line["table"] != "provider_keys":
            assert line["record"] == original, line
        if line["offset"] is not None:
            text = (root / line["file"]).read_bytes()[line["offset"] :].decode("utf-8", "replace")
            assert json.JSONDecoder().raw_decode(text)[0] == original, line
    for line in by_outcome["rejected"]:
        assert all(e["path"].startswith("$") for e in line["errors"]), line
    for line in by_outcome["damaged"]:
        assert line["offset"] is not None
        assert line["record"] is None
        assert line["errors"][0]["message"]


async def _counts(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT key, value FROM asyncmig_run").fetchall())


@pytest.mark.anyio
async def test_max_rejects_stops_the_run(trap_root: GenerateResult, tmp_path: Path) -> None:
    options = asyncmig.Options(
        data_dir=trap_root.root,
        db=tmp_path / "m.db",
        workers=1,
        batch_size=1,
        max_rejects=3,
        rejects=tmp_path / "m.jsonl",
    )
    with pytest.raises(asyncmig.TooManyRejects) as stop:
        await asyncmig.migrate(options)
    report = stop.value.report
    assert report.exit_code == 4
    assert report.stopped is not None
    assert "more than --max-rejects 3" in report.stopped
    totals = report.totals
    assert totals.rejected + totals.duplicate + totals.orphaned == 4, "one at a time: 4 > 3"
    on_disk = [p for p in trap_root.root.rglob("*.json") if p.is_file()]
    assert len(report.files) < len(on_disk), "the run stopped before the last file"
    assert report.files[-1].status in ("stopped", "migrated", "damaged", "orphaned")
    assert len(read_lines(tmp_path / "m.jsonl")) >= 4
    assert (await _counts(tmp_path / "m.db"))["status"] != "complete"


def test_max_rejects_exit_code_and_outputs(trap_root: GenerateResult, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    done = run_cli(
        "--data-dir",
        trap_root.root,
        "--db",
        tmp_path / "x.db",
        "--max-rejects",
        "2",
        "--report",
        report_path,
    )
    assert done.returncode == 4, done.stderr
    assert "asyncmig: stopped:" in done.stderr
    assert "stopped early:" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("rejects file: ")
    document = json.loads(report_path.read_text())
    assert document["exit_status"] == 4
    assert document["stopped"]
    generous = run_cli(
        "--data-dir", trap_root.root, "--db", tmp_path / "y.db", "--max-rejects", "100000"
    )
    assert generous.returncode == 3, generous.stderr


def test_max_rejects_zero_passes_clean_data(clean_root: GenerateResult, tmp_path: Path) -> None:
    done = run_cli("--data-dir", clean_root.root, "--db", tmp_path / "c.db", "--max-rejects", "0")
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.glob("*.jsonl")) == [], "an empty default rejects file is removed"
    assert done.stdout.rstrip().splitlines()[-1] == "rejects file: none written"


def test_default_rejects_file_sits_beside_the_database(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    db = tmp_path / "out" / "octo.db"
    done = run_cli("--data-dir", trap_root.root, "--db", db)
    assert done.returncode == 3
    (rejects,) = db.parent.glob("octo.rejects-*.jsonl")
    lines = read_lines(rejects)
    assert done.stdout.rstrip().splitlines()[-1] == f"rejects file: {rejects} ({len(lines)} lines)"
    assert rejects.stat().st_mode & 0o077 == 0, "records of other people: owner only"


def test_dry_run_writes_a_rejects_file_only_when_asked(
    trap_root: GenerateResult, tmp_path: Path
) -> None:
    asked = tmp_path / "asked.jsonl"
    done = run_cli(
        "--data-dir", trap_root.root, "--db", tmp_path / "d.db", "--dry-run", "--rejects", asked
    )
    assert done.returncode == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["asked.jsonl"]
    assert read_lines(asked)


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        ("$.id: bad", "$.id", "bad"),
        ("$.items[0].url: Expected `str`: really", "$.items[0].url", "Expected `str`: really"),
        ("orphan: no project", None, "orphan: no project"),
    ],
)
def test_errors_are_split_at_their_json_path(text: str, path: str | None, message: str) -> None:
    error = split_error(text)
    assert (error.path, error.message) == (path, message)


@pytest.mark.parametrize("flag", ["--rejects", "--report", "--log-file"])
def test_an_output_that_cannot_be_written_is_refused_first(
    clean_root: GenerateResult, tmp_path: Path, flag: str
) -> None:
    db = tmp_path / "o.db"
    # A missing folder is made (issue 11), so the output goes under a file: no folder there.
    done = run_cli("--data-dir", clean_root.root, "--db", db, flag, "/dev/null/such")
    assert done.returncode == 2, done.stderr
    assert "asyncmig: error: cannot write the" in done.stderr
    assert not db.exists(), "refused before the database is made"
