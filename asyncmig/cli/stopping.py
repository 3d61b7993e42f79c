"""How a command-line migration stops on a signal: SIGINT, SIGTERM or SIGHUP cancel it
cleanly (the writer rolled back, the parsers ended, the state file and the report written),
a second signal meanwhile is ignored, and a terminal that hung up is no longer written to."""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING, Any, Final

import anyio

from asyncmig.errors import Interrupted, single_errors
from asyncmig.load.pipeline import migrate

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from asyncmig.options import Options
    from asyncmig.output.progress import Progress
    from asyncmig.output.report import Report

#: The signals that stop a run cleanly: Ctrl-C, a service manager's stop, and the hangup
#: of the terminal (an ssh session that drops).
STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def migrate_until_signalled(
    options: Options, progress: Progress, follow: Callable[[Callable[[], Report]], None]
) -> Report:
    """``migrate``, cancelled cleanly (writer rolled back, parsers ended) on SIGINT, SIGTERM
    or SIGHUP; ``follow`` is handed the report so far as soon as there is one. Once one
    came, the others are ignored: a second one (Ctrl-C pressed again, a service manager's
    second SIGTERM) must not kill the run half-way through its state file and report."""
    received: list[int] = []
    try:
        with single_errors(), anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
            report = await _migrate_watching(options, progress, signals, received, follow)
    finally:
        if received:  # the receiver has put the default handlers back: a signal now kills
            set_handlers(dict.fromkeys(STOP_SIGNALS, signal.SIG_IGN))
    if received or report is None:
        name = signal.Signals(received[0]).name if received else "a signal"
        raise Interrupted(f"interrupted by {name}")
    return report


def _detach_hung_up_streams() -> None:
    """After the terminal hung up (SIGHUP), every write to it fails (EIO), which would turn
    the clean stop into a failure with no report: stdout and stderr go to /dev/null from
    then on (the state file, the report and the log file say how the run ended)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
        except (OSError, ValueError, AttributeError):
            continue  # no file descriptor (a caller's capture): no terminal to lose
        try:
            os.write(fd, b"")  # nothing written: fails only where nothing can be
        except OSError:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)


def set_handlers(handlers: dict[signal.Signals, Any]) -> None:
    """Put these handlers in place (None: one not set from Python, left as it is)."""
    for signum, handler in handlers.items():
        if handler is not None:  # None: not set from Python, nothing to put back
            signal.signal(signum, handler)


async def _migrate_watching(
    options: Options,
    progress: Progress,
    signals: AsyncIterator[int],
    received: list[int],
    follow: Callable[[Callable[[], Report]], None],
) -> Report | None:
    report = None
    async with anyio.create_task_group() as tasks:

        async def watch() -> None:
            async for signum in signals:
                received.append(signum)
                _detach_hung_up_streams()
                tasks.cancel_scope.cancel()
                return

        tasks.start_soon(watch)
        report = await migrate(options, progress, follow=follow)
        tasks.cancel_scope.cancel()
    return report
