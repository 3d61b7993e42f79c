"""One file's entries -> batches of rows, rejects and notices (runs in a parser process)."""

from __future__ import annotations

import functools
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import msgspec
import msgspec.inspect
import xxhash

from asyncmig.source import awkward, decode, redact, validate
from asyncmig.source.layout import BY_TABLE, Entity
from asyncmig.source.messages import Done, Failed, Notice, Opened, Reject, Row, Rows
from asyncmig.source.timestamps import TsError, normalise_ts

if TYPE_CHECKING:
    from collections.abc import Iterator

    from asyncmig.source.messages import Job, Message
    from asyncmig.source.schemas import Record

_HASH_READ: Final = 1 << 20
_any_decoder: Final = msgspec.json.Decoder()
_encoder: Final = msgspec.json.Encoder()


#: String fields that carry the bulk of the bytes (whole source files, chat text). The fast
#: path keeps them as raw JSON text, checked to be a string, and writes that text back as
#: it is: it is already valid UTF-8 (the file was checked whole) and already escaped.
BULK_FIELDS: Final = frozenset({"content"})


@functools.cache
def raw_variant(struct: type[Record]) -> tuple[type[Any], tuple[tuple[str, bool], ...]]:
    """``struct`` with its bulk string fields typed ``msgspec.Raw``, same field order, and
    those fields' (name, nullable) pairs; ``struct`` itself when it has none."""
    fields = msgspec.structs.fields(struct)
    # Only a plain string: a constrained one (a task's non-empty content) is checked whole.
    raw = {f.name for f in fields if f.name in BULK_FIELDS and f.type in (str, str | None)}
    bulk = tuple((f.name, None in _members(f.type)) for f in fields if f.name in raw)
    if not bulk:
        return struct, ()
    spec: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for f in fields:
        kind = msgspec.Raw if f.name in raw else f.type
        if f.required:
            spec.append((f.name, kind))
        elif f.default_factory is not msgspec.NODEFAULT:
            spec.append((f.name, kind, msgspec.field(default_factory=f.default_factory)))
        else:
            spec.append((f.name, kind, f.default))
    return msgspec.defstruct(f"Raw{struct.__name__}", spec, kw_only=True), bulk


@functools.cache
def nests_freely(struct: type[Record]) -> bool:
    """Whether ``struct`` has a field of any JSON (an MCP default or result), anywhere."""
    return "AnyType(" in repr(msgspec.inspect.type_info(struct))


def _depth_reason(deepest: int, limit: int) -> str:
    return (
        f"$: nested {deepest} levels deep; SQLite {sqlite3.sqlite_version} reads JSON only "
        f"{limit} levels deep (json_extract, which the server's indexes use), so this "
        "record cannot be stored"
    )


def _members(annotation: Any) -> tuple[Any, ...]:
    return tuple(
        type(None) if a is type(None) else a for a in getattr(annotation, "__args__", (annotation,))
    )


class Made(NamedTuple):
    """A record that validated: its row, whether an upgrade was needed, and warnings."""

    row: Row
    upgraded: bool
    notices: tuple[str, ...] = ()


