"""Developer sessions: ``nox -s tests``, ``lint``, ``typecheck``, ``bench``, ``demo``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"


def _extra(name: str) -> list[str]:
    """The requirements of one of pyproject.toml's extras (the pinned ``lint`` list), to
    install a tool without the package."""
    extras: dict[str, list[str]] = nox.project.load_toml("pyproject.toml")["project"][
        "optional-dependencies"
    ]
    return extras[name]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite (what CI runs)."""
    session.install("-e", ".[test,bench]")  # the benchmark harness test draws charts
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (the version pinned in pyproject.toml's ``lint`` extra): rules and formatting."""
    session.install(*_extra("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict (pinned in the ``typecheck`` extra) over the package, the tests and the
    benchmarks, with what they import installed."""
    session.install("-e", ".[test,bench,typecheck]")
    session.run("mypy")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmark suite: asyncmig side by side with the alternatives (options after --;
    ``-- --help`` lists them). The default set writes benchmarks/results/."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Generate a sample data root (with every awkward case) and migrate it."""
    session.install("-e", ".")
    session.run("python", "-m", "benchmarks.demo", *session.posargs, success_codes=[0, 3])
