"""The house's import rules, checked on the source (docs/ARCHITECTURE.md, "Layers").

The import graph is read with `ast` from every module under smsd/, so a rule holds whether or not
a module happens to be imported by the test run. Imports count wherever they are written: at
module level and inside functions alike (a deferred import is still a dependency, it only hides
it). An import under `if TYPE_CHECKING:` is kept as a *type-only* edge: it never runs, so layer
rules let an annotation name a type from elsewhere. Cycle rules count it all the same, because a
circle of type-only imports is still two modules that cannot be read without each other.

To add a rule, add data: a package to `ISOLATED`, an ordering to `LAYERS`, a package to
`ACYCLIC`, a front end to `FRONTS`; the checkers below are general.
"""
from __future__ import annotations

import ast
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "smsd"


@dataclass(frozen=True)
class Edge:
    source: str             # importing module, dotted
    target: str             # imported module, dotted (a known module where one matches)
    line: int
    type_only: bool         # written under `if TYPE_CHECKING:`

    def __str__(self) -> str:
        kind = " (type-only)" if self.type_only else ""
        return f"{self.source}:{self.line} -> {self.target}{kind}"


Graph = dict[str, list[Edge]]


# --- reading the graph ------------------------------------------------------------------------
def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file for every .py module of the package at `root`."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(node: ast.AST, type_only: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement in `node`, with whether only a type checker runs it."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node, type_only
    elif isinstance(node, ast.If) and _is_type_checking(node.test):
        for stmt in node.body:
            yield from _imports(stmt, True)
        for stmt in node.orelse:
            yield from _imports(stmt, type_only)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _imports(child, type_only)


def _base_of(module: str, is_package: bool, level: int) -> str:
    """The package a relative import of `level` dots starts from."""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    return ".".join(parts[:len(parts) - level + 1])


def _targets(stmt: ast.stmt, module: str, is_package: bool, known: Container[str]) -> list[str]:
    """Modules one import statement names; `from pkg import mod` names pkg.mod when it exists."""
    if isinstance(stmt, ast.Import):
        return [alias.name for alias in stmt.names]
    assert isinstance(stmt, ast.ImportFrom)
    base = stmt.module or ""
    if stmt.level:
        prefix = _base_of(module, is_package, stmt.level)
        base = f"{prefix}.{base}" if base else prefix
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in stmt.names]


def import_graph(root: Path) -> Graph:
    """Module -> the imports it writes, for every module of the package at `root`."""
    names = module_names(root)
    graph: Graph = {}
    for module, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        graph[module] = [Edge(module, target, stmt.lineno, type_only)
                         for stmt, type_only in _imports(tree)
                         for target in _targets(stmt, module, is_package, names)]
    return graph


