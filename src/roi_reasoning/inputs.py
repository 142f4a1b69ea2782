"""Bounded parsing of every JSON and YAML value ``roi`` reads (inputs, settings and its own state
files): a value that would break a later stage is refused where it is read.

Bounds: nesting depth (a 100,000-deep array exhausts the parser's recursion), values after YAML
alias expansion (a few hundred bytes of aliases expand to billions of nodes), integer digits
(Python refuses to parse more than 4,300; anything past int64 is no count, budget or seed of
ours), finite floats (JSON's ``NaN``/``Infinity``, YAML's ``.inf``), text encodable as UTF-8
(``"\\ud800"`` parses to a lone surrogate that fails at the first write) and string mapping keys.

Every check raises ``BadValue`` with a message; callers add the place (``DataError`` with file
and line, ``ConfigError`` with the key).

Run example: ``python -c "from roi_reasoning.inputs import parse_json; parse_json('[1e999]')"``
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from roi_reasoning.errors import DataError

MAX_DEPTH = 100  # nested lists/mappings in one value
MAX_NODES = 1_000_000  # values in one document, counted after alias expansion
MAX_INT = 10**18  # |integer| below this (int64 range, 18 digits)


class BadValue(ValueError):
    """A value outside the bounds above; the message says which (``line``: of a whole-file
    JSON document, when known)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class NotJSON(BadValue):
    """The text does not parse as JSON at all (as opposed to JSON outside the bounds)."""


def _constant(name: str) -> Any:
    raise BadValue(f"{name} is not a number we accept (finite numbers only)")


def parse_json(text: str) -> Any:
    """``json.loads`` within the bounds; BadValue names what is wrong (column included)."""
    try:
        value = json.loads(text, parse_constant=_constant)
    except BadValue:
        raise
    except json.JSONDecodeError as exc:
        raise NotJSON(f"malformed JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
    except RecursionError:
        raise BadValue(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # an integer past Python's digit limit
        raise BadValue(f"number out of range ({exc})") from None
    check_value(value)
    return value


def _check_scalar(value: Any) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = value[exc.start]
            raise BadValue(
                f"text holds {bad!r}, a lone surrogate: not encodable as UTF-8"
            ) from None
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) >= MAX_INT:
            raise BadValue(f"integer of {len(str(abs(value)))} digits: out of range (max 18)")
    elif isinstance(value, float) and not math.isfinite(value):
        raise BadValue(f"{value} is not a number we accept (finite numbers only)")


def check_value(value: Any) -> None:
    """Walk ``value`` (shared sub-values once per reference, as a consumer would) within the
    bounds; mapping keys must be strings. Iterative: depth is checked, not recursed."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise BadValue(f"more than {MAX_NODES:,} values (after alias expansion)")
        if isinstance(item, dict):
            if depth >= MAX_DEPTH:
                raise BadValue(f"nested deeper than {MAX_DEPTH} levels")
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise BadValue(f"mapping key {key!r} is not a string")
                _check_scalar(key)
                stack.append((sub, depth + 1))
        elif isinstance(item, (list, tuple)):
            if depth >= MAX_DEPTH:
                raise BadValue(f"nested deeper than {MAX_DEPTH} levels")
            stack.extend((sub, depth + 1) for sub in item)
        else:
            _check_scalar(item)


def read_json_file(path: str | os.PathLike[str], what: str = "a JSON file") -> Any:
    """The JSON value of a whole file (read-only) within the bounds; DataError naming the file
    otherwise (``what`` says what it should have been)."""
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
        return parse_json(text)
    except BadValue as exc:
        raise DataError(path, exc.line, f"unreadable as {what}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise DataError(path, None, f"unreadable as {what}: not UTF-8 ({exc.reason})") from None
