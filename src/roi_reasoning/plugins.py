"""Registries with a dotted-path escape hatch: a registered name, or ``package.module:attr`` for
user code (policies, methods, rewards).

Run example: ``python -c "from roi_reasoning.plugins import resolve; print(resolve({}, 'json:dumps', 'x'))"``
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from roi_reasoning.errors import ConfigError


def resolve(registry: Mapping[str, Any], name: str, what: str) -> Any:
    """``registry[name]``, or the attribute a ``module:attr`` path names (a registered value may
    itself be such a path: imported lazily). An unknown name or an import that fails is a
    ConfigError keyed by ``what`` that lists the valid names."""
    value = registry.get(name, name)
    if not isinstance(value, str):
        return value
    valid = f"valid: {', '.join(registry)} or module:attr"
    module, sep, attr = value.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(what, f"unknown {what} {name!r}; {valid}")
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module == exc.name or module.startswith(exc.name + ".")):
            raise  # the module exists but imports something missing: its own bug or extra
        raise ConfigError(what, f"{name!r}: no module {module!r}; {valid}") from None
    except AttributeError:
        raise ConfigError(what, f"{name!r}: module {module!r} has no {attr!r}; {valid}") from None
