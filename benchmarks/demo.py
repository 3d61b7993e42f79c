"""``python -m benchmarks.demo``: make a sample OctoPrompt data root and migrate it.

The sample (20 MB, seeded) holds every awkward case the generator knows: legacy shapes,
invalid records, orphans, duplicates, damaged files and files that are not migrated, so
the summary shows each outcome. It is written to ``sample-data/`` and migrated into
``sample-data/octoprompt.db``; both are remade on every run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.generate import generate

SAMPLE = Path("sample-data")


def main() -> int:
    shutil.rmtree(SAMPLE, ignore_errors=True)
    result = generate(
        SAMPLE / "data", size_bytes=20 * 1024 * 1024, shape="many", seed=1, traps=True
    )
    print(
        f"generated {result.files_written} files, {result.bytes_written:,} bytes of JSON "
        f"(seed {result.seed}) in {result.root}",
        file=sys.stderr,
    )
    command = [
        sys.executable,
        "-m",
        "asyncmig",
        "--data-dir",
        str(result.root),
        "--db",
        str(SAMPLE / "octoprompt.db"),
        *sys.argv[1:],
    ]
    print("$", " ".join(command[1:]).replace("-m asyncmig", "python -m asyncmig"), file=sys.stderr)
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
