"""The benchmark output: targets computed as ratios, the table, the JSON and the charts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from benchmarks.__main__ import main, select_cases
from benchmarks.report import markdown
from benchmarks.runner import Result, Run
from benchmarks.targets import compute

if TYPE_CHECKING:
    from pathlib import Path

GB, MB = 1024**3, 1024**2


def result(case: str, shape: str, size: int, seconds: float, rss_mb: float = 50) -> Result:
    runs = [Run(seconds * f, seconds * f, int(rss_mb * 1e6), int(rss_mb * 1e6), 1) for f in (1, 2)]
    return Result(case, case, "asyncmig", shape, size, size, 1000, False, runs)


def test_targets_are_ratios_of_medians_with_verdicts() -> None:
    results = [
        result("asyncmig", "many", GB, 10, rss_mb=80),  # median of 10 and 20: 15
        result("write-floor", "many", GB, 13),  # 19.5 -> 15 / 19.5 = 0.77x its time
        result("naive", "many", GB, 12),  # 18 / 15 = 1.2x faster: fails 1.3x
        result("naive", "few", 100 * MB, 20),
        result("asyncmig", "few", 100 * MB, 10, rss_mb=60),
        result("asyncmig", "few", 4 * GB, 10, rss_mb=64),
        result("sqlite-utils-nl", "many", GB, 80),  # 120 / 15 = 8x
    ]
    got = {(t.name, t.measured_on): (t.value, t.passed) for t in compute(results)}
    assert got["time vs the write floor", "many files, 1 GB"] == ("0.77x its time", True)
    assert got["faster than the naive script", "many files, 1 GB"] == ("1.20x faster", False)
    # no 1 GB few-files root: the largest measured stands in, and is named
    assert got["faster than the naive script", "few big files, 100 MB"] == ("2.00x faster", True)
    assert got["faster than sqlite-utils --nl", "many files, 1 GB"] == ("8.00x faster", True)
    assert got["faster than sqlite-utils (array)", "many"] == ("-", None)
    assert got["peak RSS, all processes", "many files, 1 GB"] == ("80 MB", True)
    flat = "peak RSS flat: 4 GB within 10 % of 100 MB"
    assert got[flat, "few big files, 4 GB vs 100 MB"] == ("+7%", True)
    assert got[flat, "many"] == ("-", None)
    table = markdown(results, {"summary": "test machine"})
    assert "| 1.20x faster | >= 1.3x | **FAIL** |" in table
    assert "test machine" in table


def test_cases_are_chosen_by_group_or_key_and_extra_arguments_add_one() -> None:
    assert [c.key for c in select_cases("naive,sweeps", [])][:3] == [
        "naive",
        "batch-100",
        "batch-1000",
    ]
    extra = select_cases("asyncmig", ["--workers", "2"])
    assert [(c.key, c.args) for c in extra] == [
        ("asyncmig", ("--no-backup",)),
        ("asyncmig-extra", ("--workers", "2")),
    ]
    with pytest.raises(SystemExit, match="unknown case"):
        select_cases("nope", [])


@pytest.mark.slow
def test_main_writes_table_json_and_charts(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("sqlite_utils")
    argv = ["--sizes", "200KB", "--shapes", "many", "--repeats", "1", "--warmup", "0"]
    argv += ["--cases", "asyncmig,naive,sqlite-utils-nl,sqlite-utils-array"]
    argv += ["--cache", str(tmp_path / "data"), "--work", str(tmp_path / "work")]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    document = json.loads((out / "results.json").read_text())
    assert [r["case"] for r in document["results"]] == [
        "asyncmig",
        "naive",
        "sqlite-utils-nl",
        "sqlite-utils-array",
    ]
    assert all(len(r["runs"]) == 1 for r in document["results"])
    assert "sqlite-utils insert --nl" in (out / "results.md").read_text()
    for chart in ("throughput.png", "memory.png"):
        assert (out / chart).read_bytes().startswith(b"\x89PNG")
    assert "Model name" in (out / "machine.txt").read_text()
    table = (out / "results.md").read_text()
    for made in ("results.md", "throughput.png", "memory.png"):
        (out / made).unlink()
    assert main(["--render", "--out", str(out)]) == 0
    assert (out / "results.md").read_text() == table
    assert (out / "memory.png").read_bytes().startswith(b"\x89PNG")
