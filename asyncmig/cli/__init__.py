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
import sys
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from asyncmig.cli import arguments, commands
from asyncmig.errors import AsyncmigError, ConfigError, ExitStatus, Interrupted, TooManyRejects

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

log = logging.getLogger("asyncmig")


@dataclass(frozen=True)
class _Voice:
    """How a command names itself on stderr, and which errors it reports as failed in one
    line (any other error is unexpected: logged with its traceback)."""

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
    """What ``error`` means as an exit status; its one line on stderr on the way."""
    voice = _VOICES[run.command]
    if isinstance(error, SystemExit):  # --help
        return error.code if isinstance(error.code, int) else ExitStatus.OK
    if isinstance(error, TooManyRejects) and run.outputs is not None:
        _say(voice, f"stopped: {error}")
        return run.outputs.conclude(error.report)  # the run so far; 4 unless that fails
    if isinstance(error, ConfigError):
        _say(voice, f"error: {error}")
        return ExitStatus.USAGE
    if isinstance(error, KeyboardInterrupt | Interrupted):
        _say(voice, str(error) or "interrupted")
        commands.how_to_resume(run.options)
        return ExitStatus.INTERRUPTED
    if isinstance(error, voice.failures):
        _say(voice, f"{voice.failed}: {voice.detail(error)}")
        commands.how_to_resume(run.options)
        return ExitStatus.FAILURE
    _unexpected(error, voice, logging_set_up=run.outputs is not None)
    return ExitStatus.FAILURE


def _say(voice: _Voice, text: str) -> None:
    print(f"{voice.prog}: {text}", file=sys.stderr)


def _unexpected(error: BaseException, voice: _Voice, *, logging_set_up: bool) -> None:
    """A bug, with its traceback: logged once the command has set up logging (so the log
    file gets it too); before that, and for commands that log nothing, on stderr."""
    if logging_set_up:
        log.error("asyncmig: unexpected failure", exc_info=error)
    else:
        _say(voice, "unexpected failure")
        traceback.print_exception(error)


def main_entry() -> None:
    """Console-script entry point."""
    raise SystemExit(main())
