"""Reading files: both readers, every kind of damage, exact offsets, duplicate keys."""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING

import msgspec
import oracle
import pytest

from asyncmig.source import decode, scan

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

GOOD = (
    '{\n  "1": {"a": 1, "s": "h\u00e9llo \U0001f600"},\n  "2": {"a": 2, "b": [1, 2]},\n'
    '  "3": {"a": 3}\n}'
).encode()


@pytest.fixture(params=["whole-file", "scanned"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each reader: whole files with msgspec, and the windowed scanner."""
    if request.param == "scanned":
        monkeypatch.setattr(decode, "WHOLE_FILE_LIMIT", 0)
        monkeypatch.setattr(scan, "READ_SIZE", 7)  # windows far smaller than an entry
    return str(request.param)


def read(
    path: Path, data: bytes, top: decode.TopLevel = "object"
) -> tuple[list[str | None], decode.Damaged | None]:
    path.write_bytes(data)
    keys: list[str | None] = []
    try:
        for entry in decode.entries(path, top):
            assert entry.index == len(keys)
            keys.append(entry.key)
    except decode.Damaged as damage:
        return keys, damage
    return keys, None


def test_good_file(reader: str, tmp_path: Path) -> None:
    keys, damage = read(tmp_path / "f.json", GOOD)
    assert (keys, damage) == (["1", "2", "3"], None)
    offsets = [entry.offset for entry in decode.entries(tmp_path / "f.json", "object")]
    if reader == "scanned":  # it read the file itself: no fallback to ijson
        assert offsets == [GOOD.index(b'{"a": %d' % n) for n in (1, 2, 3)]


def test_whole_file_reader_knows_offsets_off_the_usual_layout(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    text = GOOD.replace(b"\n  ", b"\n    ")  # not the server's two-space layout
    path.write_bytes(text)
    for entry in decode.entries(path, "object"):
        assert entry.offset is not None
        value = json.loads(text[entry.offset :].decode().split("\n")[0].rstrip(","))
        assert value["a"] == int(entry.key or 0)


CUT_IN_CHAR = GOOD.index("\U0001f600".encode()) + 2


@pytest.mark.parametrize(
    ("name", "data", "keys", "offset", "message"),
    [
        ("empty", b"", [], 0, "empty"),
        ("blanks", b" \n ", [], 3, "blanks"),
        ("null", b"null", [], 0, "found null"),
        ("array", b"[1, 2]", [], 0, "found an array"),
        ("truncated", GOOD[:60], ["1"], 60, "premature EOF"),
        ("cut in a UTF-8 character", GOOD[:CUT_IN_CHAR], [], CUT_IN_CHAR, "UTF8"),
        (
            "invalid UTF-8",
            GOOD.replace(b'{"a": 3}', b'{"a": "\xff"}'),
            ["1", "2"],
            GOOD.index(b'{"a": 3}') + 7,
            "UTF8",
        ),
        (
            "missing colon",
            GOOD.replace(b'"3":', b'"3" '),
            ["1", "2"],
            GOOD.index(b'"3":') + 5,
            "colon",
        ),
        ("trailing garbage", GOOD + b"x", ["1", "2", "3"], len(GOOD), "trailing garbage"),
    ],
)
def test_damage(
    reader: str, tmp_path: Path, name: str, data: bytes, keys: list[str], offset: int, message: str
) -> None:
    got, damage = read(tmp_path / "f.json", data)
    assert got == keys, name
    assert damage is not None, name
    assert damage.offset == offset, name
    assert message in damage.message, name
    assert "\n" not in damage.message


def test_duplicate_keys_are_all_read(reader: str, tmp_path: Path) -> None:
    keys, damage = read(tmp_path / "f.json", GOOD.replace(b'"2":', b'"1":'))
    assert (keys, damage) == (["1", "1", "3"], None)


def test_arrays(reader: str, tmp_path: Path) -> None:
    keys, damage = read(tmp_path / "a.json", b'[\n  {"a": 1},\n  {"a": 2}\n]', "array")
    assert (keys, damage) == ([None, None], None)
    keys, damage = read(tmp_path / "a.json", b'[\n  {"a": 1},\n  {"a": 2', "array")
    assert keys == [None]
    assert damage is not None
    _, damage = read(tmp_path / "a.json", b'{"a": 1}', "array")
    assert damage is not None
    assert "expected a JSON array, found an object" in damage.message


def test_the_c_backend_is_in_use() -> None:
    assert decode.backend_warning() is None


@pytest.mark.parametrize("top", ["object", "array"])
def test_readers_agree_on_randomly_damaged_files(tmp_path: Path, top: decode.TopLevel) -> None:
    """Cut and corrupt a real-looking file at 400 seeded places: the whole-file reader and
    the windowed scanner must yield the same entries and damage, and the entries the
    oracle (the spec's reading: every value complete before the damage) finds."""
    seed = 20261125
    rng = random.Random(seed)
    print(f"seed {seed}")
    records = {
        str(1_700_000_000_000 + n): {
            "id": 1_700_000_000_000 + n,
            "content": "".join(
                rng.choice('ab "\\\n\té日😀{}[],:') for _ in range(rng.randrange(60))
            ),
            "n": [n, n / 3, None, True],
        }
        for n in range(12)
    }
    shaped = records if top == "object" else list(records.values())
    good = json.dumps(shaped, indent=2, ensure_ascii=False).encode()
    path = tmp_path / "f.json"
    for _ in range(400):
        data = bytearray(good)
        if rng.random() < 0.5:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randrange(1, 3)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data))
        whole = _read_with(_whole, path, top)
        assert whole == _read_with(_scanned, path, top), bytes(data)
        values, damaged = oracle.parse_entries(bytes(data), array=top == "array")
        assert [value for _, value in whole[0]] == values, bytes(data)
        assert (whole[1] is not None) == damaged, bytes(data)


def _whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "WHOLE_FILE_LIMIT", 1 << 30)


def _scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "WHOLE_FILE_LIMIT", 0)
    monkeypatch.setattr(scan, "READ_SIZE", 64)


def _read_with(
    setup: Callable[[pytest.MonkeyPatch], None], path: Path, top: decode.TopLevel
) -> tuple[list[tuple[str | None, object]], tuple[int, str] | None]:
    with pytest.MonkeyPatch.context() as patch:
        setup(patch)
        got: list[tuple[str | None, object]] = []
        try:
            for entry in decode.entries(path, top):
                value = entry.value
                parsed = json.loads(bytes(value)) if isinstance(value, msgspec.Raw) else value
                got.append((entry.key, parsed))
        except decode.Damaged as damage:
            return got, (damage.offset, damage.message)
        return got, None