class RowMaker:
    """Turns entries of one entity into rows; decoders are built once per entity."""

    def __init__(
        self, entity: Entity, *, strict: bool, migrated_at: int, parent_id: int | None = None
    ) -> None:
        self.entity = entity
        self.strict = strict
        self.migrated_at = migrated_at
        self.parent_id = parent_id
        fast, self._bulk = raw_variant(entity.struct)
        self._decoder = msgspec.json.Decoder(fast)
        #: Whether a record may nest without bound (a field of type "any"): its depth is
        #: checked against SQLite's, which may read fewer levels than msgspec.
        self._nests = nests_freely(entity.struct)

    def _fast(self, value: msgspec.Raw) -> Any:
        record = self._decoder.decode(value)
        for name, nullable in self._bulk:
            first = memoryview(getattr(record, name))[0]
            if first != _QUOTE and not (nullable and first == _N):
                raise msgspec.ValidationError(f"Expected `str`, got JSON starting {chr(first)!r}")
        return record

    def make(self, entry: decode.Entry) -> Made | Reject:
        """The entry's row, or its rejection."""
        try:
            return self._make(entry, entry.value)
        except RecursionError:  # nested deeper than msgspec goes by default
            return self._deep(entry)

    def _make(self, entry: decode.Entry, value: msgspec.Raw | Any) -> Made | Reject:
        try:
            if isinstance(value, msgspec.Raw):
                record: Record = self._fast(value)
            else:
                record = msgspec.convert(value, self.entity.struct)
            upgraded = False
        except msgspec.ValidationError:
            try:
                plain = _any_decoder.decode(value) if isinstance(value, msgspec.Raw) else value
            except msgspec.DecodeError as error:
                return self._undecodable(entry, value, error)
            checked = validate.check(plain, self.entity.struct, strict=self.strict)
            if checked.record is None:
                return self.reject(entry, _raw_id(plain), list(checked.errors))
            record, upgraded = checked.record, checked.upgraded
        except msgspec.DecodeError as error:
            return self._undecodable(entry, value, error)
        row = self._row(record)
        if self._nests and (deep := self._too_deep(row[1])) is not None:
            return self.reject(entry, row[0], [deep])
        return Made(row, upgraded, self._notices(entry.key, row[0], record))

    def _undecodable(self, entry: decode.Entry, value: Any, error: Exception) -> Made | Reject:
        """Valid JSON msgspec cannot hold (a lone surrogate escape, which JavaScript writes:
        kept as that escape), or a rejection."""
        if not isinstance(value, msgspec.Raw) or not awkward.has_surrogate_escape(value):
            return self.reject(entry, None, [f"$: {error}"])
        try:
            plain, marks = awkward.unpaired(bytes(value))
        except ValueError as wrong:
            return self.reject(entry, None, [f"$: {wrong}"])
        made = self._make(entry, plain)
        if isinstance(made, Reject):
            errors = [marks.text(e) for e in made.errors]
            record_id = None if made.record_id is None else marks.text(made.record_id)
            return msgspec.structs.replace(made, errors=errors, record_id=record_id)
        row_id, data, created, updated = made.row
        row = (marks.text(row_id), marks.data(bytes(data)), created, updated)
        return Made(row, made.upgraded, tuple(marks.text(n) for n in made.notices))

    def _deep(self, entry: decode.Entry) -> Made | Reject:
        """A record nested deeper than msgspec goes: what SQLite can read is checked with
        room on the stack; what it cannot (kept data deeper than its limit) is rejected."""
        limit = awkward.sqlite_depth_limit()
        if not isinstance(entry.value, msgspec.Raw):
            return self.reject(entry, None, [f"$: nested deeper than {limit} levels"])
        pruned, deepest = awkward.prune(bytes(entry.value), limit)
        with awkward.deep_enough(limit):
            made = self._make(entry, msgspec.Raw(pruned))
        if isinstance(made, Made) and awkward.TOO_DEEP_FOUND in bytes(made.row[1]):
            return self.reject(entry, made.row[0], [_depth_reason(deepest, limit)])
        return made

    def _too_deep(self, data: bytes | memoryview) -> str | None:
        """Why ``data`` cannot be stored, when it nests deeper than SQLite reads."""
        limit = awkward.sqlite_depth_limit()
        text = bytes(data)
        if text.count(b"[") + text.count(b"{") <= limit:  # cannot nest deeper: no scan
            return None
        deepest = awkward.depth(text)
        return _depth_reason(deepest, limit) if deepest > limit else None

    def reject(self, entry: decode.Entry, record_id: str | None, errors: list[str]) -> Reject:
        """The entry's rejection, carrying its original text (secrets redacted)."""
        original = redact.original(entry.value, self.entity.table)
        return Reject(entry.index, record_id, errors, entry.offset, original)

    def _notices(self, key: str | None, row_id: str, record: Any) -> tuple[str, ...]:
        notices = []
        if (mismatch := self.key_mismatch(key, row_id)) is not None:
            notices.append(mismatch)
        field = self.entity.parent_field
        if field is not None and self.parent_id is not None:
            own = getattr(record, field)
            if own != self.parent_id:
                notices.append(
                    f"{field} {own} differs from its folder's id {self.parent_id}; "
                    f"the record keeps {own}"
                )
        return tuple(notices)

    def _row(self, record: Any) -> Row:
        created = getattr(record, "created", None) or self.migrated_at
        updated = getattr(record, "updated", None) or created
        return self.entity.row_id(record), _encoder.encode(record), created, updated

    def key_mismatch(self, key: str | None, row_id: str) -> str | None:
        """A notice when an object key disagrees with the record's own id."""
        if key is None or key == row_id or self.entity.table in _KEYED_OTHERWISE:
            return None
        try:
            if str(normalise_ts(key)) == row_id:
                return None
        except TsError:
            pass
        return f"key {key!r} differs from the record's id {row_id}; the record's id is used"


