"""What a resume keeps and what it loads again, worked out from the ledger and today's plan;
what the earlier runs did (for a summary of this run's work); and the refusals a ledger
calls for (nothing to resume, other settings, a migration there)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from asyncmig.errors import ConfigError
from asyncmig.results import EarlierRuns
from asyncmig.storage import path_text

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from asyncmig.load.ledger.tables import Checkpoint, FileRecord
    from asyncmig.options import Options
    from asyncmig.source.plan import SourceFile


@dataclass(slots=True)
class Resume:
    """What a resume keeps and what it loads again."""

    #: Plan files whose earlier result stands: not read again.
    kept: list[tuple[SourceFile, FileRecord]] = field(default_factory=list)
    #: The file the interrupted run was in, if it is unchanged: resumed after ``consumed``.
    partial: tuple[SourceFile, FileRecord] | None = None
    #: Ledger rows from this file number on are dropped, with every row they loaded.
    drop_from: int = 0
    #: Why files are loaded again, for the report.
    redone: list[str] = field(default_factory=list)

    @property
    def skip(self) -> dict[int, FileRecord]:
        """Plan file number -> the record of a file resumed part-way."""
        return {self.partial[0].file_no: self.partial[1]} if self.partial else {}


def plan_resume(
    checkpoint: Checkpoint, migrated: Sequence[SourceFile], digest: Callable[[Path], str]
) -> Resume:
    """Compare the interrupted run's plan with today's: keep the done and unchanged prefix
    (size, mtime and content hash all equal), resume the file it stopped in if unchanged."""
    records = checkpoint.files
    kept = 0
    while (
        kept < min(len(records), len(migrated))
        and records[kept].done
        and records[kept].same_stat(migrated[kept])
    ):
        kept += 1
    for position in range(kept):  # content hashes: an edit that kept size and mtime
        if _digest_differs(records[position], migrated[position], digest):
            kept = position
            break
    kept = _tickets_again(checkpoint, migrated, kept)
    resume = Resume(kept=list(zip(migrated[:kept], records[:kept], strict=True)))
    resume.drop_from = kept
    if kept < len(records) and kept < len(migrated):
        record, source = records[kept], migrated[kept]
        unchanged = record.same_stat(source) and not _digest_differs(record, source, digest)
        if record.status in ("started", "loading") and unchanged:
            resume.partial = (source, record)
            resume.drop_from = kept + 1
            return resume
    earlier = "the finished migration" if checkpoint.run.status == "complete" else None
    resume.redone = _describe_changes(records, migrated, kept, earlier or "the interrupted run")
    return resume


#: Tables whose rows later steps change in place: links are folded into tickets, and the
#: step after the load makes tickets' file references follow moved files.
_CHANGED_IN_PLACE: Final = frozenset({"tickets", "ticket_file_links"})


def _tickets_again(checkpoint: Checkpoint, migrated: Sequence[SourceFile], kept: int) -> int:
    """Where the kept prefix must end so that tickets are loaded again whenever a change
    reaches them: after the step after the load ran (their references followed moved
    files), or when a links file folded into them is loaded again."""
    records = checkpoint.files
    again = [r for r in records[kept:] if r.status != "planned"]
    if not again:
        return kept
    if not checkpoint.run.rekeyed and all(r.table not in _CHANGED_IN_PLACE for r in again):
        return kept
    first = next((n for n, f in enumerate(migrated) if f.table == "tickets"), None)
    return kept if first is None else min(kept, first)


def _digest_differs(record: FileRecord, source: SourceFile, digest: Callable[[Path], str]) -> bool:
    return record.digest is not None and digest(source.path) != record.digest


def _describe_changes(
    records: Sequence[FileRecord], migrated: Sequence[SourceFile], kept: int, earlier: str
) -> list[str]:
    """Why files the ``earlier`` run had loaded are loaded again (nothing if none were)."""
    again = sum(r.status != "planned" for r in records[kept:])
    if not again:
        return []
    record = records[kept]
    if kept >= len(migrated) or record.path not in {f.rel for f in migrated}:
        why = f"{record.path} is gone since {earlier}"
    elif record.path != migrated[kept].rel:
        why = f"{migrated[kept].rel} was added since {earlier}"
    else:
        why = f"{record.path} changed since {earlier}"
    return [f"{why}: the {again} file(s) loaded from there on are migrated again"]


def earlier_runs(
    kept: Resume | None, found: Checkpoint | None, rejects: Sequence[str]
) -> EarlierRuns | None:
    """What the runs before a resume did: their records, bytes and those of their rejects
    files ``rejects`` that still exist."""
    if kept is None or found is None:
        return None
    records = sum(record.counts.found for _, record in kept.kept)
    if kept.partial is not None:  # its committed part is not read again
        records += kept.partial[1].counts.seen
    return EarlierRuns(
        status=found.run.status,
        records=records,
        nbytes=sum(item.size for item, _ in kept.kept),
        rejects_files=tuple(dict.fromkeys(p for p in rejects if Path(p).is_file())),
    )


def recorded_rejects(found: Checkpoint) -> list[str]:
    """The rejects files the ledger says the runs so far wrote, oldest first."""
    try:
        recorded = json.loads(found.run.rejects or "[]")
    except ValueError:
        return []
    return [str(path) for path in recorded] if isinstance(recorded, list) else []


def set_aside_rejects(found: Checkpoint, this_run: Path | None) -> list[str]:
    """The earlier runs' rejects files, oldest first. One that this run would write over
    (the same ``--rejects`` given again, or a default name made in the same second) is
    first renamed to ``<name>.earlier-<n><suffix>``, so the records it lists stay listed."""
    earlier = recorded_rejects(found)
    if this_run is None:
        return earlier
    mine = str(this_run.absolute())
    if mine not in earlier or not this_run.is_file():
        return [path for path in earlier if path != mine]
    number = 1
    while (
        aside := this_run.with_name(f"{this_run.stem}.earlier-{number}{this_run.suffix}")
    ).exists():
        number += 1
    os.replace(this_run, aside)
    return [str(aside.absolute()) if path == mine else path for path in earlier]


def refuse_unless_resumable(options: Options, found: Checkpoint | None) -> Checkpoint:
    """The checkpoint ``--resume`` continues; ConfigError when there is none to continue,
    or it was made from another data root or with other settings."""
    db = options.db
    if found is None:
        state = "does not exist" if not db.exists() else "holds no asyncmig migration"
        raise ConfigError(f"nothing to resume: {db} {state}; run without --resume to migrate")
    recorded = found.run.data_dir
    if recorded != path_text(options.data_dir.resolve()):
        raise ConfigError(
            f"{db} holds a migration of {recorded}, not of {options.data_dir.resolve()}: "
            f"resume it with --data-dir {recorded}, or start over with --force"
        )
    for name in ("strict", "include_orphans"):
        if bool(getattr(found.run, name)) != getattr(options, name):
            flag = "--" + name.replace("_", "-")
            was = "with" if getattr(found.run, name) else "without"
            raise ConfigError(f"the interrupted migration ran {was} {flag}: resume it the same way")
    return found


def refuse_if_migrated(options: Options, found: Checkpoint | None) -> None:
    """A database holding a migration is only started over on ``--force``."""
    if options.force or found is None:
        return
    db = options.db
    if found.run.status != "complete":
        raise ConfigError(
            f"{db} holds an incomplete migration ({found.done_files} of {len(found.files)} "
            "files done): run again with --resume to finish it, or with --force to move it "
            "into a backup folder and start over"
        )
    raise ConfigError(
        f"{db} already holds a completed migration of {found.run.data_dir}: use "
        "--resume to bring it up to date with changed files, or --force to move it into a "
        "backup folder and migrate again"
    )
