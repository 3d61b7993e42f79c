"""Find every file under the data root, decide what becomes of it, and plan the order."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from stat import S_ISREG
from typing import TYPE_CHECKING, Final

from asyncmig.errors import ConfigError
from asyncmig.source.layout import ENTITIES, Entity
from asyncmig.source.timestamps import TsError, normalise_ts
from asyncmig.source.walk import unreadable_refusal, walk
from asyncmig.storage import lock_file, new_file, path_text, side_files

if TYPE_CHECKING:
    from asyncmig.source.decode import TopLevel


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file under the data root and what the run does with it."""

    file_no: int
    path: Path
    rel: str
    size: int
    mtime_ns: int
    #: The table it migrates into; None for a file that is not migrated.
    entity: Entity | None = None
    #: For a container file: the parent id its folder names (None: not an id).
    parent_id: int | None = None
    #: Why a file is not migrated.
    reason: str | None = None
    #: False for what is not a plain file (a FIFO, a dangling link): it is never opened.
    regular: bool = True

    @property
    def table(self) -> str:
        """The table a migrated file loads into (asked of migrated files only)."""
        assert self.entity is not None, f"{self.rel} is not migrated"
        return self.entity.table

    @property
    def top_level(self) -> TopLevel:
        return self.entity.top_level if self.entity else "object"

    @property
    def is_json(self) -> bool:
        return self.regular and self.path.name.endswith(".json")


@dataclass(frozen=True, slots=True)
class Plan:
    """Migrated files in processing order, then the files that are not migrated."""

    root: Path
    migrated: tuple[SourceFile, ...]
    not_migrated: tuple[SourceFile, ...]
    #: The symbolic links followed, as "path -> target" (the report lists them).
    links: tuple[str, ...] = ()

    @property
    def migrated_bytes(self) -> int:
        return sum(f.size for f in self.migrated)

    @property
    def all_bytes(self) -> int:
        """Every file under the root, what is not migrated included (what a backup copies)."""
        return self.migrated_bytes + sum(f.size for f in self.not_migrated if f.regular)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.migrated) + sum(
            f.size for f in self.not_migrated if f.is_json
        )


_REASONS: Final = (
    (lambda parts: any(p.startswith("backup-") for p in parts[:-1]), "inside a backup folder"),
    (lambda parts: parts[-1] == "ai-file-changes.json", "AI file changes are not migrated"),
    (lambda parts: parts[-1] == "kv-store.json", "the key-value store is not migrated"),
    (lambda parts: "agent-logs" in parts[:-1], "agent logs are not migrated"),
    (lambda parts: "indexes" in parts[:-1], "search indexes are rebuilt by the server"),
    (lambda parts: parts[-1].endswith(".tmp"), "a temporary file of an interrupted write"),
    (lambda parts: "chat_attachments" in parts[:-1], "attachment files stay on disk"),
)


def plan_run(data_dir: Path, db: Path) -> Plan:
    """The plan for migrating ``data_dir`` into ``db`` (the database's own files, should
    they sit under the data root, are left out)."""
    if not data_dir.is_dir():
        raise ConfigError(f"data directory {data_dir} does not exist or is not a directory")
    db = db.resolve()
    # A database under the data root: its files, and the run's lock and hidden new file.
    side = {*side_files(db), lock_file(db), *side_files(new_file(db))}
    return plan(data_dir.resolve(), exclude=frozenset(side))


#: How deep below a data root that holds no data its real one is looked for.
_HINT_DEPTH: Final = 4


def holds_data(folder: Path) -> bool:
    """Whether ``folder`` holds a file a plan of it would migrate (a look, not a plan).

    This is what "holds OctoPrompt data" means: any file of the layout, even an empty or
    damaged one, because the run reports what becomes of it."""
    layout = _Layout()
    if any((folder / rel).is_file() for rel in layout.fixed):
        return True
    return any(path.is_file() for pattern in layout.containers for path in folder.glob(pattern))


def data_folders_below(root: Path) -> list[Path]:
    """Folders named ``data`` below ``root`` (``data``, ``packages/server/data``, at most
    four levels down, links to folders included; hidden folders and node_modules are not
    looked into) that hold OctoPrompt data."""
    found: list[Path] = []
    for folder, dirs, _ in os.walk(root):
        here = Path(folder)
        found.extend(here / d for d in sorted(dirs) if d == "data" and holds_data(here / d))
        depth = len(here.relative_to(root).parts)
        dirs[:] = sorted(
            d
            for d in dirs
            if depth + 1 < _HINT_DEPTH and not d.startswith(".") and d != "node_modules"
        )
    return found


