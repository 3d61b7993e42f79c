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
STATE_NAME: Final = ".migration-state.json"


def default_workers() -> int:
    """One parser process per core the writer leaves free, at least one, at most four."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


class Options(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a run needs to know, checked once when it is built (ConfigError)."""

    data_dir: Path = DEFAULT_DATA_DIR
    db: Path = DEFAULT_DB
    batch_size: int = DEFAULT_BATCH_SIZE
    #: A batch also ends once its rows hold this many bytes of JSON (flat memory).
    batch_bytes: int = DEFAULT_BATCH_BYTES
    workers: int = msgspec.field(default_factory=default_workers)
    dry_run: bool = False
    strict: bool = False
    include_orphans: bool = False
    #: Continue the interrupted (or since edited) migration ``db`` holds.
    resume: bool = False
    #: Start over although ``db`` holds a migration or data: the old database is moved
    #: into the backup first.
    force: bool = False
    #: Copy the data root (and an existing ``db``) into a backup folder before writing.
    backup: bool = True
    #: Where backup folders go (default: beside the database).
    backup_dir: Path | None = None
    #: The state file (default: ``.migration-state.json`` beside the database).
    state_file: Path | None = None
    #: The JSON Lines file listing every record not migrated, with its original; None: none.
    rejects: Path | None = None
    #: Stop the run once more than this many records were not migrated; None: never.
    max_rejects: int | None = None

    @property
    def resume_command(self) -> str:
        """The command line that finishes this run after an interruption."""
        words = ["python -m asyncmig", "--data-dir", str(self.data_dir), "--db", str(self.db)]
        words.append("--resume")
        if self.state_file is not None:
            words += ["--state-file", str(self.state_file)]
        words += ["--strict"] * self.strict + ["--include-orphans"] * self.include_orphans
        return " ".join(words)

    @property
    def backup_parent(self) -> Path:
        return self.backup_dir if self.backup_dir is not None else self.db.parent

    @property
    def state_path(self) -> Path:
        return self.state_file if self.state_file is not None else self.db.parent / STATE_NAME

    def __post_init__(self) -> None:
        for name in ("batch_size", "batch_bytes", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} must be a positive integer, got {value!r}")
        if self.resume and self.force:
            raise ConfigError("--resume continues a migration and --force starts over: pick one")
        limit = self.max_rejects
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ConfigError(f"--max-rejects must be a whole number, got {limit!r}")
