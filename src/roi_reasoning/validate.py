"""Input checks shared by the CLI and the stage runners: typed config values, ranges, output
paths that must be writable before anything is written, input digests, and the
size limits that keep a run inside memory.

Every check raises ``ConfigError`` (a setting, named by its key path) or ``DataError`` (a file,
named by path and line); ``roi`` turns both into one ``error: ...`` line and exit code 2.

Run example: ``python -c "from roi_reasoning.validate import check_type; check_type([1], list[int], 'budgets')"``
"""

from __future__ import annotations

import hashlib
import math
import os
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roi_reasoning.errors import ConfigError, DataError

# Sizes (docs/design.md §5: bad input is refused up front, never half-run). A budget is generated
# tokens of one exam; no policy generates a million tokens for one prompt, and the oracle's DP
# tables grow with it (knapsack.MEMORY_LIMIT bounds those separately).
MAX_BUDGET = 1_000_000  # tokens per exam
MAX_EXAMS = 100_000  # exams per file (count x kinds x budgets), ~3 KB of JSONL each: ~300 MB
MAX_PROBLEMS = 1_000  # problems per exam (N)
MAX_SAMPLES = 100_000  # samples of one profile run (per_tier x k x tiers)
MAX_POINTS = 1e6  # points per problem: sums over 100,000 exams stay finite
MAX_SEED = 2**32 - 1  # numpy's and torch's seed range (a negative seed fails in numpy)


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def check_type(value: Any, hint: Any, key: str) -> Any:
    """``value`` if it has type ``hint`` (int, float, str, bool, X | None, list[X],
    tuple[X, ...], dict[str, X], Any); ConfigError naming ``key`` otherwise. No coercion:
    ``"64"``, ``64.9`` and ``true`` are not integers; an int is accepted as a float."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return check_type(value, option, key)
            except ConfigError:
                continue
        raise ConfigError(key, f"expected {_hint_name(hint)}, got {_describe(value)}")
    if hint is type(None):
        if value is None:
            return value
    elif hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:  # finite: NaN and infinities break every setting that is a number
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return value
    elif hint is str:
        if isinstance(value, str):
            return value
    elif origin in (list, tuple, Sequence) or hint in (list, tuple):
        if isinstance(value, (list, tuple)):
            item = args[0] if args else Any
            for i, x in enumerate(value):
                check_type(x, item, f"{key}[{i}]")
            return value
    elif origin is dict or hint is dict:
        if isinstance(value, dict):
            kt, vt = args if args else (Any, Any)
            for k, v in value.items():
                check_type(k, kt, f"{key} (key {k!r})")
                check_type(v, vt, f"{key}.{k}")
            return value
    else:  # an annotation we do not check (a class of the user's): accept
        return value
    raise ConfigError(key, f"expected {_hint_name(hint)}, got {_describe(value)}")


def _hint_name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    if isinstance(hint, type):
        return {
            "int": "an integer",
            "float": "a finite number",
            "str": "a string",
            "bool": "true/false",
        }.get(hint.__name__, hint.__name__)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_hint_name(a) for a in args)
    if origin in (list, tuple):
        return f"a list of {_hint_name(args[0]) if args else 'values'}"
    if origin is dict:
        return "a mapping"
    return str(hint)


def int_in(value: Any, key: str, lo: int | None = None, hi: int | None = None) -> int:
    """An integer (not bool) with ``lo <= value <= hi``; ConfigError naming ``key``."""
    check_type(value, int, key)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        span = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
        raise ConfigError(key, f"must be an integer in {span}, got {value!r}")
    return int(value)


def float_in(value: Any, key: str, lo: float | None = None, hi: float | None = None) -> float:
    """A finite number with ``lo <= value <= hi``; NaN and infinities are refused."""
    check_type(value, float, key)
    if (
        not math.isfinite(value)
        or (lo is not None and value < lo)
        or (hi is not None and value > hi)
    ):
        span = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
        raise ConfigError(key, f"must be a finite number in {span}, got {value!r}")
    return float(value)


def check_fields(obj: Any, ranges: dict[str, tuple], prefix: str = "") -> None:
    """Every field named in ``ranges`` within ``(lo, hi)`` or ``(lo, hi, "above")`` (``lo``
    excluded): a float bound (or value) checks a finite number, else an integer; a list or tuple
    value is checked item by item. One shared check for every config's numbers (``prefix``
    names the section: ``world.``)."""
    for name, (lo, hi, *above) in ranges.items():
        value, key = getattr(obj, name), prefix + name
        items = list(enumerate(value)) if isinstance(value, (list, tuple)) else [(None, value)]
        for i, v in items:
            k = key if i is None else f"{key}[{i}]"
            if any(isinstance(x, float) for x in (lo, hi)) or isinstance(v, float):
                float_in(v, k, lo, hi)
                if above and v <= lo:
                    raise ConfigError(k, f"must be above {lo}, got {v!r}")
            else:
                int_in(v, k, lo, hi)


def int_list(
    values: Any, key: str, lo: int = 1, hi: int | None = None, ascending: bool = False
) -> list[int]:
    """A non-empty list of integers in ``lo..hi``; ``ascending``: strictly increasing."""
    check_type(values, list[int], key)
    if not values:
        raise ConfigError(key, "must not be empty")
    for i, v in enumerate(values):
        int_in(v, f"{key}[{i}]", lo, hi)
    if ascending and any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ConfigError(key, f"must be strictly increasing, got {list(values)}")
    return list(values)


def str_list(
    values: Any, key: str, valid: Sequence[str] | None = None, unique: bool = True
) -> list[str]:
    """A non-empty list of non-empty strings, each in ``valid`` when given; ``unique``: no
    repeats (a repeated method or kind would run, and count, twice)."""
    check_type(values, list[str], key)
    if not values:
        raise ConfigError(key, "must not be empty")
    for i, v in enumerate(values):
        if not v.strip():
            raise ConfigError(f"{key}[{i}]", "must be a non-empty string")
        if unique and v in values[:i]:
            raise ConfigError(f"{key}[{i}]", f"{v!r} is listed twice")
        if valid is not None and v not in valid:
            raise ConfigError(f"{key}[{i}]", f"unknown value {v!r}; valid: {', '.join(valid)}")
    return list(values)


# ---------------------------------------------------------------- paths


def nearest_existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (absolute)."""
    probe = path.absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def _not_empty(path: str | os.PathLike[str]) -> Path:
    """``Path('')`` is the working directory: an empty output path is a mistake, not a choice."""
    if not str(path).strip():
        raise ConfigError("out", "must not be empty")
    return Path(path)