# --- rules --------------------------------------------------------------------------------------
def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def cycles(graph: Graph, package: str) -> list[list[str]]:
    """Strongly connected groups of more than one module (or a module importing itself) among
    the modules of `package`, type-only edges included (Tarjan)."""
    nodes = [m for m in graph if inside(m, package)]
    succ = {m: sorted({e.target for e in graph[m] if e.target in nodes}) for m in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group: list[str] = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1 or v in succ[v]:
                found.append(sorted(group))

    for v in nodes:
        if v not in index:
            visit(v)
    return found


def escapes(graph: Graph, package: str, allowed: Iterable[str] = (), *,
            top: str = "smsd") -> list[Edge]:
    """Run-time imports from `package` into the rest of `top` other than `allowed` packages.
    `top` itself (its __init__: the version) is no escape: it imports nothing."""
    ok = [package, *allowed]
    return [e for m, edges in graph.items() if inside(m, package) for e in edges
            if not e.type_only and inside(e.target, top) and e.target != top
            and not any(inside(e.target, p) for p in ok)]


def forbidden(graph: Graph, package: str, banned: Iterable[str]) -> list[Edge]:
    """Run-time imports of any of the `banned` modules (or their submodules) from `package`."""
    banned = list(banned)
    return [e for m, edges in graph.items() if inside(m, package) for e in edges
            if not e.type_only and any(inside(e.target, b) for b in banned)]


def upward(graph: Graph, layers: list[list[str]]) -> list[Edge]:
    """Run-time imports from a lower layer into a higher one; `layers` runs top to bottom, each
    a list of packages on the same floor (those may import each other)."""
    floor = {p: i for i, group in enumerate(layers) for p in group}

    def level(module: str) -> int | None:
        owners = [p for p in floor if inside(module, p)]
        return floor[max(owners, key=len)] if owners else None

    bad: list[Edge] = []
    for m, edges in graph.items():
        src = level(m)
        for e in edges:
            dst = level(e.target)
            if not e.type_only and src is not None and dst is not None and dst < src:
                bad.append(e)
    return bad


# --- the house's rules, as data -----------------------------------------------------------------
# Packages that may import only what is listed of the rest of smsd (docs/ARCHITECTURE.md,
# "Rules that keep the house livable").
ISOLATED: dict[str, tuple[str, ...]] = {
    # Sans-I/O core. pdu/ raises the one root exception family (errors.py) and loads its own
    # compiled twin (_pdu_c, built from pdu_codec_c/); at/ needs nothing at all.
    "smsd.at": (),
    "smsd.pdu": ("smsd.errors", "smsd._pdu_c"),
    "smsd.errors": (),
    "smsd.numbers": (),
    # A worker knows the sans-I/O core and the shared data; it reports up through the WorkerSink
    # protocol (modem/sink.py) and is driven through GPIO hooks it is handed, never by import.
    "smsd.modem": ("smsd.at", "smsd.pdu", "smsd.errors", "smsd.model"),
    # Durable state knows nothing above it (pdu: migration 0003 reads old parts' alphabet;
    # numbers: one "same subscriber" rule for status reports and subscription lists).
    "smsd.store": ("smsd.errors", "smsd.model", "smsd.pdu", "smsd.numbers"),
    # The push worker reads the store's events through the protocol the daemon hands it.
    "smsd.push": ("smsd.errors", "smsd.model"),
    # The simulator stands in for the hardware below pyserial: it drives the product's own
    # board code on mock pins and relays PDUs; it knows nothing of the daemon above the tty.
    "smsd.sim": ("smsd.board", "smsd.pdu", "smsd.errors"),
    # The root half of an update runs on while apt replaces the files around it.
    "smsd.update": ("smsd.errors", "smsd.config"),
}
# What a sans-I/O package never touches: serial ports, threads, sockets, SQLite, the clock.
SANS_IO = ("smsd.at", "smsd.pdu", "smsd.numbers")
IO_MODULES = ("serial", "threading", "_thread", "socket", "selectors", "asyncio", "sqlite3",
              "time", "subprocess")
# Packages whose modules must not import each other in a circle (type-only imports included).
ACYCLIC = ("smsd.sim",)
# Floors from top to bottom (docs/ARCHITECTURE.md, "Layers"): a module imports its own floor and
# the floors below. Every module of smsd stands on one (test_every_module_is_on_a_floor).
LAYERS: list[list[str]] = [
    # entry points and the composition root
    ["smsd.__main__", "smsd.cli", "smsd.admin_cli", "smsd.backup_cli", "smsd.daemon",
     "smsd.check"],                                 # smsd-check: a monitoring plugin (HTTP only)
    ["smsd.sim"],                                   # only the composition root starts it
    # front ends (api mounts the console); /metrics and /health, which read the live state
    # behind the service too (smsd/metrics/__init__.py)
    ["smsd.api", "smsd.web", "smsd.smpp", "smsd.metrics"],
    ["smsd.service", "smsd.update"],                # the one internal interface; signed updates
    # what moves; provider connections (smsd/connections) run beside the scheduler
    ["smsd.modem_events", "smsd.scheduler", "smsd.rotation", "smsd.push", "smsd.connections"],
    # durable state, appliance duties, start-up; the remote tunnel (a duty, and its relay)
    ["smsd.store", "smsd.system", "smsd.config", "smsd.drp"],
    ["smsd.board"],                                 # GPIO lines, LEDs, button
    ["smsd.modem"],                                 # one worker thread per port
    # shared data and pure rules
    ["smsd.model", "smsd.numbers", "smsd.portcfg", "smsd.throttle", "smsd.addressbook_csv",
     "smsd.routing", "smsd.budgets"],
    ["smsd.at", "smsd.pdu"],                        # sans-I/O core
    ["smsd.errors"],
]
# Front ends go through the service: nothing behind it is theirs to import.
FRONTS = ("smsd.api", "smsd.web", "smsd.smpp")
BEHIND_THE_SERVICE = ("smsd.store", "smsd.scheduler", "smsd.modem_events", "smsd.modem",
                      "smsd.board", "smsd.sim", "smsd.at", "smsd.connections")
# A pure helper that happens to live in store/: the box's time format of the vendor APIs.
FRONT_MAY_USE = ("smsd.store.times",)
# Modules on no floor: the package itself (its __version__ is read from anywhere).
UNPLACED = ("smsd",)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph(ROOT)


@pytest.mark.parametrize("package", ACYCLIC)
def test_no_import_cycle(graph: Graph, package: str) -> None:
    assert cycles(graph, package) == []


@pytest.mark.parametrize("package", sorted(ISOLATED))
def test_isolated_package_imports_nothing_else(graph: Graph, package: str) -> None:
    assert [str(e) for e in escapes(graph, package, ISOLATED[package])] == []


@pytest.mark.parametrize("package", SANS_IO)
def test_sans_io_package_touches_no_io(graph: Graph, package: str) -> None:
    assert [str(e) for e in forbidden(graph, package, IO_MODULES)] == []


def test_layers_call_downward_only(graph: Graph) -> None:
    assert [str(e) for e in upward(graph, LAYERS)] == []


@pytest.mark.parametrize("package", FRONTS)
def test_front_ends_reach_nothing_behind_the_service(graph: Graph, package: str) -> None:
    found = [str(e) for e in forbidden(graph, package, BEHIND_THE_SERVICE)
             if e.target not in FRONT_MAY_USE]
    assert found == []


def test_the_rules_see_every_package(graph: Graph) -> None:
    named = [*ISOLATED, *ACYCLIC, *FRONTS, *BEHIND_THE_SERVICE, *FRONT_MAY_USE,
             *(p for group in LAYERS for p in group)]
    for package in named:
        assert any(inside(m, package) for m in graph), package


def test_every_module_is_on_a_floor(graph: Graph) -> None:
    """A new module or package gets its floor in LAYERS (and a line in docs/ARCHITECTURE.md)."""
    floors = [p for group in LAYERS for p in group]
    assert [m for m in graph if m not in UNPLACED
            and not any(inside(m, p) for p in floors)] == []


# --- the checker on a tree made to break the rules ----------------------------------------------
def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_checker_finds_cycles_through_functions_and_type_only_imports(tmp_path: Path) -> None:
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low/__init__.py": "",
        "pkg/low/a.py": "def f():\n    from pkg.low import b\n",
        "pkg/low/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                        "    from .a import f\n",
        "pkg/low/c.py": "from . import c\n",
        "pkg/low/d.py": "import pkg.low.a\n",
    })
    g = import_graph(pkg)
    assert cycles(g, "pkg.low") == [["pkg.low.a", "pkg.low.b"], ["pkg.low.c"]]
    assert [(e.target, e.type_only) for e in g["pkg.low.b"]] == \
        [("typing", False), ("pkg.low.a", True)]


def test_checker_finds_escapes_io_and_upward_calls(tmp_path: Path) -> None:
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/top.py": "from pkg.core import x\n",
        "pkg/errors.py": "",
        "pkg/core/__init__.py": "",
        "pkg/core/x.py": "import time\nfrom ..errors import E\n"
                         "def f():\n    from pkg import top\n"
                         "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                         "    import pkg.top\n",
    })
    g = import_graph(pkg)
    assert [str(e) for e in escapes(g, "pkg.core", ["pkg.errors"], top="pkg")] == \
        ["pkg.core.x:4 -> pkg.top"]
    assert [str(e) for e in forbidden(g, "pkg.core", ["time"])] == ["pkg.core.x:1 -> time"]
    assert [str(e) for e in upward(g, [["pkg.top"], ["pkg.core"], ["pkg.errors"]])] == \
        ["pkg.core.x:4 -> pkg.top"]
