"""The parsed command line: one typed namespace per command, and the words that choose it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Final

from asyncmig.cli.parser import build_parser

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


class MigrateArguments(argparse.Namespace):
    """``python -m asyncmig [migrate]``, one typed attribute per option."""

    data_dir: Path
    db: Path | None
    target: str | None
    batch_size: int
    workers: int
    dry_run: bool
    verbose: bool
    quiet: bool
    strict: bool
    include_orphans: bool
    resume: bool
    force: bool
    no_backup: bool
    backup_dir: Path | None
    state_file: Path | None
    log_file: Path | None
    report: Path | None
    rejects: Path | None
    max_rejects: int | None
    progress_interval: float


class VerifyArguments(argparse.Namespace):
    """``python -m asyncmig verify``."""

    data_dir: Path
    db: Path
    workers: int


class RollbackArguments(argparse.Namespace):
    """``python -m asyncmig rollback``."""

    db: Path
    state_file: Path | None
    restore: Path | None
    data_dir: Path | None
    yes: bool


Arguments = MigrateArguments | VerifyArguments | RollbackArguments

#: Each subcommand :mod:`~asyncmig.cli.parser` declares, and the namespace it parses into.
_NAMESPACES: Final[dict[str, type[Arguments]]] = {
    "migrate": MigrateArguments,
    "verify": VerifyArguments,
    "rollback": RollbackArguments,
}


def with_command(argv: Sequence[str]) -> list[str]:
    """``argv`` led by its subcommand: ``migrate`` unless the first word names one (so a
    bare ``--help`` shows migrate's options, as it always has)."""
    words = list(argv)
    return words if words[:1] and words[0] in _NAMESPACES else ["migrate", *words]


def parse(words: Sequence[str]) -> Arguments:
    """Words led by their subcommand (see :func:`with_command`) as that command's typed
    arguments; ConfigError on bad usage, SystemExit after ``--help``."""
    return build_parser().parse_args(words, namespace=_NAMESPACES[words[0]]())
