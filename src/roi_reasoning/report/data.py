"""The results a report reads: ``results.json`` files (written by ``roi eval``) loaded and
validated, their cells grouped into report entries (method, run, kind, budget), and the labels
and level names the tables and plots share. Pure: no torch, no matplotlib.

Run example: ``python -c "from roi_reasoning.report.data import load_results; print(load_results('runs/demo/eval/base')['run'])"``
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints, is_typeddict

from roi_reasoning import runfolder
from roi_reasoning.errors import DataError
from roi_reasoning.exams import KINDS
from roi_reasoning.inputs import read_json_file

REQUIRED_KEYS = ("run", "cells")
REQUIRED_CELL_KEYS = ("method", "kind", "budget", "score")

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Entry:
    """One results cell with its row label (method, plus the run name when runs clash)."""

    label: str
    run: str
    cell: dict[str, Any]
    level_bounds: tuple[int, ...]

    @property
    def column(self) -> tuple[str, int]:
        return self.cell["kind"], self.cell["budget"]


def kind_key(kind: str) -> tuple[int, str]:
    """Paper kinds in the paper's column order; unknown kinds after, alphabetically."""
    return (KINDS.index(kind), "") if kind in KINDS else (len(KINDS), kind)


def column_key(column: tuple[str, int]) -> tuple[int, str, int]:
    return (*kind_key(column[0]), column[1])


# ---------------------------------------------------------------- loading and validation


def _number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _numbers(v: Any, depth: int = 1) -> bool:
    """A number/null, or (``depth`` levels of) lists or string-keyed mappings of them."""
    if depth and isinstance(v, dict):
        return all(isinstance(k, str) and _numbers(x, depth - 1) for k, x in v.items())
    if depth and isinstance(v, list):
        return all(_numbers(x, depth - 1) for x in v)
    return _number(v)


def _shape(hint: Any) -> tuple[int, type | None, str]:
    """How deep a ``runfolder.Cell`` field nests numbers, its container, and its description."""
    if get_origin(hint) in (Union, UnionType):  # X | None -> X
        hint = next(a for a in get_args(hint) if a is not type(None))
    origin = get_origin(hint)
    if is_typeddict(hint) or origin is dict:
        return 1, dict, "a mapping of numbers"
    if origin is list:
        inner = get_args(hint)[0]
        if get_origin(inner) is list:
            return 2, list, "a list of lists of numbers"
        return 1, list, "a list of numbers"
    return 0, None, "a number or null"


# What the report reads of a cell, by shape, from the results schema (a hand-edited
# results.json is checked up front, not met halfway through writing tables and plots).
CELL_SHAPES = {
    key: _shape(hint)
    for key, hint in get_type_hints(runfolder.Cell).items()
    if key not in ("method", "kind", "budget")  # checked first, with their own messages
}


def _cell_problem(cell: dict[str, Any]) -> str | None:
    """What is wrong with a cell's fields (``key: why``), None when the report can read it."""
    for key in ("method", "kind"):
        if not isinstance(cell[key], str) or not cell[key].strip():
            return f"{key} must be a non-empty string"
    for key, (depth, container, shape) in CELL_SHAPES.items():
        if key not in cell:
            continue
        if not _numbers(cell[key], depth):
            return f"{key} must be {shape}"
        if container and cell[key] is not None and not isinstance(cell[key], container):
            return f"{key} must be {shape}"
    return None


def validate_results(data: Any, source: PathLike) -> dict[str, Any]:
    """Check the keys the report needs; raise ``DataError`` naming ``source`` otherwise."""
    if not isinstance(data, dict):
        raise DataError(source, None, f"expected a JSON object, got {type(data).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise DataError(source, None, f"missing key(s): {', '.join(missing)}")
    if not isinstance(data["cells"], list):
        raise DataError(source, None, "'cells' must be a list")
    if not isinstance(data["run"], str):
        raise DataError(source, None, "'run' must be a string")
    bounds = data.get("level_bounds")
    if bounds is not None and not (
        isinstance(bounds, list) and all(type(b) is int and b > 0 for b in bounds)
    ):
        raise DataError(source, None, "'level_bounds' must be a list of positive integers")
    for key in ("accounting", "policy", "created"):
        if data.get(key) is not None and not isinstance(data[key], (str, dict)):
            raise DataError(source, None, f"'{key}' must be text")
    seen: set[tuple[Any, ...]] = set()
    for i, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict):
            raise DataError(source, None, f"cells[{i}] must be an object")
        lacking = [k for k in REQUIRED_CELL_KEYS if k not in cell]
        if lacking:
            raise DataError(source, None, f"cells[{i}] missing key(s): {', '.join(lacking)}")
        if not isinstance(cell["score"], dict) or "mean" not in cell["score"]:
            raise DataError(source, None, f"cells[{i}].score must be an object with 'mean'")
        if isinstance(cell["budget"], bool) or not isinstance(cell["budget"], int):
            raise DataError(source, None, f"cells[{i}].budget must be an integer")
        problem = _cell_problem(cell)
        if problem:
            raise DataError(source, None, f"cells[{i}].{problem}")
        cell_key = (cell["method"], cell["kind"], cell["budget"])
        if cell_key in seen:
            raise DataError(source, None, f"cells[{i}] repeats method/kind/budget {cell_key}")
        seen.add(cell_key)
    return data


