"""Every file under a folder, symbolic links followed as the server followed them, with
the links, loops and unreadable paths met on the way (the plan's and the backup's walk)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import TYPE_CHECKING, Final

from asyncmig.storage import path_text

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(slots=True)
class Walk:
    """What is under a folder: its files, and what the walk met on the way."""

    files: list[Path] = field(default_factory=list)
    #: Links followed, with where they lead.
    links: list[tuple[Path, str]] = field(default_factory=list)
    #: Links to a folder they lie in, not followed (a loop), with where they lead.
    loops: list[tuple[Path, str]] = field(default_factory=list)
    #: Files and folders this user cannot read, with the reason.
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


def walk(root: Path, *, skip: Callable[[Path], bool] = lambda folder: False) -> Walk:
    """Every file under ``root`` (folders ``skip`` names left out), in the order of a
    sorted top-down walk. Symbolic links are followed, to files and folders alike, as
    the server's own reads (Node's ``fs``) followed them; a link to a folder it lies in
    is listed, not followed again and again."""
    found = Walk()
    stack: list[tuple[Path, frozenset[tuple[int, int]]]] = [(root, frozenset({_ident(root)}))]
    while stack:
        folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            found.unreadable.append((folder, error.strerror or str(error)))
            continue
        folders = [
            (path, ancestors | {ident})
            for path, ident in (_entry(Path(e.path), e, found, ancestors) for e in entries)
            if ident is not None and not skip(path)
        ]
        stack.extend(reversed(folders))
    return found


def _entry(
    path: Path, entry: os.DirEntry[str], found: Walk, ancestors: frozenset[tuple[int, int]]
) -> tuple[Path, tuple[int, int] | None]:
    """Note one entry of a folder; a folder to walk into comes back with its identity."""
    link = False
    try:
        link = entry.is_symlink()
        info = path.stat() if link else entry.stat(follow_symlinks=False)
    except PermissionError as error:
        found.unreadable.append((path, error.strerror or str(error)))
        return path, None
    except OSError:  # a dangling link, a loop of links: the plan lists it, not regular
        found.files.append(path)
        return path, None
    target = os.path.realpath(path) if link else ""
    if S_ISDIR(info.st_mode):
        ident = (info.st_dev, info.st_ino)
        if ident in ancestors:
            found.loops.append((path, target))
            return path, None
        if link:
            found.links.append((path, target))
        return path, ident
    if link:
        found.links.append((path, target))
    if S_ISREG(info.st_mode) and (why := _unreadable_file(path)) is not None:
        found.unreadable.append((path, why))
    else:
        found.files.append(path)
    return path, None


def _ident(folder: Path) -> tuple[int, int]:
    info = folder.stat()
    return info.st_dev, info.st_ino


def _unreadable_file(path: Path) -> str | None:
    """Why this user cannot read the regular file ``path``, or None when it can."""
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as error:
        return error.strerror or str(error)
    return None


#: How many unreadable paths a refusal names (the rest are counted).
_NAMED: Final = 10


def unreadable_refusal(root: Path, found: list[tuple[Path, str]]) -> str:
    """The refusal when files or folders cannot be read.

    Refused before anything is written, rather than an "unreadable" outcome per file: the
    guide promises a backup of the data before the migration, which cannot hold what
    cannot be read, and that nothing is lost; an unreadable chat folder would be a chat
    without its messages. Fixing the access and running again costs the user one
    command; a finished migration missing files would cost them their data."""
    named = "; ".join(f"{path_text(path)} ({why})" for path, why in sorted(found)[:_NAMED])
    more = f" and {len(found) - _NAMED} more" if len(found) > _NAMED else ""
    return (
        f"cannot read {len(found)} file(s) or folder(s) under the data directory, so nothing "
        f"was done (the backup and the migration read every file): {named}{more}; give "
        f"this user read access (for example: chmod -R u+rX {path_text(root)}, or run as "
        "the owner of the files), then run again"
    )
