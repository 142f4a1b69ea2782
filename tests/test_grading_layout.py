"""The grading package's imports flow one way: ``__init__`` -> pool -> {answer, worker}.

Run example: ``pytest tests/test_grading_layout.py``

Read with ``ast`` (every import statement, also those inside functions): ``answer`` imports
neither the pool nor the worker, ``worker`` does not import the pool, and the pool does not
import the package ``__init__`` that imports it (the old grading <-> grading_pool cycle). And in
a fresh interpreter, importing ``roi_reasoning.grading.answer`` loads no pool or worker.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import roi_reasoning.grading

PACKAGE = "roi_reasoning.grading"
HERE = Path(roi_reasoning.grading.__file__).resolve().parent
POOL = {f"{PACKAGE}.pool", "roi_reasoning.grading_pool"}
WORKER = {f"{PACKAGE}.worker", "roi_reasoning.grading_worker"}


def _imported(module: str) -> set[str]:
    """Every module ``grading/<module>.py`` names in an import (``from a import b``: a and a.b),
    relative imports resolved against the package."""
    tree = ast.parse((HERE / f"{module}.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = PACKAGE.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1]) if node.level else ""
            base = ".".join(p for p in (base, node.module or "") if p)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _hits(names: set[str], banned: set[str]) -> set[str]:
    return {n for n in names if any(n == b or n.startswith(b + ".") for b in banned)}


def test_the_helper_sees_relative_and_nested_imports() -> None:
    names = _imported("pool")
    assert f"{PACKAGE}.answer" in names and f"{PACKAGE}.worker" in names
    assert _hits({f"{PACKAGE}.pool.default_pool"}, POOL)


def test_answer_imports_neither_the_pool_nor_the_worker() -> None:
    assert not _hits(_imported("answer"), POOL | WORKER)
    assert not {n for n in _imported("answer") if n.startswith("roi_reasoning")}


def test_worker_does_not_import_the_pool() -> None:
    assert not _hits(_imported("worker"), POOL)


def test_pool_does_not_import_the_package_init() -> None:
    # ``from roi_reasoning.grading import X`` is the package __init__, which imports the pool.
    names = _imported("pool")
    above = {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}
    above -= {n for n in above if n.startswith((f"{PACKAGE}.answer", f"{PACKAGE}.worker"))}
    assert not above, above


def test_importing_answer_does_not_load_the_pool() -> None:
    code = (
        "import sys\n"
        "import roi_reasoning.grading.answer\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('roi_reasoning.grading'))\n"
        "print(' '.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert f"{PACKAGE}.answer" in loaded
    assert f"{PACKAGE}.pool" not in loaded
    assert f"{PACKAGE}.worker" not in loaded
