"""Stage configs from YAML: defaults live in dataclasses, YAML and flags override, unknown keys
are errors (a typo never silently falls back to a default).

Run example: ``roi eval --config configs/eval/scripted.yaml --out runs/x``
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, TypeVar

import yaml

from roi_reasoning.data import DataError

T = TypeVar("T")


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(path, mark.line + 1 if mark else None, f"bad YAML: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(path, None, "expected a mapping of settings at the top level")
    return data


def build_config(cls: type[T], values: dict[str, Any], source: str = "config") -> T:
    """``cls(**values)`` with a clear error listing the valid keys for unknown ones."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown:
        raise DataError(source, None, f"unknown key(s) {unknown}; valid: {sorted(names)}")
    missing = [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and f.name not in values
    ]
    if missing:
        raise DataError(source, None, f"missing required setting(s) {missing}")
    return cls(**values)


def load_config(cls: type[T], path: str | os.PathLike[str] | None, overrides: dict[str, Any]) -> T:
    """YAML file values, then non-None ``overrides`` on top."""
    values = load_yaml(path) if path else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return build_config(cls, values, str(path or "command line"))