def _check_creatable(path: Path, below: Path | None = None) -> None:
    """``path`` and its missing parents can be created: the nearest existing folder above
    ``below`` (default: the parent of ``path``) is a writable directory."""
    base = nearest_existing(below if below is not None else path.parent)
    if not base.is_dir():
        raise DataError(path, None, f"cannot create it: {base} is not a directory")
    if not os.access(base, os.W_OK | os.X_OK):
        raise DataError(path, None, f"cannot create it: {base} is not writable")


def check_out_file(path: str | os.PathLike[str]) -> Path:
    """An output file path that can be (re)written: not a directory, under a writable folder.
    Creates nothing."""
    p = _not_empty(path)
    if p.is_dir():
        raise DataError(p, None, "is a directory; expected an output file path")
    if p.exists() and not os.access(p, os.W_OK):
        raise DataError(p, None, "output file is not writable")
    _check_creatable(p)
    return p


def check_out_dir(path: str | os.PathLike[str], files: Sequence[str] = ()) -> Path:
    """An output folder that exists as a writable directory or can be created; ``files`` inside
    it, where present, must be writable regular files. Creates nothing."""
    p = _not_empty(path)
    if p.exists():
        if not p.is_dir():
            raise DataError(p, None, "exists and is not a directory; expected an output folder")
        if not os.access(p, os.W_OK | os.X_OK):
            raise DataError(p, None, "output folder is not writable")
        for name in files:
            child = p / name
            if child.exists() and (not child.is_file() or not os.access(child, os.W_OK)):
                raise DataError(child, None, "exists but is not a writable file")
    else:
        _check_creatable(p, p)
    return p


def check_in_file(path: str | os.PathLike[str]) -> Path:
    """An input file that exists and is readable (opened read-only later)."""
    p = Path(path)
    if not p.exists():
        raise DataError(p, None, "file not found")
    if not p.is_file():
        raise DataError(p, None, "is not a regular file")
    if not os.access(p, os.R_OK):
        raise DataError(p, None, "file is not readable")
    return p


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes (read-only)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