#: Where a migrated file goes in the order: entity (for containers, the first one of its
#: folder), parent id, rank of its name (for containers, its entity), its path.
_Key = tuple[int, int, int, str]


def plan(root: Path, *, exclude: frozenset[Path] = frozenset()) -> Plan:
    """Every file under ``root`` (but ``exclude``), migrated ones in processing order."""
    layout = _Layout()
    keyed: list[tuple[_Key, SourceFile]] = []
    others: list[SourceFile] = []
    walked = walk(root)
    if walked.unreadable:
        raise ConfigError(unreadable_refusal(root, walked.unreadable))
    for path, target in walked.loops:
        why = f"a link to {path_text(target)}, a folder it lies in (a loop): not followed"
        rel = path_text(path.relative_to(root).as_posix())
        others.append(SourceFile(0, path, rel, 0, 0, regular=False, reason=why))
    for path in walked.files:
        if path in exclude:
            continue
        # A name that is not UTF-8 is shown escaped (\\xNN): the ledger, the report and the
        # rejects file hold text; the file itself is still opened by its own name.
        found = layout.place(path, path_text(path.relative_to(root).as_posix()))
        if isinstance(found, SourceFile):
            others.append(found)
        else:
            keyed.append(found)
    keyed.sort(key=lambda pair: pair[0])
    migrated = [f for _, f in keyed]
    numbered = [replace(f, file_no=n) for n, f in enumerate([*migrated, *others])]
    links = tuple(
        f"{path_text(p.relative_to(root).as_posix())} is a link to {path_text(t)}: followed"
        for p, t in walked.links
    )
    return Plan(root, tuple(numbered[: len(migrated)]), tuple(numbered[len(migrated) :]), links)


class _Layout:
    """Where each file of the data root belongs: its entity and place in the order, or why
    it is not migrated."""

    def __init__(self) -> None:
        self.fixed = {f"{e.folder}/{name}": (e, rank) for e in ENTITIES for rank, name in _names(e)}
        self.containers = {f"{e.folder}/*/{e.file_names[0]}": e for e in ENTITIES if e.is_container}

    def place(
        self, path: Path, rel: str
    ) -> tuple[tuple[int, int, int, str], SourceFile] | SourceFile:
        """(sort key, file) for a file that is migrated; the file alone for one that is not."""
        parts = PurePosixPath(rel).parts
        try:
            stat = path.stat()
        except OSError as error:  # a dangling link, say
            return SourceFile(0, path, rel, 0, 0, regular=False, reason=str(error))
        base = SourceFile(0, path, rel, stat.st_size, stat.st_mtime_ns)
        if not S_ISREG(stat.st_mode):  # a FIFO or a device would block or never end
            return replace(base, regular=False, reason="not a regular file")
        if rel in self.fixed:
            entity, rank = self.fixed[rel]
            return (ENTITIES.index(entity), 0, rank, rel), replace(base, entity=entity)
        if len(parts) >= 3 and (container := _container(parts, self.containers)) is not None:
            parent = _folder_id(parts[-2])
            order = parent if parent is not None else 1 << 62
            planned = replace(base, entity=container, parent_id=parent)
            return (_position(container), order, ENTITIES.index(container), rel), planned
        return replace(base, reason=_reason(parts))


def _names(entity: Entity) -> list[tuple[int, str]]:
    return [] if entity.is_container else list(enumerate(entity.file_names))


def _position(container: Entity) -> int:
    """A container's place in the order: the first of the containers in its folder, so
    that one parent's folder is processed whole, its files in entity order (a ticket's
    tasks.json, then its files.json; spec section 6)."""
    return next(
        i for i, e in enumerate(ENTITIES) if e.is_container and e.folder == container.folder
    )


def _container(parts: tuple[str, ...], containers: dict[str, Entity]) -> Entity | None:
    return containers.get("/".join((*parts[:-2], "*", parts[-1])))


def _folder_id(name: str) -> int | None:
    try:
        return normalise_ts(name)
    except TsError:
        return None


def _reason(parts: tuple[str, ...]) -> str:
    for test, reason in _REASONS:
        if test(parts):
            return reason
    return "not a file of OctoPrompt's JSON-era data layout"
