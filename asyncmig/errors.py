"""Run-level failures. Record-level problems are data in the report, never exceptions.

::

    AsyncmigError
    ├── ConfigError       bad usage or configuration, found before anything is written (exit 2)
    └── MigrationError    the run could not finish (exit 1)
        └── ParserCrashed a parser process ended without finishing its file
"""

from __future__ import annotations


class AsyncmigError(Exception):
    """Base of every error asyncmig raises on purpose."""


class ConfigError(AsyncmigError):
    """Raised for bad options, a missing data directory or an unusable database path."""


class MigrationError(AsyncmigError):
    """Raised when a started run cannot finish; what was committed stays committed."""


class ParserCrashed(MigrationError):
    """Raised when a parser process exits or breaks its protocol in the middle of a file."""
