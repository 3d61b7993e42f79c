"""The timestamp rule, the fast and slow validation paths, upgrades, and row building."""

from __future__ import annotations

import json
import random
from typing import Any

import msgspec
import oracle
import pytest

from asyncmig.source import schemas
from asyncmig.source.decode import Entry
from asyncmig.source.layout import BY_TABLE
from asyncmig.source.messages import Reject
from asyncmig.source.records import RowMaker
from asyncmig.source.timestamps import MAX_TS, TsError, normalise_ts
from asyncmig.source.validate import check

MIGRATED_AT = 1_800_000_000_000


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (None, None),
        (5, 5000),
        (0, 0),
        (1.5, 1500),
        (1_700_000_000, 1_700_000_000_000),
        (9_999_999_999, None),  # seconds, after 2050
        (10_000_000_000, 10_000_000_000),
        (1_700_000_000_000, 1_700_000_000_000),
        (1_700_000_000_000.0, 1_700_000_000_000),
        (MAX_TS, MAX_TS),
        ("1700000000000", 1_700_000_000_000),
        (" 1.7e12 ", 1_700_000_000_000),
        ("1700000000", 1_700_000_000_000),
        ("+5", 5000),
        ("2024-05-01T12:00:00Z", 1_714_564_800_000),
        ("2024-05-01T12:00:00+02:00", 1_714_557_600_000),
        ("2024-05-01 12:00:00", 1_714_564_800_000),
        ("2024-05-01T12:00:00.1239Z", 1_714_564_800_123),
        ("2024-05-01", 1_714_521_600_000),
    ],
)
def test_timestamps_normalise(value: object, want: int | None) -> None:
    if want is None and value is not None:
        with pytest.raises(TsError):
            normalise_ts(value)
    else:
        assert normalise_ts(value) == want


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        -1,
        1.0005,
        MAX_TS + 1,
        "",
        "   ",
        "0x10",
        "2024-02-30T00:00:00Z",
        "yesterday",
        [],
        {},
        float("nan"),
    ],
)
def test_timestamps_rejected(value: object) -> None:
    with pytest.raises(TsError):
        normalise_ts(value)


