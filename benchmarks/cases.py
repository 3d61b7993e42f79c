"""The benchmark cases, one line each, and the command line each one runs.

``ASYNCMIG_CASES`` is asyncmig as a user runs it; its first entry is the baseline every
ratio and target is computed against: the migration alone (``--no-backup``), since no
other case copies the data root first. The defaults, backup included, follow it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

Kind = Literal["asyncmig", "write-floor", "parse-floor", "naive", "sqlite-utils"]


@dataclass(frozen=True, slots=True)
class Case:
    """One way of migrating (or reading) a data root, measured side by side with the others."""

    key: str
    label: str
    kind: Kind
    args: tuple[str, ...] = ()
    #: Sweeps run on the sweep root only (1 GB many files by default).
    sweep: bool = False
    #: On roots of 1 GB and more (unless ``--full``): slow cases run ``--slow-repeats``
    #: times, and only on the shapes in ``big_shapes``.
    slow: bool = False
    big_shapes: tuple[str, ...] = ("many", "few")
    #: The case reports the time of its measured part itself (a floor).
    self_timed: bool = False
    #: Runs on a sibling of the root (same size and shape) where this share of the project
    #: files and chat messages reuse an id already taken: all different records, re-keyed.
    collide: float = 0.0
    #: Another checkout of asyncmig the case runs from instead of this one (``--against``).
    tree: str | None = None


#: asyncmig through ``python -m asyncmig``; the first entry is the baseline.
ASYNCMIG_CASES: Final = (
    Case("asyncmig", "asyncmig --no-backup (the migration alone)", "asyncmig", ("--no-backup",)),
    Case(
        "asyncmig-defaults",
        "asyncmig (defaults: verified backup of the data root first)",
        "asyncmig",
    ),
    # The same load into staging tables, then the conversion into Promptliano's tables.
    Case(
        "asyncmig-promptliano",
        "asyncmig --no-backup --target promptliano-0.12",
        "asyncmig",
        ("--no-backup", "--target", "promptliano-0.12"),
    ),
)

#: Arguments every sweep run adds before its own: the migration alone, as the baseline.
SWEEP_BASE_ARGS: Final[tuple[str, ...]] = ("--no-backup",)

#: sqlite-utils took 20-40 s a run at 1 GB, and 2.4-5.7 GB of RSS on few big files: the
#: default set runs it at 1 GB on many files only (the target's shape), and at 100 MB on both.
SQLITE_UTILS_BIG_SHAPES: Final = ("many",)

COMPARISON_CASES: Final = (
    Case(
        "write-floor",
        "write floor: sqlite3 executemany of the final rows",
        "write-floor",
        self_timed=True,
    ),
    Case(
        "write-floor-promptliano",
        "write floor, Promptliano: sqlite3 executemany of its final rows",
        "write-floor",
        ("--target", "promptliano-0.12"),
        self_timed=True,
    ),
    Case("parse-floor", "parse floor: ijson yajl2_c, count records", "parse-floor"),
    Case("naive", "naive script: json.load + executemany", "naive"),
    Case(
        "sqlite-utils-nl",
        "sqlite-utils insert --nl (JSON Lines)",
        "sqlite-utils",
        ("--nl",),
        slow=True,
        big_shapes=SQLITE_UTILS_BIG_SHAPES,
    ),
    Case(
        "sqlite-utils-array",
        "sqlite-utils insert (JSON array)",
        "sqlite-utils",
        slow=True,
        big_shapes=SQLITE_UTILS_BIG_SHAPES,
    ),
)

SWEEP_CASES: Final = tuple(
    Case(
        f"batch-{n}",
        f"asyncmig --batch-size {n}",
        "asyncmig",
        (*SWEEP_BASE_ARGS, "--batch-size", str(n)),
        sweep=True,
        slow=True,
    )
    for n in (100, 1_000, 10_000, 100_000)
) + tuple(
    Case(
        f"workers-{n}",
        f"asyncmig --workers {n}",
        "asyncmig",
        (*SWEEP_BASE_ARGS, "--workers", str(n)),
        sweep=True,
        slow=True,
    )
    for n in (1, 2, 4)
)

#: The re-keying pair's colliding half; its other half is the baseline on the plain root
#: (same size, shape and seed): the cost of re-keying, and whether memory grows with it.
#: At 1 GB it runs on many files only, like sqlite-utils: one extra 1 GB root to generate.
COLLIDING: Final = Case(
    "asyncmig-collide-5",
    "asyncmig --no-backup, 5 % of the records colliding (re-keyed)",
    "asyncmig",
    ("--no-backup",),
    big_shapes=("many",),
    collide=0.05,
)

CASES: Final = ASYNCMIG_CASES + COMPARISON_CASES + SWEEP_CASES + (COLLIDING,)
BASELINE: Final = ASYNCMIG_CASES[0]
#: "1 GB, no collisions" (the baseline) against "1 GB, 5 % colliding".
REKEY_CASES: Final = (BASELINE, COLLIDING)


#: The asyncmig case whose database the Promptliano write floor copies.
PROMPTLIANO: Final = ASYNCMIG_CASES[-1]


def promptliano_reference(reference: Path) -> Path:
    """Beside the v0.6.0 reference: a finished Promptliano database of the same root."""
    return reference.with_name("reference-promptliano.db")


def command(case: Case, data: Path, db: Path, *, reference: Path, converted: Path) -> list[str]:
    """The command line of one run of ``case`` on the data root ``data`` into ``db``.

    ``reference`` is a finished asyncmig database (the write floor's rows); ``converted``
    the folder of files the sqlite-utils cases insert."""
    python = [sys.executable, "-m"]
    match case.kind:
        case "asyncmig":
            return [*python, "asyncmig", "--data-dir", str(data), "--db", str(db), *case.args]
        case "write-floor":
            source = promptliano_reference(reference) if case.args else reference
            return [*python, "benchmarks.floors", "write", str(source), str(db), *case.args]
        case "parse-floor":
            return [*python, "benchmarks.floors", "parse", str(data), *case.args]
        case "naive":
            return [*python, "benchmarks.naive", str(data), str(db), *case.args]
        case "sqlite-utils":
            return [
                *python,
                "benchmarks.sqlite_utils_case",
                "insert",
                str(db),
                str(converted),
                *case.args,
            ]


def against(cases: Sequence[Case], tree: Path) -> list[Case]:
    """Each asyncmig case of ``cases`` once more, run from the checkout ``tree`` (its key
    and label name the tree's commit): before and after a change, measured side by side."""
    git = shutil.which("git")
    found = git and subprocess.run(
        [git, "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    rev = found.stdout.strip() if found and found.returncode == 0 else tree.name
    return [
        replace(case, key=f"{case.key}@{rev}", label=f"{case.label}, at {rev}", tree=str(tree))
        for case in cases
        if case.kind == "asyncmig" and case.tree is None
    ]
