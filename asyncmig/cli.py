"""``python -m asyncmig``: arguments in, summary out, and every exit code decided here."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import anyio

from asyncmig import options as opts
from asyncmig.safety import rollback
from asyncmig.errors import AsyncmigError, ConfigError, Interrupted, TooManyRejects, single_errors
from asyncmig.output.console import Outputs, default_rejects
from asyncmig.load.pipeline import migrate
from asyncmig.output.progress import DEFAULT_INTERVAL
from asyncmig.output.report import EXIT_FAILURE, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, Report
from asyncmig.verify.run import verify

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from asyncmig.output.progress import Progress
    from asyncmig.verify.result import Verification

EXIT_INTERRUPTED = 130

log = logging.getLogger("asyncmig")


class Arguments(argparse.Namespace):
    """The parsed command line, one typed attribute per option."""

    data_dir: Path
    db: Path
    batch_size: int
    workers: int
    dry_run: bool
    verbose: bool
    strict: bool
    include_orphans: bool
    resume: bool
    force: bool
    no_backup: bool
    backup_dir: Path | None
    state_file: Path | None
    quiet: bool
    log_file: Path | None
    report: Path | None
    rejects: Path | None
    max_rejects: int | None
    progress_interval: float


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _int_from(minimum: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return convert


_positive_int = _int_from(1, "a positive integer")
_whole_number = _int_from(0, "a whole number")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m asyncmig",
        description="Migrate an OctoPrompt JSON data directory into the SQLite database "
        "that the OctoPrompt v0.6.0 server opens. The JSON files are only read.",
        epilog="Exit status: 0 everything migrated; 3 finished, but records were rejected, "
        "orphaned or duplicated, or files were damaged (see the summary); 4 stopped by "
        "--max-rejects; 2 bad usage or configuration; 1 any other failure; 130 interrupted. "
        "Other commands: python -m asyncmig verify --help, python -m asyncmig rollback --help",
    )
    add = parser.add_argument
    add(
        "--data-dir",
        type=Path,
        metavar="PATH",
        default=opts.DEFAULT_DATA_DIR,
        help="the JSON data root to read (default: %(default)s)",
    )
    add(
        "--db",
        type=Path,
        metavar="PATH",
        default=opts.DEFAULT_DB,
        help="the SQLite database to create (default: %(default)s)",
    )
    add(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        default=opts.DEFAULT_BATCH_SIZE,
        help="rows per transaction, at most (default: %(default)s; a batch also ends at "
        f"{opts.DEFAULT_BATCH_BYTES // 2**20} MiB of JSON)",
    )
    add(
        "--workers",
        type=_positive_int,
        metavar="N",
        default=opts.default_workers(),
        help="parser processes reading files concurrently (default: %(default)s)",
    )
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
        type=Path,
        metavar="PATH",
        help=f"the progress mirror (default: {opts.STATE_NAME} beside the database)",
    )
    _add_output_options(parser)
    return parser


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--log-file",
        type=Path,
        metavar="PATH",
        help="append the full log (debug level, whatever the console shows) to PATH",
    )
    add(
        "--report",
        type=Path,
        metavar="PATH",
        help="write the run's report as JSON to PATH (replaced whole, atomically)",
    )
    add(
        "--rejects",
        type=Path,
        metavar="PATH",
        help="the JSON Lines file listing every record not migrated, with its errors and "
        "original (default: beside the database, <db name>.rejects-<time>.jsonl; a dry run "
        "writes one only when given this option)",
    )
    add(
        "--max-rejects",
        type=_whole_number,
        metavar="N",
        help="stop (exit 4) once more than N records were rejected, orphaned or duplicated",
    )
    add(
        "--progress-interval",
        type=float,
        metavar="SECONDS",
        default=DEFAULT_INTERVAL,
        help="when stderr is not a terminal, a progress line this often (default: %(default)s)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status. Exceptions become codes only here."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["rollback"]:
        return _rollback_main(words[1:])
    if words[:1] == ["verify"]:
        return _verify_main(words[1:])
    try:
        args = build_parser().parse_args(argv, namespace=Arguments())
        options = _options(args)
        outputs = _outputs(args, options)
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    except ConfigError as error:
        print(f"asyncmig: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    with outputs:
        return _run(options, outputs)


def _run(options: opts.Options, outputs: Outputs) -> int:
    try:
        report = anyio.run(_migrate_until_signalled, options, outputs.progress, backend="asyncio")
    except TooManyRejects as stop:
        print(f"asyncmig: stopped: {stop}", file=sys.stderr)
        report = stop.report
    except ConfigError as error:
        print(f"asyncmig: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (KeyboardInterrupt, Interrupted) as stop:
        print(f"asyncmig: {stop or 'interrupted'}", file=sys.stderr)
        _how_to_resume(options)
        return EXIT_INTERRUPTED
    except AsyncmigError as error:
        print(f"asyncmig: migration failed: {error}", file=sys.stderr)
        _how_to_resume(options)
        return EXIT_FAILURE
    except Exception:
        log.exception("asyncmig: unexpected failure")
        return EXIT_FAILURE
    return outputs.conclude(report)


def _how_to_resume(options: opts.Options) -> None:
    """After a stop: what is kept, and the one command that finishes the migration."""
    if options.dry_run or not options.db.exists():
        return
    print(
        f"asyncmig: everything committed to {options.db} is kept (progress: "
        f"{options.state_path}); to finish the migration run: {options.resume_command}",
        file=sys.stderr,
    )


def parse_options(argv: Sequence[str] | None) -> opts.Options:
    """The command line as checked Options; ConfigError on bad usage."""
    return _options(build_parser().parse_args(argv, namespace=Arguments()))


def _options(args: Arguments) -> opts.Options:
    rejects = args.rejects
    if rejects is None and not args.dry_run:
        rejects = default_rejects(args.db)
    return opts.Options(
        data_dir=args.data_dir,
        db=args.db,
        batch_size=args.batch_size,
        workers=args.workers,
        dry_run=args.dry_run,
        verbose=args.verbose,
        strict=args.strict,
        include_orphans=args.include_orphans,
        resume=args.resume,
        force=args.force,
        backup=not args.no_backup,
        backup_dir=args.backup_dir,
        state_file=args.state_file,
        rejects=rejects,
        max_rejects=args.max_rejects,
    )


def _outputs(args: Arguments, options: opts.Options) -> Outputs:
    if args.report is not None and not args.report.parent.is_dir():
        raise ConfigError(f"cannot write the report {args.report}: no folder {args.report.parent}")
    return Outputs(
        verbose=args.verbose,
        quiet=args.quiet,
        log_file=args.log_file,
        report=args.report,
        progress_interval=args.progress_interval,
        default_rejects=options.rejects if args.rejects is None else None,
    )


async def _migrate_until_signalled(options: opts.Options, progress: Progress) -> Report:
    """``migrate``, cancelled cleanly (writer rolled back, parsers ended) on SIGINT/SIGTERM."""
    received: list[int] = []
    with single_errors():
        report = await _migrate_watching(options, progress, received)
    if received or report is None:
        name = signal.Signals(received[0]).name if received else "a signal"
        raise Interrupted(f"interrupted by {name}")
    return report


async def _migrate_watching(
    options: opts.Options, progress: Progress, received: list[int]
) -> Report | None:
    report = None
    async with anyio.create_task_group() as tasks:

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for signum in signals:
                    received.append(signum)
                    tasks.cancel_scope.cancel()
                    return

        tasks.start_soon(watch)
        report = await migrate(options, progress)
        tasks.cancel_scope.cancel()
    return report


def _rollback_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m asyncmig rollback",
        description="Undo a migration: delete the database, its -wal/-shm files and the state "
        "file, and optionally restore a backup folder the migration made. Asks first.",
        epilog="Exit status: 0 done; 1 declined or failed; 2 bad usage.",
    )
    add = parser.add_argument
    add("--db", type=Path, metavar="PATH", default=opts.DEFAULT_DB, help="the migrated database")
    add("--state-file", type=Path, metavar="PATH", help="the state file (default: beside --db)")
    add("--restore", type=Path, metavar="BACKUP", help="a backup-<timestamp> folder to restore")
    add("--data-dir", type=Path, metavar="PATH", help="where --restore copies the files back")
    add("--yes", action="store_true", help="do not ask before deleting")
    return parser


def _rollback_main(argv: Sequence[str]) -> int:
    try:
        args = _rollback_parser().parse_args(argv)
        state = args.state_file or args.db.parent / opts.STATE_NAME
        done = rollback.run(
            args.db,
            state,
            restore=args.restore,
            data_dir=args.data_dir,
            confirm=lambda steps: args.yes or _ask(steps),
        )
    except SystemExit as stop:  # --help
        return stop.code if isinstance(stop.code, int) else 0
    except ConfigError as error:
        print(f"asyncmig rollback: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (AsyncmigError, OSError) as error:
        print(f"asyncmig rollback: failed: {error}", file=sys.stderr)
        return EXIT_FAILURE
    if done is None:
        print("asyncmig rollback: nothing done", file=sys.stderr)
        return EXIT_FAILURE
    print("\n".join(f"done: {step}" for step in done))
    return 0


def _ask(steps: list[str]) -> bool:
    if not sys.stdin.isatty():
        raise ConfigError("no terminal to ask on: pass --yes to confirm:\n  " + "\n  ".join(steps))
    print("asyncmig rollback will:\n  " + "\n  ".join(steps), file=sys.stderr)
    return input("Proceed? [y/N] ").strip().lower() in ("y", "yes")


class VerifyArguments(argparse.Namespace):
    """The parsed ``verify`` command line."""

    data_dir: Path
    db: Path
    workers: int


def build_verify_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m asyncmig verify",
        description="Re-read the JSON data directory and check a migrated database against "
        "it: every table's rows (id, data, created_at, updated_at), the tables and indexes, "
        "PRAGMA integrity_check and WAL mode. Both are only read.",
        epilog="Exit status: 0 everything matches; 3 differences found (listed); 2 bad usage, "
        "a missing database or data directory, or a database that is not a finished asyncmig "
        "migration; 1 any other failure; 130 interrupted.",
    )
    add = parser.add_argument
    add(
        "--data-dir",
        type=Path,
        metavar="PATH",
        default=opts.DEFAULT_DATA_DIR,
        help="the JSON data root the database was migrated from (default: %(default)s)",
    )
    add(
        "--db",
        type=Path,
        metavar="PATH",
        default=opts.DEFAULT_DB,
        help="the migrated SQLite database (default: %(default)s)",
    )
    add(
        "--workers",
        type=_positive_int,
        metavar="N",
        default=opts.default_workers(),
        help="parser processes reading files concurrently (default: %(default)s)",
    )
    return parser


def _verify_main(argv: Sequence[str]) -> int:
    """``python -m asyncmig verify``: 0 all matches, 3 differences, 2 usage, 1 failure."""
    try:
        args = build_verify_parser().parse_args(argv, namespace=VerifyArguments())
        result = anyio.run(_verify, args, backend="asyncio")
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    except ConfigError as error:
        print(f"asyncmig verify: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("asyncmig verify: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        print(f"asyncmig verify: failed: {error!r}", file=sys.stderr)
        return EXIT_FAILURE
    print(result.summary())
    return EXIT_OK if result.ok else EXIT_INCOMPLETE


async def _verify(args: VerifyArguments) -> Verification:
    return await verify(args.data_dir, args.db, workers=args.workers)


def main_entry() -> None:
    """Console-script entry point."""
    raise SystemExit(main())
