"""The package's shape, read from the source with ``ast`` (nothing is imported): no import
cycles, imports point down the layers, the parser side stays small, and every subpackage's
docstring says what it owns and what it may import."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Final

#: The layers, lowest first. A module may import its own layer or a lower one, never a
#: higher one. ``x.*`` is the module or subpackage ``x`` and everything under it (so a
#: subpackage's ``__init__`` is in its own layer); a name without ``.*`` is that module only.
LAYERS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("base", ("asyncmig.errors", "asyncmig.options", "asyncmig.results", "asyncmig.storage")),
    ("source", ("asyncmig.source.*",)),  # runs in the parser processes
    ("ipc", ("asyncmig.ipc.*",)),  # the process boundary: wire, worker, client, order
    ("targets", ("asyncmig.targets.*",)),  # what a target database is
    ("output", ("asyncmig.output.*",)),  # report, rejects, progress, state and report files
    ("safety", ("asyncmig.safety.*",)),  # refusals, backup, rollback, fault points
    ("load", ("asyncmig.load.*",)),  # ledger, writer, apply, start, pipeline
    ("verify", ("asyncmig.verify.*",)),
    ("entry", ("asyncmig.cli.*", "asyncmig", "asyncmig.__main__")),
)

#: What runs in the parser processes, and what it must not import: each would make every
#: parser process bigger and slower to start, and none of them is needed there.
PARSER_SIDE: Final = ("asyncmig.source.*", "asyncmig.ipc.worker", "asyncmig.ipc.wire")
NOT_IN_PARSERS: Final = frozenset({"aiosqlite", "anyio", "rich"})

PACKAGE_DIR: Final = Path(__file__).resolve().parent.parent / "asyncmig"


def matches(module: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        prefix = pattern.removesuffix(".*")
        return module == prefix or module.startswith(prefix + ".")
    return module == pattern


def layer_of(module: str) -> int | None:
    for index, (_, patterns) in enumerate(LAYERS):
        if any(matches(module, pattern) for pattern in patterns):
            return index
    return None


def layer_name(module: str) -> str:
    index = layer_of(module)
    return "no layer" if index is None else f"{index} {LAYERS[index][0]}"


def parser_side(module: str) -> bool:
    return any(matches(module, pattern) for pattern in PARSER_SIDE)


@dataclass(frozen=True)
class Import:
    """One name one module imports."""

    module: str
    target: str  # a module of the package, resolved; otherwise the name as written
    line: int
    typing_only: bool  # under ``if TYPE_CHECKING:``, so never imported at run time

    def __str__(self) -> str:
        return f"{self.module} imports {self.target} (line {self.line})"

    @property
    def not_in_parsers(self) -> bool:
        return self.target.split(".")[0] in NOT_IN_PARSERS


class _ImportFinder(ast.NodeVisitor):
    """Every import statement, at any depth, and whether it sits under TYPE_CHECKING."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []
        self._typing_only = False

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if name != "TYPE_CHECKING":
            self.generic_visit(node)
            return
        outer, self._typing_only = self._typing_only, True
        for child in node.body:
            self.visit(child)
        self._typing_only = outer
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self._typing_only))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self._typing_only))


