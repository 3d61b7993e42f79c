"""Records to Structs: the msgspec fast path, and the slow path that upgrades and lists every error.

The fast path decodes a record straight into its Struct. It succeeds only when the record
needs neither normalising nor upgrading, so its result is the slow path's result too. When
it fails, the slow path normalises timestamps, applies the legacy upgrades of spec section 4
(unless ``strict``) and checks every field, so a rejected record carries all its errors.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, Union

import msgspec
from msgspec import UnsetType

from asyncmig.source import schemas
from asyncmig.source.schemas import Record
from asyncmig.source.timestamps import TsError, normalise_ts, type_name

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

FieldKind = Literal["ts", "struct", "struct_list", "plain"]

#: Nullable fields of a project file that a legacy record may lack (upgrade: null).
_NULLABLE_FILE_FIELDS: Final = ("content", "summary", "summaryLastUpdated", "meta", "checksum")


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """How the slow path checks one field of a Struct."""

    name: str
    kind: FieldKind
    type: Any
    required: bool
    nullable: bool
    nested: type[Record] | None


@dataclass(frozen=True, slots=True)
class Checked:
    """The slow path's verdict on one record."""

    record: Record | None
    errors: tuple[str, ...] = ()
    upgraded: bool = False


def check(value: object, struct: type[Record], *, strict: bool) -> Checked:
    """Normalise, upgrade and validate one decoded JSON value as ``struct``."""
    if not isinstance(value, dict):
        return Checked(None, (f"$: expected an object, got {type_name(value)}",))
    fields = dict(value)
    upgraded = False if strict else _upgrade(fields, struct)
    values: dict[str, Any] = {}
    errors = list(_check_fields(fields, struct, "$", values))
    if errors:
        return Checked(None, tuple(errors))
    return Checked(struct(**values), upgraded=upgraded)


def _upgrade(fields: dict[str, Any], struct: type[Record]) -> bool:
    """Apply the known legacy upgrades in place; True when any applied."""
    names = {plan.name for plan in field_plans(struct)}
    before = len(fields), set(fields)
    for old, new in (("createdAt", "created"), ("updatedAt", "updated")):
        if new in names and new not in fields and old in fields:
            fields[new] = fields.pop(old)
    if struct is schemas.ChatMessage and "updated" not in fields and "created" in fields:
        fields["updated"] = fields["created"]
    if struct is schemas.ProjectFile:
        if "summaryLastUpdated" not in fields and "summaryLastUpdatedAt" in fields:
            fields["summaryLastUpdated"] = fields.pop("summaryLastUpdatedAt")
        for name in _NULLABLE_FILE_FIELDS:
            fields.setdefault(name, None)
    renamed = (len(fields), set(fields)) != before
    return _upgrade_ticket(fields, struct) or renamed


def _upgrade_ticket(fields: dict[str, Any], struct: type[Record]) -> bool:
    """v0.5.3's ticket and task values (spec section 4) in place; True when any applied."""
    if struct is schemas.TicketTask:
        done = fields.get("done")
        if _is_number(done) and done in (0, 1):
            fields["done"] = done == 1
            return True
        return False
    if struct is not schemas.Ticket:
        return False
    upgraded = fields.get("status") == "done"
    if upgraded:
        fields["status"] = "closed"
    ids = fields.get("suggestedFileIds")
    if isinstance(ids, list) and any(_is_number(i) for i in ids):
        fields["suggestedFileIds"] = [_decimal(i) if _is_number(i) else i for i in ids]
        upgraded = True
    return upgraded


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decimal(number: float) -> str:
    """The number as JavaScript's ``String()`` writes it (no ``.0`` on whole ones below
    1e21, where JavaScript turns to exponents)."""
    if isinstance(number, int) or (number.is_integer() and abs(number) < 1e21):
        return str(int(number))
    return repr(number)


def _check_fields(
    fields: dict[str, Any], struct: type[Record], path: str, out: dict[str, Any]
) -> Iterator[str]:
    for plan in field_plans(struct):
        where = f"{path}.{plan.name}"
        if plan.name not in fields:
            if plan.required:
                yield f"{where}: required field is missing"
            continue
        value = fields[plan.name]
        if value is None and plan.nullable:
            out[plan.name] = None
            continue
        try:
            out[plan.name] = yield from _check_value(plan, value, where)
        except _Invalid as invalid:
            yield f"{where}: {invalid}"


def _check_value(plan: FieldPlan, value: Any, where: str) -> Generator[str, None, Any]:
    if plan.kind == "ts":
        try:
            normalised = normalise_ts(value)
        except TsError as error:
            raise _Invalid(str(error)) from None
        if normalised is None:
            raise _Invalid("expected a timestamp, got null")
        return normalised
    if plan.kind == "plain":
        try:
            return msgspec.convert(value, plan.type)
        except msgspec.ValidationError as error:
            raise _Invalid(_msgspec_message(error)) from None
    assert plan.nested is not None
    if plan.kind == "struct":
        return (yield from _check_nested(value, plan.nested, where))
    if not isinstance(value, list):
        raise _Invalid(f"expected an array, got {type_name(value)}")
    items: list[Any] = []
    for index, item in enumerate(value):
        items.append((yield from _check_nested(item, plan.nested, f"{where}[{index}]")))
    return items


def _check_nested(value: Any, struct: type[Record], where: str) -> Generator[str, None, Any]:
    if not isinstance(value, dict):
        raise _Invalid(f"expected an object, got {type_name(value)}")
    values: dict[str, Any] = {}
    errors = list(_check_fields(value, struct, where, values))
    yield from errors
    return None if errors else struct(**values)


class _Invalid(ValueError):
    """One field's value is wrong; the message says how."""


def _msgspec_message(error: msgspec.ValidationError) -> str:
    # msgspec appends " - at `$...`" for nested paths; our caller already names the field.
    text = str(error)
    message, _, at = text.partition(" - at `$")
    return f"{message} (at {at.rstrip('`')})" if at else message


@functools.cache
def field_plans(struct: type[Record]) -> tuple[FieldPlan, ...]:
    """The slow path's view of a Struct's fields, computed once per Struct."""
    return tuple(_plan(info) for info in msgspec.structs.fields(struct))


def _plan(info: msgspec.structs.FieldInfo) -> FieldPlan:
    members = [t for t in _union_members(info.type) if t is not UnsetType]
    nullable = type(None) in members
    members = [t for t in members if t is not type(None)]
    single = members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007
    nested: type[Record] | None = None
    kind: FieldKind = "plain"
    if single == schemas.TsMs:
        kind = "ts"
    elif isinstance(single, type) and issubclass(single, Record):
        kind, nested = "struct", single
    elif typing.get_origin(single) is list:
        (item,) = typing.get_args(single)
        if isinstance(item, type) and issubclass(item, Record):
            kind, nested = "struct_list", item
    return FieldPlan(info.encode_name, kind, single, info.required, nullable, nested)


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)
