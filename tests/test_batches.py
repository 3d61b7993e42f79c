"""Batches are bounded in rows and in bytes; the byte budget bounds what waits for the writer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import anyio
import pytest

from asyncmig.ipc.order import ByteBudget as _ByteBudget
from asyncmig.source.messages import Done, Job, Reject, Rows
from asyncmig.source.records import read_job

if TYPE_CHECKING:
    from pathlib import Path


def write_chats(path: Path, count: int, title_bytes: int) -> None:
    chats: dict[str, dict[str, object]] = {
        str(1_700_000_000_000 + n): {
            "id": 1_700_000_000_000 + n,
            "title": "t" * title_bytes,
            "created": 1_700_000_000_000,
            "updated": 1_700_000_000_000,
        }
        for n in range(count)
    }
    chats["bad"] = {"id": "bad"}
    path.write_text(json.dumps(chats, indent=2))


@pytest.mark.parametrize(("rows", "nbytes"), [(7, 10**9), (10**6, 5_000), (1, 1)])
def test_batches_respect_rows_and_bytes(tmp_path: Path, rows: int, nbytes: int) -> None:
    path = tmp_path / "chats.json"
    write_chats(path, 50, 900)
    job = Job(0, str(path), "chats", batch_rows=rows, batch_bytes=nbytes)
    messages = list(read_job(job))
    batches = [m for m in messages if isinstance(m, Rows)]
    assert sum(len(b.rows) for b in batches) == 50
    for batch in batches:
        assert len(batch.rows) <= rows
        # A batch ends at the record that reaches the byte bound: one record over at most.
        assert batch.nbytes - len(batch.rows[-1][1]) - len(batch.rows[-1][0]) < nbytes
        assert batch.nbytes == sum(len(r[0]) + len(r[1]) for r in batch.rows)
    assert [b.consumed for b in batches] == sorted(b.consumed for b in batches)
    assert [m.index for m in messages if isinstance(m, Reject)] == [50]
    assert messages[-1] == Done(51)


@pytest.mark.anyio
async def test_byte_budget_holds_back_files_after_the_head() -> None:
    budget = _ByteBudget(100)
    budget.advance(0)
    await budget.acquire(80, file_no=1)
    passed: list[str] = []

    async def later() -> None:
        await budget.acquire(50, file_no=2)  # over the limit, not the head: waits
        passed.append("file 2")

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(later)
        await anyio.sleep(0.05)
        assert passed == []
        await budget.acquire(500, file_no=0)  # the head always passes
        assert budget.used == 580
        budget.release(500)
        await anyio.sleep(0.05)
        assert passed == []
        budget.release(80)
        await anyio.sleep(0.05)
        assert passed == ["file 2"]
    assert budget.used == 50


def test_files_not_migrated_are_counted_whatever_their_container(tmp_path: Path) -> None:
    for text, found in (('[1, 2, {"a": 3}]', 3), ('{"a": 1, "b": [2]}', 2), ("[]", 0)):
        path = tmp_path / "kv-store.json"
        path.write_text(text)
        assert list(read_job(Job(0, str(path), None))) == [Done(found)]
    path.write_text('"just a string"')
    (done,) = read_job(Job(0, str(path), None))
    assert isinstance(done, Done)
    assert done.damage_message == "expected a JSON object, found a string"
