"""Every third-party package the code imports is declared in pyproject.toml.

A package that is only installed as someone else's dependency (transformers through
sentence-transformers) or only in the dev extra (httpx, until issue 14) works on the developer's
machine and breaks on a lean install. Imports at module level must be core dependencies; a lazy
import (inside a function, or type-only) may instead come from an optional extra other than `dev`,
which is what extras are for (qdrant-client).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from .conftest import REPO

PACKAGES = ("api", "kb_index", "training", "triage")


def _name(requirement: str) -> str:
    """PEP 503 normalised distribution name of a requirement string ('uvicorn[standard]>=0.29')."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0]).lower()


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_name(r) for r in project["dependencies"]}
    extras = {_name(r) for extra, reqs in project.get("optional-dependencies", {}).items() if extra != "dev"
              for r in reqs}
    return core, extras


class _Imports(ast.NodeVisitor):
    """Top-level names imported, each marked eager (module level) or lazy (in a function / TYPE_CHECKING)."""

    def __init__(self) -> None:
        self.found: list[tuple[str, int, bool]] = []
        self._lazy = 0

    def _nested(self, node: ast.AST) -> None:
        self._lazy += 1
        self.generic_visit(node)
        self._lazy -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _nested

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
                (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            self._nested(node)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [(a.name.split(".")[0], node.lineno, bool(self._lazy)) for a in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.level and node.module:
            self.found.append((node.module.split(".")[0], node.lineno, bool(self._lazy)))


def _third_party() -> list[tuple[str, str, bool]]:
    """(top-level name, file:line, lazy) of every import of something outside the stdlib and our packages."""
    out = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            visitor = _Imports()
            visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
            out += [(name, f"{path.relative_to(REPO)}:{line}", lazy) for name, line, lazy in visitor.found
                    if name not in sys.stdlib_module_names and name not in PACKAGES and name != "__future__"]
    return out


def test_the_import_walker_tells_eager_from_lazy() -> None:
    visitor = _Imports()
    visitor.visit(ast.parse("import numpy as np\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                            "    import pandas\ndef f():\n    from qdrant_client import models\nfrom . import x\n"))
    assert visitor.found == [("numpy", 1, False), ("typing", 2, False), ("pandas", 4, True),
                             ("qdrant_client", 6, True)]
    assert _name("uvicorn[standard]>=0.29") == "uvicorn" and _name("PyStemmer>=2.2") == "pystemmer"
    assert _name("sentence_transformers==6") == "sentence-transformers"


def test_every_imported_package_is_declared() -> None:
    core, extras = _declared()
    dists = packages_distributions()
    missing = []
    imports = _third_party()
    assert {"numpy", "httpx", "fastapi"} <= {name for name, _, _ in imports}  # the walk found the code
    for name, where, lazy in imports:
        provided = {_name(d) for d in dists.get(name, [])}
        if not provided:
            missing.append(f"{where}: imports {name}, which no installed distribution provides")
        elif not provided & core and not (lazy and provided & extras):
            need = "a core dependency" if not lazy else "a core dependency or a non-dev extra"
            missing.append(f"{where}: imports {name} ({'/'.join(sorted(provided))}) but it is not {need}")
    assert not missing, "undeclared imports (add them to [project.dependencies] in pyproject.toml):\n" + \
        "\n".join(missing)
