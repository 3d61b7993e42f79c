"""``python -m benchmarks.read_paths ROOT``: what reading every file of a data root costs,
with plain blocking reads and with aiofiles, so aiofiles earns its place on the hot read
path by measurement, or does not. Run it twice; the second run reads from the page cache.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import aiofiles
import anyio

if TYPE_CHECKING:
    from collections.abc import Callable

CHUNK = 1024 * 1024


def plain(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                total += len(chunk)
    return total


async def with_aiofiles(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        async with aiofiles.open(path, "rb") as stream:
            while chunk := await stream.read(CHUNK):
                total += len(chunk)
    return total


def timed(label: str, run: Callable[[], int]) -> None:
    started = time.perf_counter()
    total = run()
    seconds = time.perf_counter() - started
    print(
        f"{label:<28} {total / 1e6:9.1f} MB in {seconds:6.2f} s = {total / 1e6 / seconds:7.0f} MB/s"
    )


def main() -> int:
    root = Path(sys.argv[1])
    paths = sorted(p for p in root.rglob("*.json") if p.is_file())
    plain(paths)  # warm the page cache
    timed("plain reads, 1 MiB chunks", lambda: plain(paths))
    timed("aiofiles, 1 MiB chunks", lambda: anyio.run(with_aiofiles, paths, backend="asyncio"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
