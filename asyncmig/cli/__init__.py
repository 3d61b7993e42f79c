"""The command line: ``main(argv)`` runs one command and turns its failure into an exit status.

``python -m asyncmig [migrate]``, ``python -m asyncmig verify`` and ``python -m asyncmig
rollback``: :mod:`~asyncmig.cli.parser` declares their options, :mod:`~asyncmig.cli.arguments`
parses them into typed namespaces, :mod:`~asyncmig.cli.commands` runs each command, and
:func:`main` is the one place where an exception becomes an exit status
(:class:`asyncmig.errors.ExitStatus`).

May import: every stage below it. Only ``asyncmig.__main__`` imports it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import msgspec

from asyncmig.cli import arguments, commands
from asyncmig.errors import (
    AsyncmigError,
    ConfigError,
    ExitStatus,
    Interrupted,
    TooManyRejects,
    describe_os_error,
    full_disk,
    one_line,
)
from asyncmig.output.reportfile import write_report

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

log = logging.getLogger("asyncmig")


@dataclass(frozen=True)
class _Voice:
    """How a command names itself on stderr, and which errors it reports as failed in one
    line (any other error is unexpected: one line, its traceback logged)."""

    prog: str
    failed: str
    failures: tuple[type[Exception], ...]
    detail: Callable[[object], str] = str


_VOICES: Final = {
    "migrate": _Voice("asyncmig", "migration failed", (AsyncmigError,)),
    "verify": _Voice("asyncmig verify", "failed", (Exception,), repr),
    "rollback": _Voice("asyncmig rollback", "failed", (AsyncmigError, OSError)),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return its exit status."""
    words = arguments.with_command(sys.argv[1:] if argv is None else argv)
    run = commands.Run(words[0])
    with run.cleanup:  # outputs close after the failure is reported, so the log records it
        try:
            status = int(commands.start(arguments.parse(words), run))
        except (Exception, KeyboardInterrupt, SystemExit) as error:
            status = int(_exit_status(error, run))
        if run.outputs is not None:
            run.outputs.ended(status)  # the log file's last line for the run
        return status


def _exit_status(error: Exception | KeyboardInterrupt | SystemExit, run: commands.Run) -> int:
    """What ``error`` means as an exit status; its one line on stderr on the way, and the
    report so far written (``--report``) for a run that got that far."""
    voice = _VOICES[run.command]
    if isinstance(error, SystemExit):  # --help, --version
        return error.code if isinstance(error.code, int) else ExitStatus.OK
    if isinstance(error, TooManyRejects) and run.outputs is not None:
        _say(voice, f"stopped: {error}")
        return run.outputs.conclude(error.report)  # the run so far; 4 unless that fails
    if isinstance(error, ConfigError):
        _say(voice, f"error: {error}")
        return _ended(run, ExitStatus.USAGE, f"refused: {error}")
    if isinstance(error, KeyboardInterrupt | Interrupted):
        _say(voice, str(error) or "interrupted")
        commands.how_to_resume(run.options)
        return _ended(run, ExitStatus.INTERRUPTED, str(error) or "interrupted")
    message = _failure(error, run, voice)
    _say(voice, f"{voice.failed}: {message}")
    # The traceback, for a bug report: on stderr with --verbose, else in the log file only.
    log.log(logging.ERROR if run.verbose else logging.DEBUG, "traceback:", exc_info=error)
    commands.how_to_resume(run.options)
    return _ended(run, ExitStatus.FAILURE, f"{voice.failed}: {message}")


def _failure(error: Exception | KeyboardInterrupt, run: commands.Run, voice: _Voice) -> str:
    """The one line for a failure: worded with its way out where it is known."""
    if isinstance(error, OSError) and run.command == "migrate":
        message = describe_os_error(error, "could not read or write a file")
    elif isinstance(error, OSError) and run.command == "rollback" and error.filename2:
        # A copy of the backup's (its destination is the disk that matters): they go back
        # before anything is removed, and the backup is only read.
        into = error.filename2
        message = (
            describe_os_error(error, f"could not restore the backup into {into}", path=into)
            + "; the database and its state file are untouched: run the same rollback again "
            "once that is fixed"
        )
    elif run.command == "verify" and _sqlite_full(error):
        message = (
            "SQLite's temporary files (what verify expects, kept out of memory) filled "
            f"their disk; {full_disk(_sqlite_temp_dir())}, or point SQLITE_TMPDIR at a "
            "folder with room, and run verify again"
        )
    elif isinstance(error, voice.failures):
        message = voice.detail(error)
    else:
        message = _unexpected(error, run)
    return message


def _sqlite_full(error: BaseException) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def _sqlite_temp_dir() -> str:
    """The folder SQLite puts its temporary files in (its own search order, on Unix)."""
    for name in ("SQLITE_TMPDIR", "TMPDIR"):
        if (folder := os.environ.get(name)) and os.path.isdir(folder):
            return folder
    known = ("/var/tmp", "/usr/tmp", "/tmp")  # noqa: S108 - named, not written to
    return next((d for d in known if os.path.isdir(d)), ".")


def _say(voice: _Voice, text: str) -> None:
    print(f"{voice.prog}: {one_line(text)}", file=sys.stderr)


def _unexpected(error: BaseException, run: commands.Run) -> str:
    """A bug's one line (its traceback is logged like every failure's)."""
    more = "" if run.verbose else " (run again with --verbose to see where; please report it)"
    return f"unexpected {type(error).__name__}: {error}{more}"


def _ended(run: commands.Run, code: int, how: str) -> int:
    """Write the report of a run that did not finish (``--report``), marked in ``ended``
    with how it ended; ``code`` (a report that cannot be written is said on stderr, and the
    status of the failure that ended the run stands)."""
    if run.outputs is None or run.outputs.report_path is None or run.report is None:
        return code
    report = run.report()
    default = run.outputs.default_rejects
    gone = default is not None and report.rejects_lines == 0  # removed when outputs close
    report = msgspec.structs.replace(
        report,
        ended=one_line(how),
        rejects_file=None if gone and report.rejects_file == str(default) else report.rejects_file,
    )
    path = run.outputs.report_path
    try:
        write_report(report, path, code)
    except OSError as failure:
        doing = f"cannot write the report {path}"
        _say(_VOICES[run.command], describe_os_error(failure, doing, path=path))
    return code


def main_entry() -> None:
    """Console-script entry point."""
    raise SystemExit(main())
