"""ARCHITECTURE.md's layer rules, checked on the source: no module imports a layer above its own, no
import cycle exists (imports inside functions count), and the libraries that belong to one layer stay there."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "server" / "localmind"

# The layers, lowest first. A module may import modules of a lower layer and of its own package only.
# Keep this list and the "Layers" section of ARCHITECTURE.md the same.
LAYERS: list[set[str]] = [
    {"localmind", "errors", "secret_masking"},
    {"workspace_trust"},
    {"config"},
    {"observability"},
    {"resilience"},
    {"stores"},
    {"embeddings"},
    {"indexing"},
    {"retrieval"},
    {"chat"},
    {"status", "wiring"},
    {"service"},
    {"lsp", "observability.doctor"},
    {"cli"},
    {"__main__"},
]
# Third-party libraries only some layers may import. `doctor` checks each backend with its own client;
# `resilience` knows which httpx errors are transient.
OWNERS = {
    "pygls": {"lsp"},
    "lsprotocol": {"lsp"},
    "neo4j": {"stores", "observability.doctor"},
    "pymilvus": {"stores", "observability.doctor"},
    "onnxruntime": {"embeddings"},
    "httpx": {"chat", "resilience", "observability.doctor"},
    "rich": {"cli"},
}
# Libraries no module imports at run time.
ABSENT = ("torch", "sentence_transformers", "transformers", "huggingface_hub")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_names(path: Path) -> Iterator[str]:
    """Every module name an import statement anywhere in the file names (inside functions too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def local_imports(module: str) -> set[str]:
    """The localmind modules `module` imports (a name imported from a module counts as that module)."""
    found = set()
    for name in imported_names(MODULES[module]):
        while name.startswith("localmind") and name not in MODULES:
            name = name.rpartition(".")[0]
        if name in MODULES and name != module:
            found.add(name)
    return found


def unit_of(module: str) -> str:
    """What a module's layer is looked up by: a listed module itself, else its package (or top module)."""
    relative = module.removeprefix("localmind.") if module != "localmind" else "localmind"
    if relative in set().union(*LAYERS):
        return relative
    return relative.split(".")[0]


def layer_of(module: str) -> int:
    unit = unit_of(module)
    for rank, members in enumerate(LAYERS):
        if unit in members:
            return rank
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS and to ARCHITECTURE.md")


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_a_layer_above_its_own_or_beside_it() -> None:
    wrong = []
    for module in MODULES:
        for target in local_imports(module):
            same_unit = unit_of(module) == unit_of(target)
            if not same_unit and layer_of(target) >= layer_of(module):
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(wrong))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is None:
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
            elif target not in index:
                index[target] = low[target] = len(index)
                stack.append(target)
                on_stack.add(target)
                work.append((target, iter(sorted(graph[target]))))
            elif target in on_stack:
                low[node] = min(low[node], index[target])
    return found


def test_no_import_cycles() -> None:
    graph = {module: local_imports(module) for module in MODULES}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize(("library", "owners"), sorted(OWNERS.items()))
def test_a_library_stays_in_its_layer(library: str, owners: set[str]) -> None:
    users = {
        module
        for module, path in MODULES.items()
        if any(name.split(".")[0] == library for name in imported_names(path)) and unit_of(module) not in owners
    }
    assert not users, f"{library} belongs to {sorted(owners)} but is imported by {sorted(users)}"


def test_no_hub_library_at_run_time() -> None:
    users = {
        module for module, path in MODULES.items() for name in imported_names(path) if name.split(".")[0] in ABSENT
    }
    assert not users
