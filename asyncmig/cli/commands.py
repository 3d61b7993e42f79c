"""Each command from its parsed arguments to an exit status; failures propagate to main()."""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

import anyio

from asyncmig import __version__
from asyncmig.cli.arguments import MigrateArguments, RollbackArguments, VerifyArguments
from asyncmig.cli.stopping import STOP_SIGNALS, migrate_until_signalled, set_handlers
from asyncmig.errors import ConfigError, ExitStatus, Interrupted, one_line
from asyncmig.load import ledger
from asyncmig.options import STATE_NAME, Options
from asyncmig.output.console import Outputs, default_rejects, progress_on_stderr
from asyncmig.output.progress import DEFAULT_INTERVAL
from asyncmig.safety import outputs as output_files
from asyncmig.safety import rollback
from asyncmig.safety.backup import DB_FOLDER
from asyncmig.targets import by_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from asyncmig.cli.arguments import Arguments
    from asyncmig.output.progress import Tracker
    from asyncmig.output.report import Report
    from asyncmig.verify.result import Verification


class Run:
    """The command being run and what it has set up so far: what main() needs to report a
    failure (a migration's options for the resume hint, its outputs and its report so far
    for the summary and the report file)."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.options: Options | None = None
        self.outputs: Outputs | None = None
        self.verbose = False
        #: The report so far, once the migration has one (handed over by the pipeline).
        self.report: Callable[[], Report] | None = None
        #: Closed by main() once the exit status is decided, so the log still records it.
        self.cleanup = contextlib.ExitStack()

    def follow(self, report: Callable[[], Report]) -> None:
        """The pipeline's hand-over: how to get the report so far."""
        self.report = report


def start(args: Arguments, run: Run) -> int:
    """Run the command ``args`` were parsed for; its exit status."""
    match args:
        case MigrateArguments():
            return run_migrate(args, run)
        case VerifyArguments():
            return run_verify(args)
        case RollbackArguments():
            return run_rollback(args)
        case _:
            assert_never(args)


def run_migrate(args: MigrateArguments, run: Run) -> int:
    """Migrate with logging and progress on stderr; print the summary, write the report."""
    run.verbose = args.verbose
    run.options = options = _options(args)
    # Put back once main() is done (a stopped run ignores further stop signals meanwhile).
    run.cleanup.callback(set_handlers, {s: signal.getsignal(s) for s in STOP_SIGNALS})
    run.outputs = outputs = run.cleanup.enter_context(_outputs(args, options))
    report = anyio.run(
        migrate_until_signalled, options, outputs.progress, run.follow, backend="asyncio"
    )
    return outputs.conclude(report)


def how_to_resume(options: Options | None) -> None:
    """After a stopped migration: what is kept, and the one command that finishes it (or,
    when nothing was committed, that nothing was)."""
    if options is None or options.dry_run:
        return
    try:
        found = ledger.read(options.db)
    except ConfigError:  # not a database asyncmig can read: no way to resume it
        return
    if found is not None:
        say = (
            f"everything committed to {options.db} is kept (the checkpoint in it is what a "
            f"resume trusts; progress: {options.state_path}); to finish the migration run: "
            f"{options.resume_command}"
        )
        if found.run.old_db and found.run.backup:  # --force moved it there first
            kept = Path(found.run.backup) / DB_FOLDER / found.run.old_db
            say += f"; the database that was there before is kept in the backup: {kept}"
    elif not options.db.exists():
        say = f"nothing was written to {options.db}: run the same command again to migrate"
    else:
        return
    print(f"asyncmig: {one_line(say)}", file=sys.stderr)


def _options(args: MigrateArguments) -> Options:
    db = args.db or by_name(args.target).default_db()  # where that target's server looks
    rejects = args.rejects
    if rejects is None and not args.dry_run:
        rejects = default_rejects(db)
    return Options(
        data_dir=args.data_dir,
        db=db,
        target=args.target,
        batch_size=args.batch_size,
        workers=args.workers,
        dry_run=args.dry_run,
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


def _outputs(args: MigrateArguments, options: Options) -> Outputs:
    """Every output checked (the state and rejects files too) before the log file is made."""
    written = output_files.of(options, report=args.report, log_file=args.log_file)
    output_files.check(options, written)
    output_files.prepare([o for o in written if o.option in ("--report", "--log-file")])
    return Outputs(
        verbose=args.verbose,
        quiet=args.quiet,
        log_file=args.log_file,
        report=args.report,
        progress_interval=args.progress_interval,
        default_rejects=options.rejects if args.rejects is None else None,
        started=f"asyncmig {__version__} started: {_command_line(args)}",
    )


def _command_line(args: MigrateArguments) -> str:
    """The command line as parsed, every option spelled out (defaults included); asyncmig
    takes no secret on its command line, so all of it can be logged."""
    words = ["asyncmig", "migrate"]
    for name, value in vars(args).items():
        if name == "command" or value is None or value is False:
            continue
        words.append("--" + name.replace("_", "-"))
        if value is not True:
            words.append(str(value))
    return one_line(shlex.join(words))  # a path that is not UTF-8 as \xNN: the log is UTF-8


def run_verify(args: VerifyArguments) -> int:
    """Verify (progress on stderr) and print what was found: 0 when everything matches, 3
    when not."""
    tracker, _ = progress_on_stderr(DEFAULT_INTERVAL)
    began = time.monotonic()
    try:
        result = anyio.run(_verify, args, tracker, backend="asyncio")
    finally:
        tracker.finish()
    print(result.summary())
    if tracker.shown:
        verdict = "verified" if result.ok else f"{result.differences:,} difference(s)"
        done = f"{verdict} in {time.monotonic() - began:.1f} s"
        print(f"asyncmig verify: done: {done}", file=sys.stderr, flush=True)
    return ExitStatus.OK if result.ok else ExitStatus.INCOMPLETE


async def _verify(args: VerifyArguments, tracker: Tracker) -> Verification:
    # Imported here: verify's modules cost 14 ms of start-up that a migration never uses.
    from asyncmig.verify.run import verify  # noqa: PLC0415

    return await verify(args.data_dir, args.db, workers=args.workers, progress=tracker)


def run_rollback(args: RollbackArguments) -> int:
    """Roll back once confirmed and list what was done: 0, or 1 when not confirmed."""
    done = rollback.run(
        args.db,
        args.state_file or args.db.parent / STATE_NAME,
        restore=args.restore,
        data_dir=args.data_dir,
        confirm=lambda steps: args.yes or _ask(steps),
    )
    if done is None:
        print("asyncmig rollback: not confirmed, so nothing was done", file=sys.stderr)
        return ExitStatus.FAILURE
    print("\n".join(one_line(f"done: {step}") for step in done))
    return ExitStatus.OK


def _ask(steps: list[str]) -> bool:
    """Whether the user agrees to ``steps``. The end of input (Ctrl-D) is no answer, and
    Ctrl-C stops the command: either way, nothing was done."""
    if sys.stdin is None or not sys.stdin.isatty():
        raise ConfigError("no terminal to ask on: pass --yes to confirm:\n  " + "\n  ".join(steps))
    print("asyncmig rollback will:\n  " + "\n  ".join(steps), file=sys.stderr)
    try:
        answer = input("Proceed? [y/N] ")
    except EOFError:
        print(file=sys.stderr)  # end the prompt's line
        return False
    except KeyboardInterrupt:
        print(file=sys.stderr)
        raise Interrupted("interrupted at the question, so nothing was done") from None
    return answer.strip().lower() in ("y", "yes")
