"""The argparse declarations: ``python -m asyncmig`` and its migrate, verify and rollback."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from asyncmig import __version__
from asyncmig import options as opts
from asyncmig.errors import ConfigError, one_line
from asyncmig.output.progress import DEFAULT_INTERVAL
from asyncmig.targets import NAMES

if TYPE_CHECKING:
    from collections.abc import Callable


class _Parser(argparse.ArgumentParser):
    """Bad usage raises ConfigError (argparse would print and exit): main() reports it."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _int_in(name: str, what: str) -> Callable[[str], int]:
    """An argparse type: an integer in ``opts.BOUNDS[name]``."""
    low, high = opts.BOUNDS[name]

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # not a number, or more digits than int() reads
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {one_line(repr(text))}")
        if value > high:
            raise argparse.ArgumentTypeError(f"expected at most {high:,}, got {text!r:.40}")
        return value

    return convert


def _seconds(text: str) -> float:
    """An argparse type: a finite number of seconds in ``opts.INTERVAL_BOUNDS``."""
    low, high = opts.INTERVAL_BOUNDS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # nan compares false: refused too
        raise argparse.ArgumentTypeError(
            f"expected seconds between {low:g} and {high:g}, got {one_line(repr(text))}"
        )
    return value


def _file(text: str) -> Path:
    """An argparse type: the path of a file. ``Path`` drops a trailing ``/``, which turned
    ``--report reports/`` (a folder to make) into a file named ``reports``."""
    if text.endswith(("/", os.sep)) and text.strip("/" + os.sep):
        raise argparse.ArgumentTypeError(
            f"{one_line(text)} ends with /, so it names a folder: name a file in it"
        )
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    """``python -m asyncmig`` (or ``asyncmig``, as it was run) and its subcommands, each
    parsed by its own subparser."""
    parser = _Parser(prog=opts.program())
    _add_version(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_migrate(commands)
    _add_verify(commands)
    _add_rollback(commands)
    return parser


def _add_migrate(commands: argparse._SubParsersAction[_Parser]) -> None:
    prog = opts.program()
    parser = commands.add_parser(
        "migrate",
        prog=prog,
        help="migrate the JSON data directory (the default command)",
        description="Migrate an OctoPrompt JSON data directory into the SQLite database "
        "that the OctoPrompt v0.6.0 server opens (the migration guide's), or with --target "
        "promptliano-0.12 the one Promptliano v0.12 opens. The JSON files are only read.",
        epilog="Exit status: 0 everything migrated; 3 finished, but records were rejected, "
        "orphaned or duplicated, or files were damaged (see the summary); 4 stopped by "
        "--max-rejects; 2 bad usage or configuration; 1 any other failure; 130 interrupted. "
        f"Other commands: {prog} verify --help, {prog} rollback --help",
    )
    _add_version(parser)
    add = parser.add_argument
    _add_paths(parser, "the JSON data root to read", None)
    add(
        "--db",
        type=_file,
        metavar="PATH",
        help=f"the SQLite database to create (default: {opts.DEFAULT_DB} for octoprompt-0.6; "
        "for promptliano-0.12 where its server looks: $DATABASE_PATH, else "
        "$PROMPTLIANO_DATA_DIR/promptliano.db, else ${XDG_DATA_HOME:-~/.local/share}/"
        "promptliano/promptliano.db on Linux, ~/Library/Application Support/Promptliano/ on "
        "macOS, %%APPDATA%%/Promptliano/ on Windows)",
    )
    add(
        "--target",
        choices=NAMES,
        help="the server that will open the database: octoprompt-0.6 (the default; the "
        "OctoPrompt v0.6.0 server of the migration guide) or promptliano-0.12 (Promptliano "
        "v0.12, what OctoPrompt became; OctoPrompt v0.9+ and Promptliano do not read a "
        "v0.6.0 database). --resume uses the target the database records",
    )
    add(
        "--batch-size",
        type=_int_in("batch_size", "a positive integer"),
        metavar="N",
        default=opts.DEFAULT_BATCH_SIZE,
        help="rows per transaction, at most (default: %(default)s; a batch also ends at "
        f"{opts.DEFAULT_BATCH_BYTES // 2**20} MiB of JSON)",
    )
    _add_workers(parser)
    add(
        "--dry-run",
        action="store_true",
        help="read and validate everything, report what would happen, write nothing",
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "--verbose", action="store_true", help="log every file and every rejected record on stderr"
    )
    loudness.add_argument(
        "--quiet", action="store_true", help="no progress and no warnings on stderr, errors only"
    )
    _add_run_options(parser)
    _add_output_options(parser)


def _add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")


def _add_paths(parser: argparse.ArgumentParser, data_dir: str, db: str | None) -> None:
    """``--data-dir`` and ``--db`` (unless ``db`` is None: the command declares its own),
    with their defaults, described as the command uses them."""
    for flag, default, what in (
        ("--data-dir", opts.DEFAULT_DATA_DIR, data_dir),
        ("--db", opts.DEFAULT_DB, db),
    ):
        if what is None:
            continue
        kind = _file if flag == "--db" else Path
        parser.add_argument(
            flag, type=kind, metavar="PATH", default=default, help=f"{what} (default: %(default)s)"
        )


def _add_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=_int_in("workers", "a positive integer"),
        metavar="N",
        default=opts.default_workers(),
        help="parser processes reading files concurrently (default: %(default)s)",
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--strict",
        action="store_true",
        help="do not upgrade known legacy record shapes: reject them",
    )
    add(
        "--include-orphans",
        action="store_true",
        help="migrate files and messages whose project or chat is missing or rejected",
    )
    add(
        "--resume",
        action="store_true",
        help="finish the migration an earlier run left incomplete (or bring a finished one up "
        "to date with changed files): what is committed is kept, the rest is migrated",
    )
    add(
        "--force",
        action="store_true",
        help="start over although the database holds a migration or data: it is first moved "
        "into the backup folder",
    )
    add(
        "--no-backup",
        action="store_true",
        help="do not copy the data root (and an existing database) into a backup folder "
        "first (not recommended)",
    )
    add(
        "--backup-dir",
        type=Path,
        metavar="PATH",
        help="where backup-<timestamp> folders are made (default: beside the database)",
    )
    add(
        "--state-file",
        type=_file,
        metavar="PATH",
        help=f"the progress mirror (default: {opts.STATE_NAME} beside the database)",
    )


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--log-file",
        type=_file,
        metavar="PATH",
        help="append the full log (debug level, whatever the console shows) to PATH",
    )
    add(
        "--report",
        type=_file,
        metavar="PATH",
        help="write the run's report as JSON to PATH (replaced whole, atomically)",
    )
    add(
        "--rejects",
        type=_file,
        metavar="PATH",
        help="the JSON Lines file listing every record not migrated, with its errors and "
        "original (default: beside the database, <db name>.rejects-<time>.jsonl; a dry run "
        "writes one only when given this option)",
    )
    add(
        "--max-rejects",
        type=_int_in("max_rejects", "a whole number"),
        metavar="N",
        help="stop (exit 4) once more than N records were rejected, orphaned or duplicated",
    )
    add(
        "--progress-interval",
        type=_seconds,
        metavar="SECONDS",
        default=DEFAULT_INTERVAL,
        help="when stderr is not a terminal, a progress line this often (default: %(default)s)",
    )


