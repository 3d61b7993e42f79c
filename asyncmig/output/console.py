"""The command line's outputs: logs, progress, the summary, the JSON report, the rejects file.

stdout carries the summary only (a rich table on a terminal, plain text when piped);
stderr carries progress and logs. A log file, when asked for, gets everything at debug
level whatever the console shows.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Final, Self

import msgspec

from asyncmig.errors import ConfigError, ExitStatus, describe_os_error
from asyncmig.output.progress import DEFAULT_INTERVAL, LineProgress, NullProgress
from asyncmig.output.reportfile import write_report

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

    from rich.console import Console

    from asyncmig.output.progress import Progress, Tracker
    from asyncmig.output.report import Report

log = logging.getLogger("asyncmig")

_CONSOLE_FORMAT: Final = "asyncmig: %(levelname)s: %(message)s"
_FILE_FORMAT: Final = "%(asctime)s %(levelname)s %(message)s"


def default_rejects(db: Path) -> Path:
    """Beside the database, named after it and the run: ``<stem>.rejects-<time>.jsonl``,
    or ``<stem>.rejects-<time>-<n>.jsonl`` when that is taken (an earlier run in the same
    second, whose file the user did not ask to lose: a --force run after a refused one)."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path, n = db.with_name(f"{db.stem}.rejects-{stamp}.jsonl"), 1
    while path.exists() or path.is_symlink():
        n += 1
        path = db.with_name(f"{db.stem}.rejects-{stamp}-{n}.jsonl")
    return path


def progress_on_stderr(interval: float) -> tuple[Tracker, Console | None]:
    """A rich bar when stderr is a terminal (and the console it draws on), else a plain line
    every ``interval`` seconds."""
    if sys.stderr.isatty():
        from asyncmig.output import display  # noqa: PLC0415 - rich only for a terminal

        console = display.stderr_console()
        return display.BarProgress(console), console
    return LineProgress(sys.stderr, interval), None


def _verb(report: Report) -> str:
    return "would migrate" if report.dry_run else "migrated"


class Outputs:
    """Set up logging and progress for one command-line run; conclude it."""

    def __init__(
        self,
        *,
        verbose: bool = False,
        quiet: bool = False,
        log_file: Path | None = None,
        report: Path | None = None,
        progress_interval: float = DEFAULT_INTERVAL,
        default_rejects: Path | None = None,
        started: str = "asyncmig started",
    ) -> None:
        self.report_path = report
        #: The rejects file the run chose itself: removed again when it stayed empty.
        self.default_rejects = default_rejects
        tracker, console = (None, None) if quiet else progress_on_stderr(progress_interval)
        #: What shows progress, if anything does (--quiet: nothing).
        self.tracker = tracker
        self.progress: Progress = tracker or NullProgress()
        # main() may run more than once in a process (tests do): put the logger back after.
        self._saved = (log.handlers[:], log.level, log.propagate)
        self._handlers = _configure_logging(verbose, quiet, log_file, console)
        self._began = time.monotonic()
        self._ended = False
        self._to_file(f"{started} (pid {os.getpid()})")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.progress.finish()
        self._remove_empty_rejects()
        if not self._ended:
            self.ended(None)
        log.handlers[:], level, log.propagate = self._saved
        log.setLevel(level)
        for handler in self._handlers:
            handler.close()

    def conclude(self, report: Report) -> int:
        """Print the summary, write the JSON report; the exit status."""
        self.progress.finish()  # the bar must be gone before the summary is printed
        if self._remove_empty_rejects() and report.rejects_file == str(self.default_rejects):
            report = msgspec.structs.replace(report, rejects_file=None)  # it is gone
        code = report.exit_code
        if self.report_path is not None:
            try:
                write_report(report, self.report_path, code)
            except OSError as error:
                doing = f"cannot write the report {self.report_path}"
                said = describe_os_error(error, doing, path=self.report_path)
                print(f"asyncmig: {said}", file=sys.stderr)
                code = ExitStatus.FAILURE
        if any(isinstance(h, _LogFile) and h.failed for h in self._handlers):
            code = ExitStatus.FAILURE  # said once, when it failed: the log is not whole
        if sys.stdout.isatty():
            from asyncmig.output import display  # noqa: PLC0415 - rich only for a terminal

            display.print_summary(report, display.stdout_console())
        else:
            print(report.summary())
        self.last_line(f"{_verb(report)} {report.totals.migrated:,} of {report.totals.found:,} "
                       f"records in {report.elapsed:.1f} s (exit status {code})")  # fmt: skip
        return code

    def last_line(self, what: str) -> None:
        """After progress was shown: the line that says the run is done (after a short run
        in a pipe, none was shown, and the summary on stdout says it all)."""
        if self.tracker is not None and self.tracker.shown:
            print(f"asyncmig: done: {what}", file=sys.stderr, flush=True)

    def ended(self, status: int | None) -> None:
        """The log file's last line for this run: its exit status (None: unknown)."""
        self._ended = True
        code = "unknown" if status is None else str(status)
        self._to_file(f"asyncmig ended: exit status {code} after {self._elapsed():.1f} s")

    def _elapsed(self) -> float:
        return time.monotonic() - self._began

    def _to_file(self, text: str) -> None:
        """A line for the log file alone (a run's start and end; the console has its own)."""
        for handler in self._handlers:
            if isinstance(handler, _LogFile):
                record = log.makeRecord(log.name, logging.INFO, __file__, 0, text, (), None)
                handler.handle(record)

    def _remove_empty_rejects(self) -> bool:
        """Remove the rejects file the run named itself if nothing went into it."""
        path = self.default_rejects
        if path is not None and path.is_file() and path.stat().st_size == 0:
            path.unlink()
            return True
        return False


class _LogFile(logging.FileHandler):
    """The log file: a write that fails (a full disk) is said once on stderr, in one line
    with the way out, and the log stops there (logging's own report of it is a traceback
    per record)."""

    failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)  # not a write that failed: a bug, logging's report
        elif not self.failed:
            self._failed(error)

    def close(self) -> None:
        try:
            super().close()
        except OSError as error:  # the last lines, flushed on close
            if not self.failed:
                self._failed(error)

    def _failed(self, error: OSError) -> None:
        self.failed = True
        doing = f"cannot write the log file {self.baseFilename}"
        said = describe_os_error(error, doing, path=self.baseFilename)
        print(f"asyncmig: {said}; the log stops here", file=sys.stderr, flush=True)


def _create_private(log_file: Path) -> None:
    """Create the log file readable by its owner only (it names the user's files); one that
    exists keeps the mode its owner gave it (appended to, not ours to change)."""
    fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.close(fd)


def _configure_logging(
    verbose: bool, quiet: bool, log_file: Path | None, console: Console | None
) -> list[logging.Handler]:
    """Console handler at the asked level, and the log file at debug; the new handlers."""
    if console is not None:
        from asyncmig.output import display  # noqa: PLC0415 - rich only for a terminal

        handler: logging.Handler = display.ConsoleHandler(console)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_CONSOLE_FORMAT))
    handler.setLevel(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)
    handlers = [handler]
    if log_file is not None:
        try:
            _create_private(log_file)
            to_file = _LogFile(log_file, encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot write the log file {log_file}: {error}") from None
        to_file.setFormatter(logging.Formatter(_FILE_FORMAT))
        to_file.setLevel(logging.DEBUG)
        handlers.append(to_file)
    log.handlers[:] = handlers
    log.setLevel(min(h.level for h in handlers))
    log.propagate = False
    return handlers
