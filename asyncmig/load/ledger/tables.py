"""The ledger's two tables (``asyncmig_run``, ``asyncmig_files``), the typed settings and
the records read from them, and the one place settings are turned into text and back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

import msgspec

from asyncmig.errors import ConfigError
from asyncmig.results import Counts, FileOutcome  # noqa: TC001 - msgspec reads field types at runtime

if TYPE_CHECKING:
    from asyncmig.source.plan import SourceFile

#: File statuses that mean "finished"; "planned", "started" and "loading" do not.
DONE: Final = frozenset({"migrated", "damaged", "orphaned"})
#: Run phases, in order: the backup, the load, indexes and optimize, then complete.
Phase = Literal["backup", "loading", "finishing", "complete"]

SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS asyncmig_run (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS asyncmig_files (file_no INTEGER PRIMARY KEY, path TEXT NOT NULL,"
    " tbl TEXT, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest TEXT, consumed INTEGER"
    " NOT NULL DEFAULT 0, first_rowid INTEGER, last_rowid INTEGER, status TEXT NOT NULL,"
    " counts TEXT, outcome TEXT)",
    # Records whose id was taken, waiting for (then holding) their new id: committed with
    # the batch that met them, so a resume knows them without reading their files again.
    "CREATE TABLE IF NOT EXISTS asyncmig_rekeys (seq INTEGER PRIMARY KEY, file_no INTEGER NOT"
    " NULL, path TEXT NOT NULL, idx INTEGER NOT NULL, tbl TEXT NOT NULL, old_id TEXT NOT NULL,"
    " digest TEXT NOT NULL, new_id TEXT, data TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL)",
    # A copy of a waiting record is found by its id and its data's xxh3-128: one index
    # probe, however many copies of one id a forked chat left.
    "CREATE INDEX IF NOT EXISTS asyncmig_rekeys_old ON asyncmig_rekeys (tbl, old_id, digest)",
)


class RunSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``asyncmig_run``: the settings that decide the rows, and where the run is.

    Stored one key per row as text (``true``/``false``, decimal numbers, an empty string
    for none); :func:`settings_rows` and :func:`read` are the only code that converts."""

    data_dir: str | None = None
    migrated_at: int | None = None
    status: Phase = "loading"
    #: None: the database does not record it (written by an older asyncmig).
    strict: bool | None = None
    include_orphans: bool | None = None
    backup: str | None = None
    old_db: str | None = None
    #: The rejects file of each run so far, oldest first, as a JSON list of absolute paths:
    #: a resume names the earlier runs' files, which list the records it did not read again.
    rejects: str | None = None
    #: True once the records whose id was taken hold their new ids (the step after the load).
    rekeyed: bool | None = None
    #: The target written (``--target``); None: a database of an older asyncmig, which
    #: wrote OctoPrompt v0.6.0 only.
    target: str | None = None
    #: True once a converting target's finishing step has moved the rows out of its staging
    #: tables (a resume can then only finish).
    converted: bool | None = None


class FileRecord(msgspec.Struct, frozen=True):
    """One row of ``asyncmig_files``."""

    file_no: int
    path: str
    size: int
    mtime_ns: int
    digest: str | None
    consumed: int
    status: str
    counts: Counts
    outcome: FileOutcome | None
    table: str | None = None

    @property
    def done(self) -> bool:
        return self.status in DONE

    def same_stat(self, source: SourceFile) -> bool:
        return (self.path, self.size, self.mtime_ns) == (source.rel, source.size, source.mtime_ns)


class Checkpoint(msgspec.Struct, frozen=True):
    """What the target database says about the migration it holds."""

    run: RunSettings
    files: list[FileRecord]

    @property
    def done_files(self) -> int:
        return sum(record.done for record in self.files)


def settings_rows(**values: str | int | bool | None) -> list[tuple[str, str]]:
    """``asyncmig_run`` rows for these settings (names as in :class:`RunSettings`)."""
    fields = {f.name for f in msgspec.structs.fields(RunSettings)}
    unknown = set(values) - fields
    assert not unknown, f"not settings of the ledger: {unknown}"
    return [(name, _text(value)) for name, value in values.items()]


def _text(value: str | int | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def decode_settings(rows: dict[str, str]) -> RunSettings:
    """``asyncmig_run``'s rows as settings; ConfigError when a value cannot be read."""
    present = {key: value for key, value in rows.items() if value != ""}
    try:
        return msgspec.convert(present, RunSettings, strict=False)
    except msgspec.ValidationError as error:
        raise ConfigError(f"asyncmig_run holds a value asyncmig cannot read: {error}") from None
