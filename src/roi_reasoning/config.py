"""Stage configs from YAML: defaults live in dataclasses, YAML and flags override, unknown keys
are errors (a typo never silently falls back to a default), and every value must have its
field's declared type (``budgets: "512"`` or ``methods: base`` is an error, not a coercion).

Run example: ``roi eval --config configs/eval/paper.yaml --out runs/x``
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from roi_reasoning.data import check_tiers
from roi_reasoning.errors import ConfigError, DataError
from roi_reasoning.inputs import BadValue, check_value

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# The config classes: dataclasses (``dataclasses.fields`` and ``replace`` take them).
T = TypeVar("T", bound="DataclassInstance")


class YamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads YAML 1.2 floats: PyYAML (YAML 1.1) takes ``1e-4`` and
    ``5e-5`` — how learning rates are written — for strings, and typed configs then refuse them."""


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def yaml_value(text: str, key: str = "--set") -> Any:
    """One YAML scalar or structure (``--set KEY=VALUE``), with the same float rule and the
    bounds of ``inputs.check_value``; ConfigError naming ``key`` otherwise."""
    try:
        value = yaml.load(text, Loader=YamlLoader)  # noqa: S506 - a SafeLoader subclass
        check_value(value)
    except yaml.YAMLError as exc:
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(key, f"cannot parse {text!r} as a YAML value: {what}") from None
    except RecursionError:
        raise ConfigError(key, "value nested too deep") from None
    except BadValue as exc:
        raise ConfigError(key, str(exc)) from None
    return value


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The top-level mapping of a YAML file (read-only); DataError names file and line."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=YamlLoader) or {}  # noqa: S506 - SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" (column {mark.column + 1})" if mark else ""
        raise DataError(path, mark.line + 1 if mark else None, f"bad YAML: {what}{where}") from None
    except UnicodeDecodeError as exc:
        raise DataError(path, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise DataError(path, None, "bad YAML: nested too deep") from None
    except IsADirectoryError:
        raise DataError(path, None, "is a directory; expected a YAML file") from None
    except OSError as exc:
        raise DataError(path, None, f"cannot read: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise DataError(path, None, "expected a mapping of settings at the top level")
    try:
        check_value(data)
    except BadValue as exc:
        raise DataError(path, None, f"bad YAML: {exc}") from None
    return data


def check_values(cls: type, values: dict[str, Any], source: str, prefix: str = "") -> None:
    """Every value has its field's declared type; ``tiers`` are checked key by key. Errors name
    the key path (``prefix`` + key)."""
    from roi_reasoning.validate import check_type

    hints = typing.get_type_hints(cls)
    try:
        for key, value in values.items():
            if key == "tiers" and value is not None:
                check_tiers(value, key)
            elif key in hints:
                check_type(value, hints[key], key)
    except ConfigError as exc:
        raise ConfigError(prefix + exc.key, exc.detail, source) from None


def _nested_type(hint: Any) -> type[DataclassInstance] | None:
    """The dataclass a field holds (``world: WorldConfig``), else None."""
    return hint if isinstance(hint, type) and dataclasses.is_dataclass(hint) else None


def _field_values(cls: type, values: dict[str, Any], source: str, base: Any, prefix: str) -> dict:
    """``values`` with nested mappings built into their dataclasses and YAML lists made tuples
    where the field is a tuple; plain values type-checked."""
    hints = typing.get_type_hints(cls)
    built, plain = {}, {}
    for key, value in values.items():
        nested = _nested_type(hints.get(key))
        if nested is None:
            origin = typing.get_origin(hints.get(key))
            plain[key] = tuple(value) if origin is tuple and isinstance(value, list) else value
            old = getattr(base, key, None)
            if origin is dict and isinstance(value, dict) and isinstance(old, dict):
                # an override of one `trainer.X` keeps the mapping's other entries
                plain[key] = {**old, **value}
            continue
        if not isinstance(value, dict):
            raise ConfigError(prefix + key, "expected a mapping of settings", source)
        inner = getattr(base, key) if base is not None else None
        built[key] = build_config(nested, value, source, base=inner, prefix=f"{prefix}{key}.")
    check_values(cls, plain, source, prefix)
    return {**plain, **built}


def build_config(
    cls: type[T],
    values: dict[str, Any],
    source: str = "config",
    *,
    base: T | None = None,
    prefix: str = "",
) -> T:
    """``cls(**values)`` — or ``base`` with ``values`` set — with nested mappings built into
    nested config dataclasses (``world: {seed: 3}``). Unknown keys list the valid ones, a value
    of the wrong type names its key path (``world.seed``), and a dataclass's own consistency
    check (``__post_init__``) is a ConfigError naming the nested key."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        paths = [prefix + k for k in unknown]
        raise ConfigError(paths[0], f"unknown key(s) {paths}; valid: {sorted(names)}", source)
    missing = [
        prefix + f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and f.name not in values
    ]
    if missing and base is None:
        raise DataError(source, None, f"missing required setting(s) {missing}")
    kwargs = _field_values(cls, values, source, base, prefix)
    try:
        return dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)
    except ConfigError as exc:  # a check of the dataclass's own: name the file and section
        raise ConfigError(prefix + exc.key, exc.detail, exc.source or source) from None
    except DataError:
        raise
    except ValueError as exc:  # the dataclass's own consistency checks
        raise ConfigError(prefix.rstrip(".") or cls.__name__, str(exc), source) from None


def load_config(cls: type[T], path: str | os.PathLike[str] | None, overrides: dict[str, Any]) -> T:
    """YAML file values, then non-None ``overrides`` on top."""
    values = load_yaml(path) if path else {}
    flags = {k: v for k, v in overrides.items() if v is not None}
    if path:  # name the file for its own values, the command line for the flags
        known = {f.name for f in dataclasses.fields(cls)}
        check_values(cls, {k: v for k, v in values.items() if k in known}, str(path))
    check_values(cls, flags, "command line")
    values.update(flags)
    return build_config(cls, values, str(path or "command line"))