_QUOTE: Final = ord('"')
_N: Final = ord("n")

# States are keyed by serverId and resources by uri, which the row id already contains.
_KEYED_OTHERWISE: Final = frozenset({"mcp_server_states", "mcp_resources"})


def _raw_id(plain: object) -> str | None:
    if isinstance(plain, dict):
        for name in ("id", "serverId", "uri"):
            if name in plain and isinstance(plain[name], str | int | float):
                return str(plain[name])
    return None


_BOM: Final = (
    "the file starts with a UTF-8 byte order mark (an editor adds one; the server never "
    "wrote it): it was read as if it were not there"
)


def read_job(job: Job) -> Iterator[Message]:
    """All messages for one job, in file order, batched by rows and bytes, then its end."""
    path = Path(job.fs_path)
    top: decode.TopLevel = "array" if job.top_level == "array" else "object"
    batch = _Batch()
    opened = None
    end: Message
    try:
        if job.table is None:  # a file that is not migrated, only counted: any container
            for _ in decode.entries(path, decode.sniff_top_level(path) or top):
                batch.found += 1
        else:
            opened = fingerprint(path)
            yield opened
            if decode.has_bom(path):
                yield Notice(0, _BOM)
            yield from _messages(job, decode.entries(path, top), batch)
        end = Done(batch.found, changed=_changed(opened, job.fs_path))
    except decode.Damaged as damage:
        end = Done(batch.found, damage.offset, damage.message, _changed(opened, job.fs_path))
    except OSError as error:
        end = Failed(f"{error.strerror or error}")
    if batch.rows:
        yield batch.flush()
    yield end


def _messages(job: Job, entries: Iterator[decode.Entry], batch: _Batch) -> Iterator[Message]:
    """Rows (in batches), rejects and notices for the entries of a migrated file."""
    assert job.table is not None
    maker = RowMaker(
        BY_TABLE[job.table], strict=job.strict, migrated_at=job.migrated_at, parent_id=job.parent_id
    )
    for entry in entries:
        batch.found += 1
        if entry.index < job.skip:
            continue
        try:
            made = maker.make(entry)
        except Exception as error:  # a bug of ours must not lose the rest of the file
            made = maker.reject(entry, None, [f"$: could not be checked: {error!r}"])
        if isinstance(made, Reject):
            yield made
            continue
        for notice in made.notices:
            yield Notice(entry.index, notice)
        batch.add(made.row, entry.index, made.upgraded, entry.offset)
        if len(batch.rows) >= job.batch_rows or batch.nbytes >= job.batch_bytes:
            yield batch.flush()


def fingerprint(path: Path) -> Opened:
    """The file's size, mtime and content hash (xxh3-128: about 20 GB/s, so reading the
    file once more from the page cache costs more than hashing it)."""
    digest = xxhash.xxh3_128()
    with path.open("rb") as stream:
        stat = os.fstat(stream.fileno())
        while chunk := stream.read(_HASH_READ):
            digest.update(chunk)
    return Opened(stat.st_size, stat.st_mtime_ns, digest.hexdigest())


def _changed(opened: Opened | None, path: str) -> bool:
    if opened is None:
        return False
    stat = os.stat(path)
    return (stat.st_size, stat.st_mtime_ns) != (opened.size, opened.mtime_ns)


class _Batch:
    """Rows gathered for one message, with what the writer needs to know about them."""

    __slots__ = ("found", "indexes", "nbytes", "position", "rows", "upgraded")

    def __init__(self) -> None:
        #: Entries of the file read so far (rows, rejects, and entries skipped on resume).
        self.found = 0
        self.rows: list[Row] = []
        self.indexes: list[int] = []
        self.upgraded: list[int] = []
        self.nbytes = 0
        self.position = 0

    def add(self, row: Row, index: int, upgraded: bool, offset: int | None) -> None:
        if upgraded:
            self.upgraded.append(len(self.rows))
        self.rows.append(row)
        self.indexes.append(index)
        self.nbytes += len(row[1]) + len(row[0])
        self.position = offset or self.position

    def flush(self) -> Rows:
        """The gathered rows as a message; the batch starts over empty."""
        consumed = self.found
        rows = Rows(self.rows, self.indexes, self.upgraded, consumed, self.nbytes, self.position)
        self.rows, self.indexes, self.upgraded, self.nbytes = [], [], [], 0
        return rows
