"""The import graph points one way: every arrow goes down a floor, and no module imports itself back.

Floors (docs/architecture.md):

* 0 — ``nullswap``: the method, the faces, the recognizers, the metrics, the upstream runner;
* 1 — ``baselines`` and ``swappers``: adapters, each standing on ``nullswap`` only (never on each other);
* 2 — ``benchmarks``: the only layer that knows tables, plans, reports and tools.

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


def upward_arrows(edges: dict[str, set[str]]) -> list[str]:
    wrong = []
    for source, targets in edges.items():
        top, floor = _floor(source)
        for target in targets:
            target_top, target_floor = _floor(target)
            if target_floor > floor or (target_floor == floor and target_top != top):
                wrong.append(f"{source} -> {target}")
    return sorted(wrong)


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


def test_the_checker_sees_an_upward_arrow_and_a_circle():
    fake = {"nullswap.train": {"benchmarks.tables"}, "benchmarks.a": {"benchmarks.b"},
            "benchmarks.b": {"benchmarks.a"}, "baselines.x": {"swappers.y"}}
    assert upward_arrows(fake) == ["baselines.x -> swappers.y", "nullswap.train -> benchmarks.tables"]
    assert circles(fake) == [["benchmarks.a", "benchmarks.b"]]
