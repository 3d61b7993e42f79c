"""Run-level failures and the exit status each one means. Record-level problems are data in
the report, never exceptions. This module imports nothing of asyncmig: every stage may use it.

Every message is one line (:func:`one_line` escapes what would split it) naming the way out;
:func:`describe_os_error` words an operating-system error that way, a full disk with its
file system, its free space and the space needed.

::

    AsyncmigError
    ├── ConfigError       bad usage or configuration, found before anything is written (exit 2)
    ├── MigrationError    the run could not finish (exit 1)
    │   ├── ParserCrashed a parser process ended without finishing its file
    │   ├── WriteFailed   a file could not be written: the target, the state file, the
    │   │                 backup (a full disk, an I/O error, a permission)
    │   ├── SourceChanged a source file changed while it was read (is the server running?)
    │   └── TooManyRejects more records were not migrated than --max-rejects allows (exit 4)
    └── Interrupted       SIGINT, SIGTERM or SIGHUP stopped the command line's run (exit 130)
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
from enum import IntEnum
from typing import TYPE_CHECKING, Final, Generic, TypeVar

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
    #: SIGINT, SIGTERM or SIGHUP.
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
    """Raised when a file the run writes cannot be written: the target (SQLite's error), the
    state file or the backup (the operating system's, worded by :func:`describe_os_error`)."""


class SourceChanged(MigrationError):
    """Raised when a source file changes while the run reads it."""


class TooManyRejects(MigrationError, Generic[ReportT]):
    """Raised once more records were not migrated than ``max_rejects`` allows; ``report``
    is the run's :class:`asyncmig.Report` up to that point (``report.stopped`` says why)."""

    def __init__(self, message: str, report: ReportT) -> None:
        super().__init__(message)
        self.report = report


class Interrupted(AsyncmigError):
    """Raised by the command line when SIGINT, SIGTERM or SIGHUP stopped the run."""


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
        # tell one story: raise the first; so does one error alone (a full disk's OSError).
        # Several others together may be a bug: show all of them.
        ours = [leaf for leaf in leaves if isinstance(leaf, AsyncmigError)]
        if ours and len(ours) == len(leaves):
            raise ours[0] from None
        if len(leaves) == 1:
            raise leaves[0] from None
        raise


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


#: Characters that would split a line or drive a terminal: C0 and C1 controls, DEL, and
#: Unicode's line and paragraph separators.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Lone surrogates: a file name's bytes that are not UTF-8, as Python decodes them.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
#: errno values that mean the disk (or the space this process may use on it) is full.
_FULL: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def one_line(text: str) -> str:
    """``text`` with every control character written as its Python escape (a newline as
    ``\\n``), so a file name can neither split a summary or log line nor drive a terminal;
    the bytes of a name that is not UTF-8 (which Python holds as lone surrogates, that no
    UTF-8 output can write) as ``\\xNN``."""
    text = _CONTROL.sub(lambda found: found.group().encode("unicode_escape").decode(), text)
    return _SURROGATE.sub(_byte_escape, text)


def _byte_escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def describe_os_error(
    error: OSError,
    doing: str,
    *,
    path: str | os.PathLike[str] | None = None,
    needed: int | None = None,
) -> str:
    """One line for ``error``, met while ``doing`` (e.g. "could not write the state file x"):
    the system's reason, and on a full disk the file system (of ``path``, else of the
    error's file), its free space and ``needed`` bytes, when known. ``path`` is the file
    ``doing`` names, when the error may name another (a temporary file written for it)."""
    reason = error.strerror or type(error).__name__
    if path is None and error.filename is not None and str(error.filename) not in doing:
        reason += f" ({error.filename})"
    text = f"{doing}: {reason}"
    where = path if path is not None else error.filename
    if error.errno in _FULL and where is not None:
        text += "; " + full_disk(os.fsdecode(where), needed)
    elif error.errno in _FULL:
        text += "; the disk it was written to is full: free space there"
    return one_line(text)


def full_disk(path: str, needed: int | None = None) -> str:
    """The file system holding ``path``, its free space and what is needed on it."""
    folder = os.path.abspath(path)
    while not os.path.isdir(folder) or (not os.path.ismount(folder) and folder != "/"):
        folder = os.path.dirname(folder)
    try:
        free = size_text(shutil.disk_usage(folder).free) + " free"
    except OSError:
        free = "free space unknown"
    need = f", {size_text(needed)} needed" if needed is not None else ""
    return f"the file system mounted at {folder} is full ({free}{need}); free space there"


def size_text(nbytes: int) -> str:
    """A size as the messages and the summary write it: GB from 100 MB on, MB from 100 KB
    on, else KB (a state file's 11 KB read "0.0 MB")."""
    if nbytes >= 10**8:
        return f"{nbytes / 1e9:.2f} GB"
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 10**5 else f"{nbytes / 1e3:.1f} KB"
