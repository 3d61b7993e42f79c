"""The run's options: one frozen Struct, its paths converted and its numbers checked once."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

import msgspec

from asyncmig.errors import ConfigError, one_line

if TYPE_CHECKING:
    from collections.abc import Sequence

    StrPath = str | bytes | os.PathLike[str]

DEFAULT_DATA_DIR: Final = Path("packages/server/data")
DEFAULT_DB: Final = Path("data/octoprompt.db")
DEFAULT_BATCH_SIZE: Final = 10_000
DEFAULT_BATCH_BYTES: Final = 4 * 1024 * 1024
STATE_NAME: Final = ".migration-state.json"

#: The accepted range of each number (both ends included): the command line's option types
#: and :class:`Options` check against this one table. The upper ends keep a typo (``10**30``)
#: from reaching the parser processes' wire format or starting a thousand processes.
BOUNDS: Final[dict[str, tuple[int, int]]] = {
    "batch_size": (1, 1_000_000),
    "batch_bytes": (1, 1 << 30),
    "workers": (1, 64),
    "max_rejects": (0, 10**12),
}
#: ``--progress-interval`` in seconds (0: a line at every update), at most a day.
INTERVAL_BOUNDS: Final = (0.0, 86_400.0)

_PATHS: Final = ("data_dir", "db", "backup_dir", "state_file", "rejects")
_FLAGS: Final = ("dry_run", "strict", "include_orphans", "resume", "force", "backup")


def _path(name: str, value: object) -> Path:
    """An option's path as a ``Path``, ``~`` expanded; ConfigError when it is none."""
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if not isinstance(value, str | os.PathLike):
        raise ConfigError(
            f"Options.{name} must be a path (str, bytes or os.PathLike), got {value!r}"
        )
    try:
        return Path(value).expanduser()
    except RuntimeError as error:  # no home folder to expand ~ to
        raise ConfigError(f"Options.{name} {value}: {error}") from None


def default_workers() -> int:
    """One parser process per core the writer leaves free, at least one, at most four."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def program() -> str:
    """How the user ran asyncmig, for usage lines and the commands printed to run next:
    ``asyncmig`` from the console script, else ``python -m asyncmig``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "asyncmig" if name == "asyncmig" else "python -m asyncmig"


def shell_word(word: str | Path) -> str:
    """``word`` quoted for a POSIX shell (bash's ``$'...'`` when it holds a control
    character, so a printed command stays one line and still names the file)."""
    text = str(word)
    if one_line(text) == text:
        return shlex.quote(text)
    return "$'" + one_line(text.replace("\\", "\\\\").replace("'", "\\'")) + "'"


def command(words: Sequence[str | Path]) -> str:
    """A command line to print: the program, then each word quoted."""
    return " ".join([program(), *map(shell_word, words)])


def check_number(name: str, value: object) -> None:
    """ConfigError unless ``value`` is an integer in ``BOUNDS[name]``."""
    low, high = BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        what = "a positive integer" if low == 1 else "a whole number"
        flag = "--" + name.replace("_", "-")
        raise ConfigError(f"{flag} must be {what} of at most {high:,}, got {value!r}")


class Options(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a run needs to know, checked once when it is built (ConfigError).

    Paths may be given as ``str``, ``bytes`` or any ``os.PathLike``; they are stored as
    ``Path``, a leading ``~`` expanded (as a shell would; no one means a folder named
    ``~``). ``data_dir`` and ``db`` may not be None. ``batch_size``, ``batch_bytes``,
    ``workers`` and ``max_rejects`` must lie in :data:`BOUNDS`; the flags must be ``bool``
    (``force="false"`` is not false); ``resume`` and ``force`` exclude each other, and
    ``backup_dir`` needs ``backup`` (or ``force``, whose old database goes there)."""

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
    #: The database to write (``--target``): None, the default (``octoprompt-0.6``), or
    #: on ``--resume`` the one the database records.
    target: str | None = None

    if TYPE_CHECKING:  # what the constructor accepts; msgspec makes the real one

        def __init__(
            self,
            *,
            data_dir: StrPath = ...,
            db: StrPath = ...,
            batch_size: int = ...,
            batch_bytes: int = ...,
            workers: int = ...,
            dry_run: bool = ...,
            strict: bool = ...,
            include_orphans: bool = ...,
            resume: bool = ...,
            force: bool = ...,
            backup: bool = ...,
            backup_dir: StrPath | None = ...,
            state_file: StrPath | None = ...,
            rejects: StrPath | None = ...,
            max_rejects: int | None = ...,
            target: str | None = ...,
        ) -> None: ...

    @property
    def resume_command(self) -> str:
        """The command line that finishes this run after an interruption."""
        words: list[str | Path] = ["--data-dir", self.data_dir, "--db", self.db, "--resume"]
        if self.state_file is not None:
            words += ["--state-file", self.state_file]
        words += ["--strict"] * self.strict + ["--include-orphans"] * self.include_orphans
        if self.target is not None:
            words += ["--target", self.target]
        return command(words)

    def rollback_command(self, backup: Path) -> str:
        """The command line that undoes this run and restores ``backup``."""
        words: list[str | Path] = ["rollback", "--db", self.db]
        if self.state_file is not None:
            words += ["--state-file", self.state_file]
        return command([*words, "--data-dir", self.data_dir, "--restore", backup])

    @property
    def backup_parent(self) -> Path:
        return self.backup_dir if self.backup_dir is not None else self.db.parent

    @property
    def state_path(self) -> Path:
        return self.state_file if self.state_file is not None else self.db.parent / STATE_NAME

    def __post_init__(self) -> None:
        for name in _PATHS:
            value = getattr(self, name)
            if value is not None or name in ("data_dir", "db"):
                msgspec.structs.force_setattr(self, name, _path(name, value))
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"Options.{name} must be True or False, got {getattr(self, name)!r}"
                )
        for name in ("batch_size", "batch_bytes", "workers"):
            check_number(name, getattr(self, name))
        if self.max_rejects is not None:
            check_number("max_rejects", self.max_rejects)
        if self.resume and self.force:
            raise ConfigError("--resume continues a migration and --force starts over: pick one")
        if self.backup_dir is not None and not (self.backup or self.force):
            # Only --force still puts something there (the database it replaces).
            raise ConfigError(
                f"--no-backup makes no backup, so --backup-dir {self.backup_dir} would not be "
                "used: drop one of the two"
            )
