"""``python -m asyncmig verify``: passes on good migrations, names every difference it finds."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from conftest import run_cli

import asyncmig
from asyncmig.cli import main
from asyncmig.verify.run import verify

if TYPE_CHECKING:
    from pathlib import Path

    from asyncmig.verify.result import Verification
    from benchmarks.generate import GenerateResult

Migrated = tuple["Path", "Path", asyncmig.Report]


def _migrate(root: Path, db: Path, **options: Any) -> asyncmig.Report:
    return anyio.run(
        asyncmig.migrate,
        asyncmig.Options(data_dir=root, db=db, batch_size=7, workers=2, **options),
        backend="asyncio",
    )


@pytest.fixture(scope="module")
def traps(trap_root: GenerateResult, tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    db = tmp_path_factory.mktemp("verify") / "traps.db"
    return trap_root.root, db, _migrate(trap_root.root, db)


def _copy(migrated: Migrated, tmp_path: Path) -> Path:
    """A private copy of a migrated database, to alter."""
    db = tmp_path / "copy.db"
    shutil.copyfile(migrated[1], db)
    return db


def _sql(db: Path, *statements: str) -> Any:
    """Run ``statements``; the first column of the last one's first row."""
    with closing(sqlite3.connect(db)) as conn, conn:
        row = None
        for statement in statements:
            row = conn.execute(statement).fetchone()
    return row[0] if row else None


def _verify(root: Path, db: Path) -> Verification:
    return anyio.run(verify, root, db, backend="asyncio")


def test_a_good_migration_with_traps_verifies(traps: Migrated) -> None:
    root, db, report = traps
    # The trap data holds what verify must leave out as the migration did.
    assert report.totals.rejected > 0
    assert report.totals.duplicate > 0
    assert report.totals.orphaned > 0
    result = _verify(root, db)
    assert result.ok, result.summary()
    for table, check in result.tables.items():
        migrated = report.tables[table].migrated if table in report.tables else 0
        assert (check.expected, check.stored) == (migrated, migrated), table
    assert "verified: the database matches the source" in result.summary()