class Package:
    """A package's modules and their imports, read from its folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @functools.cached_property
    def modules(self) -> dict[str, Path]:
        """Every module by dotted name (a package by its ``__init__``)."""
        found = {}
        for path in sorted(self.folder.rglob("*.py")):
            parts = path.relative_to(self.folder.parent).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
        return found

    @functools.cached_property
    def imports(self) -> tuple[Import, ...]:
        found: list[Import] = []
        for module, path in self.modules.items():
            finder = _ImportFinder()
            finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
            for node, typing_only in finder.found:
                found.extend(
                    Import(module, target, node.lineno, typing_only)
                    for target in dict.fromkeys(self._targets(module, node))
                )
        return tuple(found)

    @property
    def internal(self) -> list[Import]:
        return [i for i in self.imports if matches(i.target, self.folder.name + ".*")]

    def graph(self, *, runtime_only: bool = False) -> dict[str, set[str]]:
        """Who imports whom among the package's modules (the ones that exist)."""
        edges: dict[str, set[str]] = {module: set() for module in self.modules}
        for i in self.internal:
            if i.target in edges and not (runtime_only and i.typing_only):
                edges[i.module].add(i.target)
        return edges

    def _targets(self, module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = self._from_base(module, node)
        # ``from asyncmig.x import y`` imports the submodule asyncmig.x.y when there is one.
        subs = [f"{base}.{alias.name}" for alias in node.names]
        return [sub if sub in self.modules else base for sub in subs]

    def _from_base(self, module: str, node: ast.ImportFrom) -> str:
        """The module a ``from ... import`` names, relative imports resolved."""
        if not node.level:
            return node.module or ""
        parts = module.split(".")
        if self.modules[module].name != "__init__.py":
            parts = parts[:-1]  # a module's imports are relative to its package
        parts = parts[: len(parts) - (node.level - 1)]
        return ".".join([*parts, *([node.module] if node.module else [])])


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that all reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: list[str] = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def _shortest_cycle(edges: dict[str, set[str]], group: list[str]) -> list[str]:
    """One shortest cycle through the group's first module, staying inside the group."""
    start = group[0]
    paths = {start: [start]}
    queue = [start]
    for node in queue:
        for nxt in sorted(edges[node] & set(group)):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # a group always has one


def cycle_violations(package: Package) -> list[str]:
    edges = package.graph()
    return [
        f"cycle {' -> '.join(_shortest_cycle(edges, group))} (modules {', '.join(group)})"
        for group in _strongly_connected(edges)
        if len(group) > 1 or group[0] in edges[group[0]]
    ]


def layer_violations(package: Package) -> list[str]:
    found = [f"{module} is in no layer" for module in package.modules if layer_of(module) is None]
    for i in package.internal:
        here, there = layer_of(i.module), layer_of(i.target)
        if here is not None and (there is None or there > here):
            found.append(f"{i}: {layer_name(i.module)} -> {layer_name(i.target)}")
    return found


def parser_side_violations(package: Package) -> list[str]:
    return [str(i) for i in package.imports if i.not_in_parsers and parser_side(i.module)]


def parser_reach_violations(package: Package) -> list[str]:
    """What the parser side would load at run time through other modules of the package."""
    edges = package.graph(runtime_only=True)
    reached = {module: [module] for module in package.modules if parser_side(module)}
    queue = list(reached)
    for module in queue:
        for nxt in sorted(edges[module] - reached.keys()):
            reached[nxt] = [*reached[module], nxt]
            queue.append(nxt)
    return [
        f"{' -> '.join(reached[i.module])} imports {i.target} (line {i.line})"
        for i in package.imports
        if i.not_in_parsers
        and not i.typing_only
        and not parser_side(i.module)
        and i.module in reached
    ]


def docstring_violations(package: Package) -> list[str]:
    found = []
    folders = {path.parent for path in package.folder.rglob("*.py")} - {package.folder}
    for folder in sorted(folders):
        init = folder / "__init__.py"
        name = ".".join(folder.relative_to(package.folder.parent).parts)
        doc = ast.get_docstring(ast.parse(init.read_bytes())) if init.exists() else None
        if not doc or "import" not in doc.lower():
            found.append(
                f"{name}: no __init__ docstring saying what it owns and may import ({doc!r})"
            )
    return found


@functools.cache
def asyncmig() -> Package:
    return Package(PACKAGE_DIR)


def _report(title: str, found: list[str]) -> str:
    return "\n".join([f"{title} ({len(found)}):", *(f"  {line}" for line in found)])


def test_no_import_cycles() -> None:
    found = cycle_violations(asyncmig())
    assert not found, _report("import cycles (TYPE_CHECKING and function imports count)", found)


def test_imports_point_down_the_layers() -> None:
    found = layer_violations(asyncmig())
    assert not found, _report("imports that point up the layers", found)


def test_parser_side_imports_no_async_or_terminal_library() -> None:
    found = parser_side_violations(asyncmig())
    assert not found, _report(f"parser-side imports of {sorted(NOT_IN_PARSERS)}", found)


def test_parser_side_reaches_no_async_or_terminal_library() -> None:
    found = parser_reach_violations(asyncmig())
    assert not found, _report(f"{sorted(NOT_IN_PARSERS)} loaded into parser processes", found)


def test_every_subpackage_says_what_it_owns_and_may_import() -> None:
    found = docstring_violations(asyncmig())
    assert not found, _report("subpackages without a docstring naming their imports", found)


def test_the_package_and_its_imports_are_found() -> None:
    package = asyncmig()
    assert {"asyncmig", "asyncmig.errors", "asyncmig.source.decode"} <= package.modules.keys()
    assert any(i.target == "asyncmig.errors" for i in package.internal)


#: A made-up package with one of each fault, to show the checks above can fail.
_FAULTY: Final = {
    "__init__.py": "",
    "errors.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import asyncmig.cli\n",
    "cli.py": "from . import errors\n",
    "stray.py": "",
    "source/__init__.py": '"""Parsing."""\n',
    "source/plan.py": "def run():\n    from anyio import to_thread\nfrom ..ipc import wire\n",
    "ipc/__init__.py": '"""The boundary; imports source."""\n',
    "ipc/wire.py": "",
    "ipc/worker.py": "from asyncmig.ipc import client\n",
    "ipc/client.py": "import rich.console\n",
}


def test_the_checks_find_each_kind_of_fault(tmp_path: Path) -> None:
    for name, text in _FAULTY.items():
        (tmp_path / "asyncmig" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "asyncmig" / name).write_text(text)
    package = Package(tmp_path / "asyncmig")
    assert cycle_violations(package) == [
        "cycle asyncmig.cli -> asyncmig.errors -> asyncmig.cli (modules asyncmig.cli, "
        "asyncmig.errors)"
    ]
    assert layer_violations(package) == [
        "asyncmig.stray is in no layer",
        "asyncmig.errors imports asyncmig.cli (line 3): 0 base -> 8 entry",
        "asyncmig.source.plan imports asyncmig.ipc.wire (line 3): 1 source -> 2 ipc",
    ]
    assert parser_side_violations(package) == ["asyncmig.source.plan imports anyio (line 2)"]
    assert parser_reach_violations(package) == [
        "asyncmig.ipc.worker -> asyncmig.ipc.client imports rich.console (line 1)"
    ]
    assert docstring_violations(package) == [
        "asyncmig.source: no __init__ docstring saying what it owns and may import ('Parsing.')"
    ]
