"""The run's output files, checked before anything is written: none may destroy anything.

An output (the state file, the rejects file, the report, the log file) may not be the
database or a file SQLite keeps beside it, anything under the data root (its files are only
read), anything inside a ``backup-*`` folder (rollback restores from it), another output,
or this run's own stdout or stderr. Paths are compared resolved (symlinks followed), and
existing files by identity too (a hard link). A symlink is written through, never replaced.
The report and the state file are replaced whole, atomically, so they must be regular
files; the rejects file and the log file are written as streams, so a character device
(``/dev/null``) or a pipe someone reads will do. A folder is never an output.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from asyncmig.errors import ConfigError
from asyncmig.safety import places, refusals
from asyncmig.safety.backup import MANIFEST
from asyncmig.source.plan import plan_run
from asyncmig.storage import lock_file, new_file, probe_writable, side_files

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from asyncmig.options import Options

_KINDS: Final = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
#: A file name to suggest when an output is given a folder.
_EXAMPLES: Final = {
    "--state-file": "migration-state.json",
    "--rejects": "rejects.jsonl",
    "--report": "report.json",
    "--log-file": "asyncmig.log",
}


@dataclass(frozen=True, slots=True)
class Output:
    """One file a run writes: the option that names it, what it is, how it is written."""

    option: str
    what: str
    path: Path
    #: Replaced whole, atomically (a regular file only); else written as a stream.
    whole: bool

    def refused(self, why: str, way_out: str | None = None) -> ConfigError:
        """The one-line refusal: the output, its option and path, why, and the way out."""
        way_out = way_out or f"pass {self.option} another file"
        return ConfigError(
            f"cannot write the {self.what} {self.path} ({self.option}): {why}; {way_out}"
        )


def of(
    options: Options, *, report: Path | None = None, log_file: Path | None = None
) -> list[Output]:
    """The outputs a run with ``options`` writes, plus the command line's report and log file;
    the state file first, so a clash with it is reported on the output the user named."""
    found = []
    if not options.dry_run:
        found.append(Output("--state-file", "state file", options.state_path, whole=True))
    if options.rejects is not None:
        found.append(Output("--rejects", "rejects file", options.rejects, whole=False))
    if report is not None:
        found.append(Output("--report", "report", report, whole=True))
    if log_file is not None:
        found.append(Output("--log-file", "log file", log_file, whole=False))
    return found


def check(options: Options, outputs: Sequence[Output]) -> None:
    """Refuse (ConfigError) an output that would destroy something or cannot be written.
    Writes nothing: :func:`prepare` makes the folders once every check has passed."""
    places.refuse_odd_db(options.db)  # before anything follows it
    # The database's folder first: the outputs beside it would be refused for the same
    # reason, each with a way out (another folder for that output) that does not help.
    refusals.prepare(options.db)
    places.refuse_odd_backup_dir(options, [(f"the {o.what}", o.path) for o in outputs])
    guarded = _Guarded(options)
    taken: dict[object, Output] = {}
    for output in outputs:
        # By its path first: the data root given as a folder is refused as the data root
        # (not shown an example file inside it, which would be refused next).
        guarded.refuse(output, Path(os.path.realpath(output.path)), None)
        target, found = _kind(output)
        guarded.refuse(output, target, found)
        # Many streams may go to one device (/dev/null); files need one output each.
        identity = None if found is None else (found.st_dev, found.st_ino)
        if found is not None and stat.S_ISCHR(found.st_mode):
            continue
        for key in (target, identity):
            if key is not None and (earlier := taken.get(key)) is not None:
                why = f"it is also the {earlier.what} ({earlier.option} {earlier.path})"
                raise output.refused(why, "give each output a file of its own")
            taken[key] = output
        _refuse_unwritable(output, target)
    _refuse_holders(options, outputs)
    places.refuse_db_in_backup(options.db)


def _refuse_holders(options: Options, outputs: Sequence[Output]) -> None:
    """No output may be a folder the database, the backups or another output go in: it
    would be made a file, and what goes inside it could not be written."""
    inside = [("the database", options.db)]
    inside += [(f"the {o.what}", o.path) for o in outputs]
    if options.backup or options.force:
        inside.append(("the backup folder", options.backup_parent / "backup-*"))
    for output in outputs:
        if (why := places.holding(output.path, inside)) is not None:
            raise output.refused(why, "give each output a file of its own")


def prepare(outputs: Sequence[Output]) -> None:
    """Create each output's missing folders and make sure a file can be made there, the way
    the database's folder is made (:func:`asyncmig.safety.refusals.prepare`)."""
    for output in outputs:
        if _is_stream(output.path):
            continue  # a device or a pipe: nothing to make, and no file beside it (/dev)
        target = Path(os.path.realpath(output.path))
        folder = target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe_writable(folder)
        except OSError as error:
            why = f"cannot create a file in {folder} ({error.strerror or error})"
            raise output.refused(why, f"pass {output.option} a folder you can write to") from None


def _is_stream(path: Path) -> bool:
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _kind(output: Output) -> tuple[Path, os.stat_result | None]:
    """The path ``output`` writes to (symlinks followed) and, when it exists, its status;
    refuses what is not a file of the right kind."""
    target = Path(os.path.realpath(output.path))
    try:
        found = os.stat(output.path)  # through the symlinks, as opening it would go
    except (FileNotFoundError, NotADirectoryError):
        return target, None  # a new file (or a dangling link, written through)
    except OSError as error:
        raise output.refused(f"it cannot be followed ({error.strerror})") from None
    mode = found.st_mode
    if stat.S_ISREG(mode):
        return target, found
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    if stat.S_ISDIR(mode):
        example = output.path / _EXAMPLES[output.option]
        raise output.refused("it is a folder", f"name a file in it, e.g. {output.option} {example}")
    if output.whole:
        why = f"it is {kind}, and the {output.what} is replaced whole (atomically), not written in"
        raise output.refused(why, f"pass {output.option} a regular file")
    if stat.S_ISCHR(mode) or (stat.S_ISFIFO(mode) and _read_by_someone(output.path)):
        return target, found  # a stream: written into, never replaced
    why = f"it is {kind}" + (
        " that nobody reads (opening it would wait forever)" if stat.S_ISFIFO(mode) else ""
    )
    raise output.refused(why, f"pass {output.option} a regular file")


