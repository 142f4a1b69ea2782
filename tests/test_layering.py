"""The import layering of ``src/roi_reasoning``, read with ``ast`` (imports inside functions
count too): lower layers never import higher ones, training never imports evaluation, nothing
imports the CLI or the test helpers, and no import cycle exists among modules.

The layers come from the package structure (docs/design.md, "Layering"): a module at the package
root is ``core`` (pure Python, no torch); a subpackage declares its layer in its ``__init__.py``
as ``LAYER = "core" | "backends" | "stages" | "app"``, and every module in it shares it.
``testing`` (helpers for tests and benches) sits above everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "roi_reasoning"
PKG = "roi_reasoning"
LAYERS = {"core": 0, "backends": 1, "stages": 2, "app": 3, "testing": 4}


def declared_layer(package: Path) -> str:
    """The ``LAYER = "..."`` assignment of a subpackage's ``__init__.py``."""
    for node in ast.parse((package / "__init__.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
            "LAYER"
        ]:
            value = node.value
            assert isinstance(value, ast.Constant) and value.value in LAYERS, package
            return value.value
    raise AssertionError(f"{package}/__init__.py declares no LAYER")


PACKAGES = {p.name: declared_layer(p) for p in SRC.iterdir() if (p / "__init__.py").exists()}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def top(module: str) -> str:
    """The package-root name a module lives under (``""`` for the package itself)."""
    return module.split(".")[1] if module.count(".") else ""


def layer(module: str) -> int:
    name = top(module)
    if name == "testing":
        return LAYERS["testing"]
    return LAYERS[PACKAGES.get(name, "core")]


def _target(name: str) -> str | None:
    """The module an imported dotted name is: itself, or the module that defines it."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> set[str]:
    """Every roi_reasoning module ``module`` imports, at any depth of its code."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    is_pkg = MODULES[module].name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {_target(a.name) for a in node.names if a.name.startswith(PKG)}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = module.split(".") if is_pkg else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith(PKG):  # `from pkg import submodule` imports the submodule
                found |= {
                    f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else _target(base)
                    for a in node.names
                }
    return {m for m in found if m and m != module}


GRAPH = {m: imports(m) for m in MODULES}


def test_the_walk_sees_the_package():
    assert PACKAGES["training"] == "stages" and PACKAGES["cli"] == "app"
    assert layer("roi_reasoning.records") == 0 and layer("roi_reasoning.policies.hf") == 1
    assert {"roi_reasoning.records", "roi_reasoning.cli", "roi_reasoning.grading.pool"} <= set(
        MODULES
    )
    assert "roi_reasoning.grading.answer" in GRAPH["roi_reasoning.grading.pool"]
    assert "roi_reasoning.records" in GRAPH["roi_reasoning.scoring"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_layer(module):
    higher = sorted(t for t in GRAPH[module] if layer(t) > layer(module))
    assert not higher, f"{module} (layer {layer(module)}) imports higher layers: {higher}"


def test_training_never_imports_evaluation_and_nothing_imports_the_cli():
    for module, targets in GRAPH.items():
        if top(module) == "training":
            assert not any(top(t) == "evaluation" for t in targets), module
        if top(module) != "cli":
            assert not any(top(t) == "cli" for t in targets), module


def test_no_import_cycles():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(GRAPH[m]):
            if state.get(t) == 1:
                cycle = path[path.index(t) :] + [t]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)
