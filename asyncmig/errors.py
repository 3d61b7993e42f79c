"""Run-level failures and the exit status each one means. Record-level problems are data in
the report, never exceptions. This module imports nothing of asyncmig: every stage may use it.

::

    AsyncmigError
    ├── ConfigError       bad usage or configuration, found before anything is written (exit 2)
    ├── MigrationError    the run could not finish (exit 1)
    │   ├── ParserCrashed a parser process ended without finishing its file
    │   ├── WriteFailed   SQLite could not write the target (disk full, I/O error)
    │   ├── SourceChanged a source file changed while it was read (is the server running?)
    │   └── TooManyRejects more records were not migrated than --max-rejects allows (exit 4)
    └── Interrupted       SIGINT or SIGTERM stopped the command line's run (exit 130)
"""

from __future__ import annotations

import contextlib
from enum import IntEnum
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterator

#: The report a TooManyRejects carries (``asyncmig.Report``; a type parameter here, so
#: that this module stays below the output stage that defines the Report).
ReportT = TypeVar("ReportT")


class ExitStatus(IntEnum):
    """The command line's exit statuses, as the README lists them."""

    OK = 0
    #: Any other failure (a full disk included): what was committed is kept.
    FAILURE = 1
    #: Bad usage or configuration, or a refusal; nothing was written.
    USAGE = 2
    #: Finished, but records were rejected, orphaned or duplicated, or files damaged.
    INCOMPLETE = 3
    #: Stopped by ``--max-rejects``.
    TOO_MANY_REJECTS = 4
    #: SIGINT or SIGTERM.
    INTERRUPTED = 130


class AsyncmigError(Exception):
    """Base of every error asyncmig raises on purpose."""


class ConfigError(AsyncmigError):
    """Raised for bad options, a missing data directory or an unusable database path."""


class MigrationError(AsyncmigError):
    """Raised when a started run cannot finish; what was committed stays committed."""


class ParserCrashed(MigrationError):
    """Raised when a parser process exits or breaks its protocol in the middle of a file."""


class WriteFailed(MigrationError):
    """Raised when SQLite cannot write the target (a full disk, an I/O error)."""


class SourceChanged(MigrationError):
    """Raised when a source file changes while the run reads it."""


class TooManyRejects(MigrationError, Generic[ReportT]):
    """Raised once more records were not migrated than ``max_rejects`` allows; ``report``
    is the run's :class:`asyncmig.Report` up to that point (``report.stopped`` says why)."""

    def __init__(self, message: str, report: ReportT) -> None:
        super().__init__(message)
        self.report = report


class Interrupted(AsyncmigError):
    """Raised by the command line when SIGINT or SIGTERM stopped the run."""


@contextlib.contextmanager
def single_errors() -> Iterator[None]:
    """Re-raise a task group's exception group as its one real error, when it has one.

    Task groups wrap whatever a task raised; callers of asyncmig want the ConfigError or
    ParserCrashed itself, not a group holding it."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = list(_leaves(group))
        # Several of ours (a dead parser is seen by its reader and by the writer alike)
        # tell one story: raise the first. Anything else is a bug: show all of it.
        if all(isinstance(leaf, AsyncmigError) for leaf in leaves):
            raise leaves[0] from None
        raise


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error