def load_results(path_or_run_dir: PathLike) -> dict[str, Any]:
    """Read a ``results.json`` (or the one inside a run directory) and validate it."""
    path = Path(path_or_run_dir)
    if path.is_dir():
        path = path / runfolder.RESULTS
    if not path.is_file():
        raise DataError(path, None, "results file not found (written by `roi eval`)")
    return validate_results(read_json_file(path, "results (written by `roi eval`)"), path)


# ---------------------------------------------------------------- ordering and labels


def run_names(results: Sequence[dict[str, Any]]) -> list[str]:
    """Run names, made unique ("demo", "demo#2") when the same run is given twice."""
    names: list[str] = []
    for res in results:
        names.append(unique_name(str(res["run"]), names, "#"))
    return names


def unique_name(base: str, taken: Collection[str], sep: str) -> str:
    """``base``, or ``base<sep>2``, ``base<sep>3``, ... : the first not in ``taken``."""
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}{sep}{k}"
    return name


def collect_entries(results: Sequence[dict[str, Any]]) -> list[Entry]:
    """All cells, grouped by method (first-seen order), then run, then kind and budget.

    A method gets the run name appended ("base (demo)") when one of its (kind, budget) cells
    appears in more than one run, so both rows stay in the tables.
    """
    for i, res in enumerate(results):
        validate_results(res, f"results[{i}]")
    runs = run_names(results)
    owners: dict[tuple[Any, ...], set[int]] = {}
    for ri, res in enumerate(results):
        for cell in res["cells"]:
            owners.setdefault((cell["method"], cell["kind"], cell["budget"]), set()).add(ri)
    clashing = {key[0] for key, runs_with in owners.items() if len(runs_with) > 1}
    methods = list(dict.fromkeys(c["method"] for res in results for c in res["cells"]))
    out: list[Entry] = []
    for method in methods:
        for ri, res in enumerate(results):
            label = f"{method} ({runs[ri]})" if method in clashing else str(method)
            bounds = tuple(res.get("level_bounds") or ())
            cells = [c for c in res["cells"] if c["method"] == method]
            cells.sort(key=lambda c: column_key((c["kind"], c["budget"])))
            out.extend(Entry(label, runs[ri], c, bounds) for c in cells)
    return out


def ordered_columns(entries: Sequence[Entry]) -> list[tuple[str, int]]:
    return sorted({e.column for e in entries}, key=column_key)


def ordered_labels(entries: Sequence[Entry]) -> list[str]:
    return list(dict.fromkeys(e.label for e in entries))


def summed_confusion(entries: Sequence[Entry]) -> list[list[int]] | None:
    """Confusion matrices (rows predicted level, cols actual) summed; None if none present."""
    mats = [m for e in entries if (m := e.cell.get("confusion"))]
    if not mats:
        return None
    size = max(max(len(m), *(len(row) for row in m)) for m in mats)
    total = [[0] * size for _ in range(size)]
    for mat in mats:
        for i, row in enumerate(mat):
            for j, count in enumerate(row):
                total[i][j] += int(count)
    return total


def level_names(bounds: Sequence[int], size: int) -> list[str]:
    """``L0 ≤256``, ``L1 ≤512``, ``L2 ≤1024``, ``L3 >1024`` for the default bounds (tokens)."""
    names = []
    for i in range(size):
        if i < len(bounds):
            names.append(f"L{i} ≤{bounds[i]}")
        elif i == len(bounds) and bounds:
            names.append(f"L{i} >{bounds[-1]}")
        else:
            names.append(f"L{i}")
    return names
