"""The layering a newcomer relies on: the domain (hemu/) knows nothing of Rasa or Telegram, and no two
modules import each other, directly or round a circle — counting imports inside functions and under
``TYPE_CHECKING`` too, because a circle hidden that way is still two modules that cannot be read,
tested or changed apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hemu", "bot", "actions", "components", "rasa_addons", "risk", "sandbox", "scripts", "bench")
# What the domain must never import: it is shared by the action server, the gateway and the admin tools.
NOT_IN_THE_DOMAIN = ("rasa", "rasa_sdk", "telegram", "bot", "actions", "components", "rasa_addons", "sandbox")


def module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imported_names(path: Path, modules: frozenset[str] = frozenset()) -> set[str]:
    """Every absolute module name the file imports, wherever the import statement sits.

    ``from package import module`` counts as importing that module (one of ``modules``), not the
    package's ``__init__``: the package only re-exports what its modules define.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in modules else node.module)
    return names


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    known = frozenset(modules)
    return {
        name: {other for other in imported_names(path, known) if other in modules and other != name}
        for name, path in modules.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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


def test_no_module_imports_its_way_back_to_itself() -> None:
    assert circles(import_graph()) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set(), "c": {"b"}}, []),
    ],
)
def test_circles_are_found_however_long(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert circles(graph) == expected


def test_the_domain_imports_neither_rasa_nor_telegram() -> None:
    offending = {
        name: sorted(
            imported for imported in imported_names(path) if imported.split(".")[0] in NOT_IN_THE_DOMAIN
        )
        for name, path in module_files().items()
        if name.split(".")[0] == "hemu"
    }
    assert {name: found for name, found in offending.items() if found} == {}


# A module longer than this is read in more than one sitting; split it by job (generated migrations
# are not read that way).
MODULE_LINES = 400


def test_no_module_is_longer_than_one_sitting() -> None:
    long = {
        name: lines
        for name, path in module_files().items()
        if "migrations" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    }
    assert not long, f"modules over {MODULE_LINES} lines: {long}"