def project(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": 1_700_000_000_001,
        "name": "p",
        "description": "",
        "path": "/p",
        "created": 1_700_000_000_002,
        "updated": 1_700_000_000_003,
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def make(table: str, value: Any, *, strict: bool = False, raw: bool = True) -> Any:
    maker = RowMaker(BY_TABLE[table], strict=strict, migrated_at=MIGRATED_AT)
    entry = Entry(3, None, msgspec.Raw(json.dumps(value).encode()) if raw else value, 10)
    return maker.make(entry)


@pytest.mark.parametrize("raw", [True, False], ids=["whole-file", "streamed"])
def test_both_paths_give_the_same_row(raw: bool) -> None:
    for value in (project(), project(id=5, created="2024-05-01T12:00:00Z", extra=[1])):
        row, upgraded, _ = make("projects", value, raw=raw)
        assert not upgraded
        want = make("projects", value, raw=not raw)
        assert row == want[0]


def test_row_shape_and_times() -> None:
    (row_id, data, created, updated), _, _ = make("projects", project(id=5, extra=1))
    assert row_id == "5000"
    assert data == (
        b'{"id":5000,"name":"p","description":"","path":"/p",'
        b'"created":1700000000002,"updated":1700000000003}'
    )
    assert (created, updated) == (1_700_000_000_002, 1_700_000_000_003)


def test_missing_times_fall_back_to_the_migration_time() -> None:
    key = {
        "id": 1_700_000_000_001,
        "name": "k",
        "provider": "openai",
        "key": "sk-1",
        "created": 0,
        "updated": 0,
    }
    (_, data, created, updated), _, _ = make("provider_keys", key)
    assert (created, updated) == (MIGRATED_AT, MIGRATED_AT)
    assert json.loads(data) == {
        **key,
        "isDefault": False,
        "isActive": True,
        "environment": "production",
    }
    assert list(json.loads(data)) == [
        "id",
        "name",
        "provider",
        "key",
        "isDefault",
        "isActive",
        "environment",
        "created",
        "updated",
    ]
    state = {
        "serverId": 4,
        "status": "running",
        "pid": None,
        "error": None,
        "startedAt": None,
        "lastHeartbeat": None,
    }
    (row_id, _, created, updated), _, _ = make("mcp_server_states", state)
    assert (row_id, created, updated) == ("4", MIGRATED_AT, MIGRATED_AT)


def test_every_error_is_listed() -> None:
    rejected = make("projects", {"id": "proj_lx2a9k_ab12c", "name": 5, "path": None, "created": -1})
    assert isinstance(rejected, Reject)
    assert rejected.index == 3
    assert rejected.offset == 10
    assert rejected.record_id == "proj_lx2a9k_ab12c"
    fields = sorted(e.split(":")[0] for e in rejected.errors)
    assert fields == ["$.created", "$.description", "$.id", "$.name", "$.path", "$.updated"]


def test_nested_errors_name_their_path() -> None:
    message = {
        "id": 1_700_000_000_001,
        "chatId": 1_700_000_000_002,
        "role": "robot",
        "content": "x",
        "created": 1_700_000_000_003,
        "updated": 1_700_000_000_003,
        "attachments": [
            {"id": 1, "fileName": "a", "mimeType": "t", "size": 0, "url": "not a url", "created": 1}
        ],
    }
    rejected = make("chat_messages", message)
    assert isinstance(rejected, Reject)
    where = sorted(e.split(":")[0] for e in rejected.errors)
    assert where == ["$.attachments[0].size", "$.attachments[0].url", "$.role"]


def test_not_an_object_is_rejected() -> None:
    rejected = make("chats", 42)
    assert isinstance(rejected, Reject)
    assert rejected.errors == ["$: expected an object, got number"]


def test_null_only_where_the_schema_allows_it() -> None:
    chat = {
        "id": 1_700_000_000_001,
        "title": "t",
        "projectId": None,
        "created": 1_700_000_000_001,
        "updated": 1_700_000_000_001,
    }
    assert isinstance(make("chats", chat), Reject)
    del chat["projectId"]
    row, _, _ = make("chats", chat)
    assert "projectId" not in json.loads(row[1])


@pytest.mark.parametrize(
    ("table", "legacy", "upgraded_fields"),
    [
        (
            "projects",
            project(
                created=..., updated=..., createdAt=1_700_000_000_005, updatedAt=1_700_000_000_006
            ),
            {"created": 1_700_000_000_005, "updated": 1_700_000_000_006},
        ),
        (
            "chat_messages",
            {
                "id": 1_700_000_000_001,
                "chatId": 1_700_000_000_002,
                "role": "user",
                "content": "hi",
                "created": 1_700_000_000_004,
            },
            {"updated": 1_700_000_000_004},
        ),
        (
            "project_files",
            {
                "id": 1_700_000_000_001,
                "projectId": 1_700_000_000_002,
                "name": "a",
                "path": "a",
                "extension": ".py",
                "size": 1,
                "content": "x",
                "summary": None,
                "summaryLastUpdatedAt": 1_700_000_000,
                "created": 1_700_000_000_004,
                "updated": 1_700_000_000_004,
            },
            {"summaryLastUpdated": 1_700_000_000_000, "meta": None, "checksum": None},
        ),
    ],
)
def test_legacy_shapes_upgrade_unless_strict(
    table: str, legacy: dict[str, Any], upgraded_fields: dict[str, Any]
) -> None:
    (_, data, _, _), upgraded, _ = make(table, legacy)
    assert upgraded
    stored = json.loads(data)
    for name, value in upgraded_fields.items():
        assert stored[name] == value
    assert not {"createdAt", "updatedAt", "summaryLastUpdatedAt"} & set(stored)
    assert isinstance(make(table, legacy, strict=True), Reject)


def test_upgrade_only_where_the_current_key_is_absent() -> None:
    both = project(createdAt=1_600_000_000_000)
    (_, data, _, _), upgraded, _ = make("projects", both)
    assert not upgraded
    assert json.loads(data)["created"] == 1_700_000_000_002


def test_check_builds_the_same_struct_as_the_fast_path() -> None:
    value = project()
    fast = msgspec.convert(value, schemas.Project)
    slow = check(value, schemas.Project, strict=False)
    assert slow.record == fast
    assert slow.errors == ()


def test_timestamp_rule_agrees_with_the_oracle() -> None:
    """20,000 seeded values of every kind through both readings of the rule."""
    seed = 1125
    rng = random.Random(seed)
    print(f"seed {seed}")
    dates = [
        "2024-05-01",
        "2024-05-01T12:00:00",
        "2024-02-29T23:59:59.999Z",
        "2024-02-30T00:00:00Z",
        "1999-12-31 23:59:59+05:30",
        "2049-12-31T23:59:59Z",
    ]
    for _ in range(20_000):
        kind = rng.randrange(6)
        value: object
        if kind == 0:
            value = rng.randrange(-(10**13), 10**13)
        elif kind == 1:
            value = rng.uniform(-1e13, 3e12)
        elif kind == 2:
            value = f"{rng.randrange(0, 10**13)}"
        elif kind == 3:
            value = f" {rng.uniform(0, 3e12):.{rng.randrange(0, 4)}e} "
        elif kind == 4:
            value = rng.choice(dates)
        else:
            value = rng.choice([None, True, "", "x", "0x1F", [], 1e400, "-0", "+5", ".5"])
        try:
            want: object = oracle.normalize_ts(value)
        except oracle.Invalid:
            want = "invalid"
        try:
            got: object = normalise_ts(value)
        except TsError:
            got = "invalid"
        assert got == want, value
