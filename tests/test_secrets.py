"""A provider key's API key never appears in anything a run writes but the database itself."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

import msgspec
import pytest
from conftest import run_cli
from test_outputs import run_on_a_terminal

from asyncmig.source import redact

if TYPE_CHECKING:
    from pathlib import Path

#: Each secret is found by its marker, so a secret cut short by damage is still caught.
SECRETS = {n: f"sk-live-SECRET{n:02d}-7f3a9c1e5b2d4f6a8c0e" for n in range(1, 13)}
MIGRATED = (1, 2, 9)


def _marker(n: int) -> str:
    return f"SECRET{n:02d}"


def _key(n: int, **fields: object) -> str:
    record = {
        "id": 1_700_000_000_000 + n,
        "name": f"key {n}",
        "provider": "openai",
        "key": SECRETS[n],
        "created": 1_700_000_000_000,
        "updated": 1_700_000_000_000,
        **fields,
    }
    return json.dumps(record, indent=2).replace("\n", "\n  ")


def _members(members: list[tuple[str, str]]) -> str:
    return "{\n" + ",\n".join(f'  "{key}": {value}' for key, value in members)


def write_root(base: Path) -> Path:
    """A data root with every way a key can be refused, ending in damage inside a key."""
    members = [
        ("1700000000001", _key(1)),
        ("1700000000002", _key(2)),
        ("1700000000003", _key(3, isDefault="yes")),  # rejected
        ("1700000000004", _key(4, key={"value": SECRETS[4]})),  # rejected, key not a string
        ("1700000000005", _key(1)),  # a copy of the first: a duplicate
        ("1700000000006", json.dumps(SECRETS[6])),  # not an object: a bare key
        # Two "key" members (a dict keeps the last) in a record that is rejected.
        (
            "1700000000007",
            _key(7, isActive="no").replace(
                f'"key": "{SECRETS[7]}"', f'"key": "{SECRETS[7]}", "key": "{SECRETS[8]}"'
            ),
        ),
        ("1700000000009", _key(9)),
        ("1700000000012", _key(12)[:-60]),  # cut inside its key: the file ends there
    ]
    folder = base / "provider_key_storage"
    folder.mkdir(parents=True)
    (folder / "provider_keys.json").write_text(_members(members), encoding="utf-8")
    assert SECRETS[12][:20] in (folder / "provider_keys.json").read_text()
    return base


RUNS: list[tuple[str, ...]] = [
    ("--quiet",),
    (),
    ("--verbose", "--log-file", "{out}/run.log", "--report", "{out}/report.json"),
    ("--verbose", "--rejects", "{out}/explicit.jsonl", "--report", "{out}/report.json"),
    ("--dry-run", "--verbose", "--rejects", "{out}/dry.jsonl", "--report", "{out}/dry.json"),
]


def _written(out: Path) -> dict[str, bytes]:
    """Every file the run wrote, but the database and its side files."""
    return {
        str(p): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file()
        and not p.name.endswith((".db", ".db-wal", ".db-shm", ".db-journal"))
        and not any(part.startswith("backup-") for part in p.relative_to(out).parts)
    }


def _every_output(root: Path, tmp_path: Path) -> dict[str, bytes]:
    """Migrate ``root`` once per verbosity of RUNS: every byte each run wrote or printed."""
    outputs: dict[str, bytes] = {}
    for run, flags in enumerate(RUNS):
        out = tmp_path / f"out-{run}"
        out.mkdir()
        args = [a.format(out=out) for a in flags]
        done = run_cli("--data-dir", root, "--db", out / "o.db", "--progress-interval", "0", *args)
        assert done.returncode == 3, done.stderr
        outputs[f"{out} stdout"] = done.stdout.encode()
        outputs[f"{out} stderr"] = done.stderr.encode()
        outputs.update(_written(out))
    return outputs


def test_no_key_leaks_at_any_verbosity(tmp_path: Path) -> None:
    root = write_root(tmp_path / "data")
    outputs = _every_output(root, tmp_path)
    code, stdout, terminal = run_on_a_terminal(
        "--data-dir", root, "--db", tmp_path / "tty" / "o.db", "--verbose"
    )
    assert code == 3, terminal
    outputs["terminal"] = (stdout + terminal).encode()
    outputs.update(_written(tmp_path / "tty"))

    for n, secret in SECRETS.items():
        leaks = [name for name, text in outputs.items() if _marker(n).encode() in text]
        assert leaks == [], (secret, leaks)
    # The test could fail: the refused keys were read and listed, the good ones migrated.
    assert sum(name.endswith(".jsonl") for name in outputs) == len(RUNS) + 1
    text = (tmp_path / "out-3" / "explicit.jsonl").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert Counter(line["outcome"] for line in lines) == {
        "rejected": 4,
        "duplicate": 1,
        "damaged": 1,
    }
    records = [json.dumps(line["record"]) for line in lines if line["record"] is not None]
    assert len(records) == 5, "originals are written"
    assert all("***redacted***" in record for record in records), records
    assert '"name": "key 3"' in records[0], "the rest of the record is kept"
    database = (tmp_path / "out-1" / "o.db").read_bytes()
    for n in MIGRATED:
        assert _marker(n).encode() in database, n


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (b'{\n  "id": 1,\n  "key": "sk-1"\n}', b'{"id":1,"key":"***redacted***"}'),
        # Members not known to be harmless are redacted too (issue 11): "a", "b".
        (
            b'{"key": {"nested": "sk-1"}, "a": [1, 2]}',
            b'{"key":"***redacted***","a":"***redacted***"}',
        ),
        (
            b'{"key": "sk-1", "key": "sk-2", "b": 1}',
            b'{"key":"***redacted***","b":"***redacted***"}',
        ),
        (b'{"k\\u0065y": "sk-1"}', b'{"key":"***redacted***"}'),
        (b'"sk-1"', b'"***redacted***"'),
        (b'[1, "sk-1"]', b'"***redacted***"'),
        (b'{"name": "\\ud800", "key": "sk-1"}', b'"***redacted***"'),
        (b'{"id": 1, "name": "no key at all"}', b'{"id":1,"name":"no key at all"}'),
    ],
)
def test_provider_key_originals_are_redacted(text: bytes, want: bytes) -> None:
    assert redact.original(msgspec.Raw(text), "provider_keys") == want


def test_other_originals_keep_their_text() -> None:
    text = (
        b'{\n  "id": 1.0,\n  "key": "kept: not a provider key",\n'
        b'  "n": 1e400,\n  "s": "a \\" \\n \\ud800"\n}'
    )
    assert (
        redact.original(msgspec.Raw(text), "projects")
        == b'{"id":1.0,"key":"kept: not a provider key","n":1e400,"s":"a \\" \\n \\ud800"}'
    )


#: Secrets kept under other names: a provider key's other fields and MCP servers' env values.
HIDDEN = {n: f"tok-HIDDEN{n:02d}-2b8e4d6f0a1c3e5f" for n in range(1, 12)}


def _hidden(n: int) -> str:
    return f"HIDDEN{n:02d}"


def _config(n: int, env: object, **fields: object) -> dict[str, object]:
    return {
        "id": n,
        "projectId": 1,
        "name": f"server {n}",
        "command": "npx",
        "args": ["-y", "server"],
        "env": env,
        "created": 1_700_000_000_000,
        "updated": 1_700_000_000_000,
        **fields,
    }


def write_hidden_root(base: Path) -> Path:
    """Keys under other field names, and MCP env values in records that are not migrated,
    ending in a server config file cut inside an env value."""
    keys = {
        "1700000000001": json.loads(_key(1)),  # migrated
        "1700000000002": {**json.loads(_key(2)), "key": None, "apiKey": HIDDEN[1]},
        "1700000000003": {**json.loads(_key(3)), "isDefault": "yes", "token": HIDDEN[2]},
        "1700000000004": {**json.loads(_key(4)), "description": HIDDEN[3], "isActive": 0},
        "1700000000005": {**json.loads(_key(5)), "name": {"value": HIDDEN[4]}},
        "1700000000006": {**json.loads(_key(1)), "clientSecret": HIDDEN[5]},  # a duplicate
    }
    folder = base / "provider_key_storage"
    folder.mkdir(parents=True)
    (folder / "provider_keys.json").write_text(json.dumps(keys, indent=2), encoding="utf-8")
    configs = {
        "1": _config(1, {"LOG_LEVEL": "info", "OPENAI_API_KEY": HIDDEN[6]}),  # migrated
        "2": _config(2, {"GITHUB_TOKEN": HIDDEN[7]}, name=""),  # rejected
        # A copy of the first (a different record with its id would move to a new id).
        "3": _config(1, {"LOG_LEVEL": "info", "OPENAI_API_KEY": HIDDEN[6]}),
        "4": _config(4, f"TOKEN={HIDDEN[9]}"),  # rejected: env is not an object
    }
    mcp = base / "mcp_storage"
    mcp.mkdir()
    (mcp / "mcp_server_configs.json").write_text(json.dumps(configs, indent=2), encoding="utf-8")
    cut = json.dumps({"5": _config(5, {"API_KEY": HIDDEN[10]}), "6": _config(6, {"K": HIDDEN[11]})})
    (mcp / "server_configs.json").write_text(cut[: cut.index(HIDDEN[11]) + 12], encoding="utf-8")
    return base


def test_no_secret_under_another_name_leaks(tmp_path: Path) -> None:
    root = write_hidden_root(tmp_path / "data")
    outputs = _every_output(root, tmp_path)

    for n, secret in HIDDEN.items():
        leaks = [name for name, text in outputs.items() if _hidden(n).encode() in text]
        assert leaks == [], (secret, leaks)
    # The test could fail: every such record was listed, with its original, and read.
    assert any(name.endswith("state.json") for name in outputs)
    text = (tmp_path / "out-3" / "explicit.jsonl").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    by_id = {(line["table"], line["id"]): line for line in lines if line["id"] is not None}
    keys = {n: by_id["provider_keys", f"170000000000{n}"]["record"] for n in (2, 3, 4, 5)}
    assert keys[2]["apiKey"] == keys[3]["token"] == keys[4]["description"] == "***redacted***"
    assert keys[5]["name"] == "***redacted***", "an object under a harmless name"
    assert keys[3]["name"] == "key 3", "harmless fields are kept"
    assert keys[3]["isDefault"] == "yes", "so support sees why the record was refused"
    duplicate = next(
        line
        for line in lines
        if line["outcome"] == "duplicate" and line["table"] == "provider_keys"
    )
    assert duplicate["record"]["clientSecret"] == "***redacted***"
    configs = {n: by_id["mcp_server_configs", n]["record"] for n in ("2", "4")}
    assert configs["2"]["env"] == {"GITHUB_TOKEN": "***redacted***"}, "names kept, values not"
    assert configs["2"]["args"] == ["-y", "server"]
    assert configs["4"]["env"] == "***redacted***"
    mcp_duplicate = next(
        line
        for line in lines
        if line["outcome"] == "duplicate" and line["table"] == "mcp_server_configs"
    )
    redacted = "***redacted***"
    assert mcp_duplicate["record"]["env"] == {"LOG_LEVEL": redacted, "OPENAI_API_KEY": redacted}
    damaged = next(line for line in lines if line["outcome"] == "damaged")
    assert damaged["file"] == "mcp_storage/server_configs.json"
    assert damaged["offset"] is not None
    assert damaged["excerpt"] is None, "no excerpt of a file of secrets"
    database = (tmp_path / "out-1" / "o.db").read_bytes()
    assert _hidden(6).encode() in database, "the migrated env is in the database"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            b'{"id": 1, "name": "n", "provider": "p", "apiKey": "sk-1", "isActive": true}',
            b'{"id":1,"name":"n","provider":"p","apiKey":"***redacted***","isActive":true}',
        ),
        (
            b'{"environment": ["sk-1"], "lastUsed": 5}',
            b'{"environment":"***redacted***","lastUsed":5}',
        ),
        (b'{"description": "backup key sk-1"}', b'{"description":"***redacted***"}'),
    ],
)
def test_provider_key_fields_not_known_harmless_are_redacted(text: bytes, want: bytes) -> None:
    assert redact.original(msgspec.Raw(text), "provider_keys") == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            b'{"id": 1, "env": {"A": "sk-1", "B": {"x": "sk-2"}}, "args": ["-y"]}',
            b'{"id":1,"env":{"A":"***redacted***","B":"***redacted***"},"args":["-y"]}',
        ),
        (b'{"env": "A=sk-1"}', b'{"env":"***redacted***"}'),
        (b'{"env": {"A": "sk-1"}, "env": {"B": "sk-2"}}', b'{"env":{"B":"***redacted***"}}'),
        (b'{"id": 1, "env": {}}', b'{"id":1,"env":{}}'),
        (b'["sk-1"]', b'"***redacted***"'),
    ],
)
def test_mcp_env_values_are_redacted(text: bytes, want: bytes) -> None:
    assert redact.original(msgspec.Raw(text), "mcp_server_configs") == want
