"""The errors ``roi`` reports as one ``error: ...`` line and exit code 2 (``cli.main``): bad
input (``DataError``, named by file and line), a bad setting (``ConfigError``, named by its key),
a run folder another process writes (``RunBusy``) and a training run that stopped
(``TrainingError``). Anything else is a bug and shows its traceback.

Run example: ``python -c "from roi_reasoning.errors import DataError; print(DataError('x.jsonl', 3, 'bad'))"``
"""

from __future__ import annotations

import os


class DataError(ValueError):
    """Bad input. The message names the file and line; the CLI exits with code 2."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


class ConfigError(ValueError):
    """A bad setting. The message names its key path (``budgets[1]``, ``tiers.easy.source``)
    and, when known, the file it came from; the CLI exits with code 2."""

    def __init__(self, key: str, message: str, source: str | None = None) -> None:
        self.key, self.detail, self.source = key, message, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {message}")


class MissingExtra(ConfigError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__("install", f"{what} needs `pip install 'roi-reasoning[{extra}]'`")


class RunBusy(DataError):
    """Another live process holds a run folder's lock (``runlock``)."""


class TrainingError(ValueError):
    """A training stage stopped: its loss, gradient norm or weights stopped being finite, or it
    saved a model folder without weights (``training.checkpoints``)."""
