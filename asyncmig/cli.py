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
from asyncmig.errors import AsyncmigError, ConfigError, Interrupted, TooManyRejects, single_errors
from asyncmig.outputs import Outputs, default_rejects
from asyncmig.pipeline import migrate
from asyncmig.progress import DEFAULT_INTERVAL
from asyncmig.report import EXIT_FAILURE, EXIT_USAGE, Report

if TYPE_CHECKING:
    from collections.abc import Sequence

    from asyncmig.progress import Progress

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
    quiet: bool
    log_file: Path | None
    report: Path | None
    rejects: Path | None
    max_rejects: int | None
    progress_interval: float


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m asyncmig",
        description="Migrate an OctoPrompt JSON data directory into the SQLite database "
        "that the OctoPrompt v0.6.0 server opens. The JSON files are only read.",
        epilog="Exit status: 0 everything migrated; 3 finished, but records were rejected, "
        "orphaned or duplicated, or files were damaged (see the summary); 4 stopped by "
        "--max-rejects; 2 bad usage or configuration; 1 any other failure; 130 interrupted.",
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


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status. Exceptions become codes only here."""
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
        if not options.dry_run and options.db.exists():
            print(
                f"asyncmig: {options.db} is incomplete: delete it (and its -wal and -shm "
                "files) before migrating again",
                file=sys.stderr,
            )
        return EXIT_INTERRUPTED
    except AsyncmigError as error:
        print(f"asyncmig: migration failed: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception:
        log.exception("asyncmig: unexpected failure")
        return EXIT_FAILURE
    return outputs.conclude(report)


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


def main_entry() -> None:
    """Console-script entry point."""
    raise SystemExit(main())
