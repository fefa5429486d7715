"""The architecture, checked: which package may import which, and no file imports itself back.

    camfleet  <-  devmgr  <-  hil
    camfleet  <-  simulators  <-  hil, scenarios
                  devmgr      <-  scenarios

Every import counts, also one inside a function or under ``TYPE_CHECKING``: a lazy import is
still a dependency, and a loop hidden behind one still makes two files one unit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("camfleet", "devmgr", "simulators", "hil", "scenarios")

#: What each package may import of the others (itself always).
ALLOWED: dict[str, set[str]] = {
    "camfleet": set(),
    "devmgr": {"camfleet"},
    "simulators": {"camfleet"},
    "hil": {"camfleet", "devmgr", "simulators"},
    "scenarios": {"camfleet", "devmgr", "simulators"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports (a ``from pkg import mod`` names the module)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def test_packages_import_only_the_layers_below() -> None:
    wrong = [f"{src} imports {dst}"
             for src, targets in graph().items() for dst in sorted(targets)
             if dst.split(".")[0] != src.split(".")[0]
             and dst.split(".")[0] not in ALLOWED[src.split(".")[0]]]
    assert not wrong, "\n".join(wrong)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def _without_package_inits(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's __init__ that re-exports its submodules is not a loop with them: importing
    # ``pkg.mod`` runs ``pkg/__init__`` first by Python's rules, not by the module's choice.
    return {src: {dst for dst in targets if not src.startswith(dst + ".")}
            for src, targets in edges.items()}


def test_no_import_loops_between_files() -> None:
    loops = _cycles(_without_package_inits(graph()))
    assert not loops, "import loops:\n" + "\n".join(" <-> ".join(c) for c in loops)


@pytest.mark.parametrize(("edges", "expected"), [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
])
def test_the_loop_finder_finds_loops(edges: dict[str, set[str]],
                                     expected: list[list[str]]) -> None:
    assert _cycles(edges) == expected
