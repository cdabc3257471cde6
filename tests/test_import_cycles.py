"""The packages' import graph: no cycle between modules, and the layers point one way.

Every import statement counts, wherever it is: module level, inside a function (a lazy import is
still a dependency), and under `if TYPE_CHECKING:` (a type-only cycle is still a knot a reader has
to untie). Layers: api → triage → kb_index; training → triage, kb_index; nothing imports api or
training (the CLI names the API's app by string for uvicorn).
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from .conftest import REPO

PACKAGES = ("api", "kb_index", "training", "triage")
MAY_IMPORT = {"api": {"api", "triage", "kb_index"}, "triage": {"triage", "kb_index"}, "kb_index": {"kb_index"},
              "training": {"training", "triage", "kb_index"}}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> dict[str, int]:
    """Modules of ours that `name` imports, with the line of the first such import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            while target and target not in known:  # `import a.b.c` where only a.b is ours
                target = target.rpartition(".")[0]
            if target and target != name:
                out.setdefault(target, node.lineno)
    return out


def _graph() -> tuple[dict[str, dict[str, int]], dict[str, Path]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}, modules


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
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
                    work.append((child, iter(sorted(graph[child]))))
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


def test_the_walker_sees_every_kind_of_import(tmp_path: Path) -> None:
    """Module-level, lazy, TYPE_CHECKING and relative imports are all edges; a planted cycle is found."""
    source = tmp_path / "module.py"
    source.write_text(textwrap.dedent("""
        from typing import TYPE_CHECKING
        import numpy as np
        from triage.heads import base
        from . import classifier
        from .._data import load_tickets
        if TYPE_CHECKING:
            from triage.heads.module import ModuleHead
        def later():
            import kb_index._fusion.x
            from kb_index import fuse
    """), encoding="utf-8")
    known = {"triage", "triage._data", "triage.heads", "triage.heads.base", "triage.heads.classifier",
             "triage.heads.module", "triage.heads.owner", "kb_index", "kb_index._fusion"}
    assert set(_imports("triage.heads.owner", source, known)) == {
        "triage.heads.base", "triage.heads.classifier", "triage._data", "triage.heads.module", "kb_index._fusion",
        "kb_index"}
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]
    graph, _ = _graph()
    assert "training.options" in graph["training._module"]
    assert "training._spark" in graph["training.batch"], "a function-level import of the real tree"


def test_no_import_cycle_between_modules() -> None:
    graph, _ = _graph()
    cycles = _cycles(graph)
    described = []
    for component in cycles:
        members = set(component)
        edges = [f"{a} → {b} (line {line})" for a in component for b, line in graph[a].items() if b in members]
        described.append("; ".join(edges))
    assert not cycles, "import cycles:\n" + "\n".join(described)


def test_layers_point_one_way() -> None:
    graph, modules = _graph()
    wrong = [f"{modules[a].relative_to(REPO)}:{line} imports {b}"
             for a, targets in graph.items() for b, line in targets.items()
             if b.split(".")[0] not in MAY_IMPORT[a.split(".")[0]]]
    assert not wrong, "imports against the layers (api → triage → kb_index; training → triage, kb_index):\n" + \
        "\n".join(wrong)
