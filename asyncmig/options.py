"""The run's options: one frozen Struct, validated once when it is built."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import msgspec

from asyncmig.errors import ConfigError

DEFAULT_DATA_DIR: Final = Path("packages/server/data")
DEFAULT_DB: Final = Path("data/octoprompt.db")
DEFAULT_BATCH_SIZE: Final = 10_000
DEFAULT_BATCH_BYTES: Final = 4 * 1024 * 1024


def default_workers() -> int:
    """One parser process per core the writer leaves free, at least one, at most four."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


class Options(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a run needs to know; build it with :meth:`create` to have it checked."""

    data_dir: Path = DEFAULT_DATA_DIR
    db: Path = DEFAULT_DB
    batch_size: int = DEFAULT_BATCH_SIZE
    #: A batch also ends once its rows hold this many bytes of JSON (flat memory).
    batch_bytes: int = DEFAULT_BATCH_BYTES
    workers: int = msgspec.field(default_factory=default_workers)
    dry_run: bool = False
    verbose: bool = False
    strict: bool = False
    include_orphans: bool = False
    #: The JSON Lines file listing every record not migrated, with its original; None: none.
    rejects: Path | None = None
    #: Stop the run once more than this many records were not migrated; None: never.
    max_rejects: int | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "batch_bytes", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} must be a positive integer, got {value!r}")
        limit = self.max_rejects
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ConfigError(f"--max-rejects must be a whole number, got {limit!r}")