def _add_verify(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = commands.add_parser(
        "verify",
        prog=f"{opts.program()} verify",
        help="check a migrated database against the JSON data directory",
        description="Re-read the JSON data directory and check a migrated database against "
        "it: every table's rows (id, data, created_at, updated_at), the tables and indexes, "
        "PRAGMA integrity_check and WAL mode. Both are only read.",
        epilog="Exit status: 0 everything matches; 3 differences found (listed); 2 bad usage, "
        "a missing database or data directory, or a database that is not a finished asyncmig "
        "migration; 1 any other failure; 130 interrupted.",
    )
    _add_version(parser)
    _add_paths(
        parser, "the JSON data root the database was migrated from", "the migrated SQLite database"
    )
    _add_workers(parser)


def _add_rollback(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = commands.add_parser(
        "rollback",
        prog=f"{opts.program()} rollback",
        help="undo a migration, optionally restoring a backup",
        description="Undo a migration: delete the database, its -wal/-shm files and the state "
        "file, and optionally restore a backup folder the migration made. Asks first.",
        epilog="Exit status: 0 done; 1 not confirmed or failed; 2 bad usage or a refusal "
        "(nothing done); 130 interrupted.",
    )
    _add_version(parser)
    add = parser.add_argument
    add("--db", type=Path, metavar="PATH", default=opts.DEFAULT_DB, help="the migrated database")
    add("--state-file", type=Path, metavar="PATH", help="the state file (default: beside --db)")
    add("--restore", type=Path, metavar="BACKUP", help="a backup-<timestamp> folder to restore")
    add("--data-dir", type=Path, metavar="PATH", help="where --restore copies the files back")
    add("--yes", action="store_true", help="do not ask before deleting")