def _read_by_someone(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: no reader
        return False
    os.close(fd)
    return True


class _Guarded:
    """What no output may be: the database, the data root, a backup folder, std streams."""

    def __init__(self, options: Options) -> None:
        self.options = options
        db = options.db
        # The files beside a symlinked database sit beside its target; named as given.
        # The lock and the hidden new database too: a run removes them when it ends.
        ours = (
            *side_files(db.resolve()),
            *side_files(db),
            lock_file(db),
            *side_files(new_file(db)),
        )
        self.database = {Path(os.path.realpath(p)): p for p in ours}
        self.identities = {_identity(p): p for p in self.database.values()}
        self.data_root = Path(os.path.realpath(options.data_dir))
        parents = {db.parent.resolve(), options.backup_parent.resolve()}
        self.backup_parents = sorted(parents)

    def refuse(self, output: Output, target: Path, found: os.stat_result | None) -> None:
        identity = None if found is None else (found.st_dev, found.st_ino)
        db_file = self.database.get(target)
        if db_file is None and identity is not None:
            db_file = self.identities.get(identity)
        if db_file is not None:
            what = "the database"
            if db_file.name != self.options.db.name:
                sqlite = db_file.name in {p.name for p in side_files(self.options.db)}
                what = f"a file {'SQLite' if sqlite else 'a run'} keeps beside the database"
            raise output.refused(f"it is {what} ({db_file}), which it would destroy")
        where = f"the data directory {self.options.data_dir} (only ever read)"
        if self.data_root == target or self.data_root in target.parents:
            self._refuse_no_data()  # a data directory one level too high: that is the mistake
            why = f"it is {where}" if self.data_root == target else f"it is inside {where}"
            raise output.refused(why, f"pass {output.option} a file outside it")
        if self._in_data_root(found):
            why = f"it is a hard link to a file of {where}"
            raise output.refused(why, f"pass {output.option} a file outside it")
        if (backup := self._backup_folder(target) or self._linked_backup(found)) is not None:
            where = "the" if backup == target else "inside the"
            why = f"it is {where} backup folder {backup}, which rollback restores from"
            if backup != target and backup not in target.parents:  # a second name
                why = f"it is a hard link to a file of the backup folder {backup}"
            raise output.refused(why, f"pass {output.option} a file outside it")
        if identity is not None and identity in _std_streams():
            why = "it is where this run's standard output or error already goes"
            raise output.refused(why)

    def _refuse_no_data(self) -> None:
        """When the data directory holds no OctoPrompt data, say that (and where the data
        is) rather than what it makes of an output inside it; planned only on this path."""
        if self.data_root.is_dir():
            data_dir = self.options.data_dir
            refusals.refuse_no_data(plan_run(data_dir, self.options.db), data_dir)

    def _in_data_root(self, found: os.stat_result | None) -> bool:
        """A hard link to one of the data root's files (looked for only when the file has
        more than one name, which is rare: the walk is paid only then)."""
        if found is None or found.st_nlink < 2:
            return False
        identity = (found.st_dev, found.st_ino)
        return any(_identity(path) == identity for path in _files(self.data_root))

    def _linked_backup(self, found: os.stat_result | None) -> Path | None:
        """The backup folder holding a file ``found`` is a hard link to (looked for, as in
        the data root, only when it has more than one name)."""
        if found is None or found.st_nlink < 2:
            return None
        identity = (found.st_dev, found.st_ino)
        for parent in self.backup_parents:
            for folder in parent.glob("backup-*"):
                if any(_identity(path) == identity for path in _files(folder)):
                    return folder
        return None

    def _backup_folder(self, target: Path) -> Path | None:
        """The backup folder ``target`` lies in: a ``backup-*`` folder where this run puts
        its backups, or any folder holding a backup's manifest."""
        for folder in (target, *target.parents):
            if (folder / MANIFEST).is_file():
                return folder
        for parent in self.backup_parents:
            if parent in target.parents:
                first = parent / target.relative_to(parent).parts[0]
                if first.name.startswith("backup-") and first != target:
                    return first
        return None


def _files(root: Path) -> Iterator[Path]:
    for folder, _, names in os.walk(root):
        yield from (Path(folder, name) for name in names)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _std_streams() -> set[tuple[int, int]]:
    """The regular files this process's stdout and stderr go to (a redirect: ``> out``)."""
    found = set()
    for stream in (sys.stdout, sys.stderr):
        try:
            status = os.fstat(stream.fileno())
        except (OSError, ValueError, AttributeError):
            continue
        if stat.S_ISREG(status.st_mode):
            found.add((status.st_dev, status.st_ino))
    return found


def _refuse_unwritable(output: Output, target: Path) -> None:
    """The nearest existing folder above ``target`` must be one the run can write in (its
    missing folders are made there), and a stream written into must be writable."""
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise output.refused(
            f"{folder} is not a folder", f"pass {output.option} a path in a folder"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise output.refused(
            f"cannot write in {folder}", f"pass {output.option} a folder you can write to"
        )
    if not output.whole and target.exists() and not os.access(target, os.W_OK):
        raise output.refused(
            "the file is not writable", f"pass {output.option} a file you can write"
        )
