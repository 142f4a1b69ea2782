"""The profile table ``roi profile`` writes (one JSONL row per sample: ``problem_id``, ``tier``,
``sample``, ``tokens`` = generated tokens, ``correct``, ``status``, ``answer``, ``text``), read
back validated for MFT targets, the planner and the oracle.

Run example: ``python -c "from roi_reasoning.profiles import load_profiles; print(len(load_profiles('runs/demo/profile.jsonl')))"``
"""

from __future__ import annotations

import os
from typing import Any

from roi_reasoning.data import read_record_lines
from roi_reasoning.errors import DataError
from roi_reasoning.records import Profiles

PROFILE_FIELDS: dict[str, tuple[type, ...]] = {
    "problem_id": (str,),
    "tokens": (int,),
    "correct": (bool,),
    "sample": (int,),
    "tier": (str,),
    "text": (str,),
    "status": (str,),
    "answer": (str, type(None)),
}


def _check_profile_row(path: str | os.PathLike[str], lineno: int, row: dict, need: tuple) -> None:
    for key in need:
        if key not in row:
            raise DataError(path, lineno, f"missing field {key!r} (a profile row has {list(need)})")
    if row.get("correct") in (0, 1) and not isinstance(row["correct"], (bool, float)):
        row["correct"] = bool(row["correct"])  # 0/1, as `roi oracle` instances write it
    for key, kinds in PROFILE_FIELDS.items():
        if key not in row:
            continue
        value = row[key]
        bad_bool = isinstance(value, bool) and bool not in kinds
        if bad_bool or not isinstance(value, kinds):
            names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise DataError(path, lineno, f"{key!r} must be {names}, got {value!r}")
    for key in ("tokens", "sample"):
        if key in row and row[key] < 0:
            raise DataError(path, lineno, f"{key!r} must be non-negative, got {row[key]}")
    if not row["problem_id"]:
        raise DataError(path, lineno, "'problem_id' must be a non-empty string")


def load_profile_rows(
    path: str | os.PathLike[str], *, full: bool = False, allow_torn_tail: bool = False
) -> list[dict[str, Any]]:
    """Validated rows of a profile JSONL (``roi profile``), read-only: ``problem_id`` a
    non-empty string, ``tokens`` a non-negative integer (generated tokens), ``correct`` a
    boolean (0/1 is read as false/true; "no", 2 or 1.0 are errors); ``full`` also requires ``sample``, ``tier`` and ``text`` (what MFT targets use).
    A repeated (problem_id, sample) pair or an empty file is an error. DataError names file:line.
    ``allow_torn_tail``: a run's own file still being written (see ``read_record_lines``)."""
    need = ("problem_id", "tokens", "correct") + (("sample", "tier", "text") if full else ())
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[Any, Any], int] = {}
    for lineno, row in read_record_lines(path, allow_torn_tail=allow_torn_tail):
        _check_profile_row(path, lineno, row, need)
        if "sample" in row:
            key = (row["problem_id"], row["sample"])
            if key in seen:
                raise DataError(path, lineno, f"repeats sample {key} (first on line {seen[key]})")
            seen[key] = lineno
        rows.append(row)
    if not rows:
        raise DataError(path, None, "no profile rows in file")
    return rows


def load_profiles(path: str | os.PathLike[str] | None) -> Profiles | None:
    """problem id → [(tokens, correct)] from a profile JSONL (validated by ``load_profile_rows``);
    None without a path."""
    if not path:
        return None
    table: Profiles = {}
    for row in load_profile_rows(path):
        table.setdefault(row["problem_id"], []).append((row["tokens"], row["correct"]))
    return table