def test_a_clean_migration_verifies_through_the_cli(
    clean_root: GenerateResult, tmp_path: Path
) -> None:
    db = tmp_path / "clean.db"
    assert _migrate(clean_root.root, db).exit_code == 0
    done = run_cli("verify", "--data-dir", clean_root.root, "--db", db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified: the database matches the source" in done.stdout
    assert done.stderr == ""


def test_an_altered_row_is_named(traps: Migrated, tmp_path: Path) -> None:
    db = _copy(traps, tmp_path)
    row_id = _sql(
        db,
        "UPDATE chat_messages SET data = json_set(data, '$.content', 'changed') "
        "WHERE rowid = 6 RETURNING id",
    )
    done = run_cli("verify", "--data-dir", traps[0], "--db", db)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"chat_messages id {row_id}: altered (data differs)" in done.stdout
    assert "NOT verified: 1 difference(s)" in done.stdout


def test_a_changed_timestamp_is_named(traps: Migrated, tmp_path: Path) -> None:
    db = _copy(traps, tmp_path)
    row_id = _sql(db, "UPDATE projects SET created_at = 5 WHERE rowid = 2 RETURNING id")
    result = _verify(traps[0], db)
    [mismatch] = result.tables["projects"].listed
    assert (mismatch.row_id, mismatch.kind) == (row_id, "altered")
    assert mismatch.detail.startswith("created_at is 5, expected ")
    assert result.differences == 1


def test_a_deleted_row_is_named_missing(traps: Migrated, tmp_path: Path) -> None:
    db = _copy(traps, tmp_path)
    row_id = _sql(db, "DELETE FROM prompts WHERE rowid = 3 RETURNING id")
    result = _verify(traps[0], db)
    check = result.tables["prompts"]
    assert (check.missing, check.stored, check.expected) == (1, check.expected - 1, check.expected)
    assert [(m.row_id, m.kind) for m in check.listed] == [(row_id, "missing")]
    assert not result.ok
    assert f"prompts id {row_id}: missing" in result.summary()


def test_an_added_row_is_named_extra(traps: Migrated, tmp_path: Path) -> None:
    db = _copy(traps, tmp_path)
    _sql(db, "INSERT INTO tickets VALUES ('42', '{}', 1, 1)")
    _sql(db, "INSERT INTO chats SELECT '7', data, created_at, updated_at FROM chats LIMIT 1")
    result = _verify(traps[0], db)
    assert [(m.table, m.row_id, m.kind) for m in result.tables["tickets"].listed] == [
        ("tickets", "42", "extra")
    ]
    assert [(m.row_id, m.kind) for m in result.tables["chats"].listed] == [("7", "extra")]
    assert result.differences == 2


def test_the_listing_is_capped_and_the_rest_counted(traps: Migrated, tmp_path: Path) -> None:
    db = _copy(traps, tmp_path)
    _sql(db, "DELETE FROM chat_messages")
    expected = traps[2].tables["chat_messages"].migrated
    result = _verify(traps[0], db)
    check = result.tables["chat_messages"]
    assert check.missing == expected > 20
    assert len(check.listed) == 20
    assert f"... and {expected - 20:,} more in chat_messages" in result.summary()


def test_a_dropped_index_and_a_journal_mode_are_named(traps: Migrated, tmp_path: Path) -> None:
    db = _copy(traps, tmp_path)
    _sql(db, "DROP INDEX idx_chat_messages_chatId", "PRAGMA journal_mode = DELETE")
    result = _verify(traps[0], db)
    assert result.schema == [
        "index idx_chat_messages_chatId is missing",
        "journal mode is delete, not wal",
    ]
    assert all(not check.differences for check in result.tables.values())
    assert not result.ok


def test_an_include_orphans_run_verifies_and_its_orphans_count(
    traps: Migrated, tmp_path: Path
) -> None:
    root, _, default = traps
    db = tmp_path / "orphans.db"
    _migrate(root, db, include_orphans=True)
    assert _verify(root, db).ok
    # The same database, said to be migrated without the flag: the orphans become extra rows.
    _sql(db, "UPDATE asyncmig_run SET value = 'false' WHERE key = 'include_orphans'")
    result = _verify(root, db)
    extra = {t: c.extra for t, c in result.tables.items() if c.differences}
    assert set(extra) == {"project_files", "chat_messages", "ticket_tasks"}
    # Links of an orphan folder have no ticket to fold into, with the flag too.
    orphans = {t: c.orphaned for t, c in default.tables.items() if c.orphaned and t in extra}
    assert extra == orphans
    assert result.differences == sum(extra.values())


def test_a_strict_run_verifies_and_what_it_rejected_counts(traps: Migrated, tmp_path: Path) -> None:
    root, _, default = traps
    db = tmp_path / "strict.db"
    strict = _migrate(root, db, strict=True)
    assert _verify(root, db).ok
    # Said to be migrated without --strict: the upgraded records become missing rows.
    _sql(db, "UPDATE asyncmig_run SET value = 'false' WHERE key = 'strict'")
    result = _verify(root, db)
    missing = {t: c.missing for t, c in result.tables.items() if c.differences}
    assert "projects" in missing
    fewer = {
        t: default.tables[t].migrated - c.migrated
        for t, c in strict.tables.items()
        if t in result.tables  # links are folded into tickets: not a table
    }
    assert missing == {t: n for t, n in fewer.items() if n}
    assert result.differences == sum(missing.values())


def test_a_missing_database_is_refused(trap_root: GenerateResult, tmp_path: Path) -> None:
    db = tmp_path / "absent.db"
    assert main(["verify", "--data-dir", str(trap_root.root), "--db", str(db)]) == 2
    assert not db.exists()


def test_a_missing_data_dir_is_refused(traps: Migrated, tmp_path: Path) -> None:
    assert main(["verify", "--data-dir", str(tmp_path / "nope"), "--db", str(traps[1])]) == 2


def test_a_dropped_table_is_named_and_its_rows_missing(traps: Migrated, tmp_path: Path) -> None:
    db = _copy(traps, tmp_path)
    _sql(db, "DROP TABLE prompts")
    result = _verify(traps[0], db)
    assert result.schema == [
        "table prompts is missing",
        "index idx_prompts_created_at is missing",
        "index idx_prompts_updated_at is missing",
    ]
    check = result.tables["prompts"]
    assert (check.missing, check.stored) == (traps[2].tables["prompts"].migrated, 0)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("DROP TABLE asyncmig_run", "was not written by asyncmig"),
        ("UPDATE asyncmig_run SET value = 'loading' WHERE key = 'status'", "did not complete"),
    ],
)
def test_a_database_that_is_no_finished_migration_is_refused(
    traps: Migrated,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    statement: str,
    message: str,
) -> None:
    db = _copy(traps, tmp_path)
    _sql(db, statement)
    assert main(["verify", "--data-dir", str(traps[0]), "--db", str(db)]) == 2
    assert message in capsys.readouterr().err
