"""``python -m asyncmig``: the command line, its exit status the process's."""

from __future__ import annotations

from asyncmig.cli import main_entry

main_entry()
