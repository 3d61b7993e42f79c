"""asyncmig: stream an OctoPrompt JSON data directory into the SQLite database of v0.6.0."""

import logging as _logging

from asyncmig.errors import AsyncmigError as AsyncmigError
from asyncmig.errors import ConfigError as ConfigError
from asyncmig.errors import Interrupted as Interrupted
from asyncmig.errors import MigrationError as MigrationError
from asyncmig.errors import ParserCrashed as ParserCrashed
from asyncmig.errors import TooManyRejects as TooManyRejects
from asyncmig.errors import one_line as _one_line
from asyncmig.options import Options as Options
from asyncmig.output.progress import NullProgress as NullProgress
from asyncmig.output.progress import Progress as Progress
from asyncmig.output.report import Report as Report
from asyncmig.results import Counts as Counts
from asyncmig.results import FileOutcome as FileOutcome
from asyncmig.results import Rejection as Rejection

__version__ = "0.1.0"


class _OneLine(_logging.Filter):
    """Every log record of asyncmig's one line: control characters in a file name (a
    newline, an escape sequence) are escaped, so they can neither split a line nor drive a
    terminal. A traceback (``exc_info``) is formatted apart from the message, and keeps its
    lines."""

    def filter(self, record: _logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = _one_line(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True


# A library logs, the application decides where to: silent unless it configures logging.
_logging.getLogger("asyncmig").addHandler(_logging.NullHandler())
_logging.getLogger("asyncmig").addFilter(_OneLine())


async def migrate(options: Options, progress: Progress | None = None) -> Report:
    """Migrate ``options.data_dir`` into ``options.db``; the report the command prints.

    Run it on asyncio (aiosqlite needs it). ``progress`` hears how far the run is, once
    per batch (by default nothing does). Raises ConfigError before writing anything
    when the options cannot work, MigrationError when a started run cannot finish, and
    TooManyRejects (holding the report so far) past ``options.max_rejects``."""
    # Imported here, not above: parser processes import this package too, and do not need
    # aiosqlite and anyio (12 MB of resident memory each).
    from asyncmig.load.pipeline import migrate as run  # noqa: PLC0415

    return await run(options, progress)


__all__ = (
    "AsyncmigError",
    "ConfigError",
    "Counts",
    "FileOutcome",
    "Interrupted",
    "MigrationError",
    "NullProgress",
    "Options",
    "ParserCrashed",
    "Progress",
    "Rejection",
    "Report",
    "TooManyRejects",
    "__version__",
    "migrate",
)
