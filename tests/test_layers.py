"""The import graph points one way: every arrow goes down a floor, and no module imports itself back.

Floors (docs/architecture.md):

* 0 — ``nullswap``: the method, the faces, the recognizers, the metrics, the upstream runner;
* 1 — ``baselines`` and ``swappers``: adapters, each standing on ``nullswap`` only (never on each other);
* 2 — ``benchmarks``: the only layer that knows tables, plans, reports and tools.

Inside floor 0 the packages that share the faces stand on each other in one order (:data:`SUBFLOORS`):
``nullswap.faces`` (registry photos, templates, detection) ← ``nullswap.recognizers`` (frames fitted on
those photos) ← ``nullswap.data`` (face sets, whose labels a recognizer checks).  And no two packages
import each other, not even through different modules (``a.x → b.y`` and ``b.z → a.w``): a circle between
packages is a circle, whichever modules carry it.

Imports are read from the source (``ast``), including those inside functions, so a lazy import cannot
hide an upward arrow.  A new upward arrow or a new circle fails here with the modules named.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FLOORS = {"nullswap": 0, "baselines": 1, "swappers": 1, "benchmarks": 2}
#: floors of packages inside ``nullswap`` (floor 0), bottom up
SUBFLOORS = {"nullswap.faces": 0, "nullswap.recognizers": 1, "nullswap.data": 2}


def _modules() -> dict[str, Path]:
    modules = {}
    for package in FLOORS:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def import_graph() -> dict[str, set[str]]:
    """module → the project modules it imports (the longest known prefix of each imported name)."""
    modules = _modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                resolved = _resolve(target, modules)
                if resolved and resolved != name:
                    edges[name].add(resolved)
    return edges


def _floor(module: str) -> tuple[str, int]:
    top = module.split(".")[0]
    return top, FLOORS[top]


def package_of(module: str) -> str:
    """``nullswap.data.sources`` → ``nullswap.data``; a top-level module (``nullswap.train``) is its own."""
    return ".".join(module.split(".")[:2])


def upward_arrows(edges: dict[str, set[str]]) -> list[str]:
    wrong = []
    for source, targets in edges.items():
        top, floor = _floor(source)
        for target in targets:
            target_top, target_floor = _floor(target)
            inner = SUBFLOORS.get(package_of(source)), SUBFLOORS.get(package_of(target))
            if (target_floor > floor or (target_floor == floor and target_top != top)
                    or (None not in inner and inner[1] > inner[0])):
                wrong.append(f"{source} -> {target}")
    return sorted(wrong)


def package_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph between packages (:func:`package_of`), arrows inside one package dropped."""
    packages: dict[str, set[str]] = defaultdict(set)
    for source, targets in edges.items():
        for target in targets:
            if package_of(source) != package_of(target):
                packages[package_of(source)].add(package_of(target))
    return packages


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(set(edges) | {t for targets in edges.values() for t in targets}):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    return import_graph()


def test_the_graph_is_read_from_every_floor(edges):
    assert {module.split(".")[0] for module in edges} == set(FLOORS)


def test_no_import_points_up_a_floor_or_sideways_between_adapter_packages(edges):
    assert upward_arrows(edges) == []


def test_no_module_imports_itself_back_through_others(edges):
    assert circles(edges) == []


def test_no_package_imports_another_that_imports_it_back(edges):
    assert circles(package_graph(edges)) == []


def test_the_checker_sees_an_upward_arrow_and_a_circle():
    fake = {"nullswap.train": {"benchmarks.tables"}, "benchmarks.a": {"benchmarks.b"},
            "benchmarks.b": {"benchmarks.a"}, "baselines.x": {"swappers.y"}}
    assert upward_arrows(fake) == ["baselines.x -> swappers.y", "nullswap.train -> benchmarks.tables"]
    assert circles(fake) == [["benchmarks.a", "benchmarks.b"]]


def test_the_checker_sees_two_packages_importing_each_other_through_different_modules():
    """The case of a data-set check using a recognizer while recognizers took their photos from the data
    sets: no module circle, but a package circle and an arrow up inside floor 0."""
    fake = {"nullswap.data.offline_check": {"nullswap.recognizers"},
            "nullswap.recognizers.dlib_resnet": {"nullswap.data.sources", "nullswap.faces.detect"},
            "nullswap.data.sources": {"nullswap.assets"}}
    assert circles(fake) == []
    assert circles(package_graph(fake)) == [["nullswap.data", "nullswap.recognizers"]]
    assert upward_arrows(fake) == ["nullswap.recognizers.dlib_resnet -> nullswap.data.sources"]
