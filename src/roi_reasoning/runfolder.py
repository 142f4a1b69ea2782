"""The run folder: the name of every file a run writes, in one place, how state files are
written (``atomic_write_text``: whole or not at all), how a rerun compares its settings with the
record a run left (``settings_diff``), and the schema of ``results.json`` (``Results``,
``Cell``: TypedDicts, as lm-eval types its results). One writer at a time: ``runlock``.

Writers and readers name files through these constants, never as literals (docs/design.md,
"Formats"). Layout of each command's ``--out``:

- ``roi eval``: ``run.json`` (its settings), ``samples.jsonl`` (one record per exam and method,
  append-only), ``results.json`` (``Results``), ``report.md`` and its plots.
- ``roi profile``: ``<out>`` (JSONL) and ``<out>.run.json`` (its settings).
- ``roi mft build``: ``dataset/`` (a ``datasets`` folder), ``targets.jsonl``, ``stats.json``.
- ``roi mft train`` / ``roi rarl train``: ``checkpoint-N/`` (TRL's), ``final/`` (the model,
  published whole, last) and for RARL ``curve.jsonl`` (the validation curve).
- ``roi world build``: ``world.json`` (its config and gate) and ``profile-test.jsonl``.
- ``roi demo``: ``demo.json``, ``timings.json``, ``report.md`` and the stage folders below.
- every folder a command writes holds ``.roi.lock`` while it runs (``runlock``); a world
  build holds ``.<config hash>.lock`` beside its cache folder.

Run example: ``python -c "from roi_reasoning import runfolder; print(runfolder.RESULTS)"``
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, TypedDict

from roi_reasoning.errors import DataError
from roi_reasoning.inputs import read_json_file

LOCK = ".roi.lock"
RUN = "run.json"
SAMPLES = "samples.jsonl"
RESULTS = "results.json"
REPORT = "report.md"
PROFILE_RUN_SUFFIX = ".run.json"  # beside a profile JSONL: <out>.run.json
MFT_DATASET = "dataset"
MFT_TARGETS = "targets.jsonl"
MFT_STATS = "stats.json"
FINAL = "final"
CURVE = "curve.jsonl"
WORLD = "world.json"
WORLD_PROFILE = "profile-test.jsonl"  # a built world's test profile (its quality gate)

# roi demo's folder: one entry per stage output, under --out
DEMO = "demo.json"
TIMINGS = "timings.json"
DEMO_WORLD = "world"  # a link to the cached world folder
DEMO_PROFILE = "profile.jsonl"  # the base model on the tune split (MFT's data)
DEMO_ORACLE_PROFILE = "profile-test.jsonl"  # the base model on the evaluated test problems
DEMO_MFT_DATA = "mft-data"
DEMO_MFT = "mft"
DEMO_RARL = "rarl"
DEMO_EVAL = "eval"  # eval/<model name>/, one `roi eval` run folder per model


class Interval(TypedDict):
    """A mean with its 95 % bootstrap interval (metrics.bootstrap_ci)."""

    mean: float
    lo: float
    hi: float


class Cell(TypedDict):
    """One (method, paper kind, budget) cell of ``results.json`` (metrics.cell_metrics). Values
    are None where the cell cannot have them (no profile, no tags, an empty cell)."""

    method: str
    kind: str
    budget: int  # tokens
    n_exams: int
    score: Interval
    regret_tilde: float | None
    oracle_value: float | None
    oracle_regret: float | None
    oracle_gap: float | None
    bellman_value: float | None
    bellman_gap: float | None
    bellman_share: float | None
    attempt_all_value: float | None
    all_but_hardest_value: float | None
    bellman_attempt_by_tier: dict[str, float] | None
    position_accuracy: list[float]
    position_tokens: list[float]  # tokens
    level_accuracy: float | None
    confusion: list[list[int]]
    level_censored: int
    skip_tag_answered: float | None
    skip_rate: float
    skip_rate_by_tier: dict[str, float]
    skip_precision: float | None
    status_counts: dict[str, int]
    exhausted_exams: float
    budget_utilisation: float
    tokens_mean: float  # tokens


class Results(TypedDict):
    """``results.json`` as ``roi eval`` writes it (evaluation.evaluate.write_results)."""

    run: str
    created: str  # ISO 8601, UTC
    git: str | None
    config: dict[str, Any]  # the EvalConfig
    versions: dict[str, str | None]
    grader: str
    policy: dict[str, Any]
    level_bounds: list[int]  # tokens
    accounting: str
    seeds: dict[str, int]
    cells: list[Cell]


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder + ``os.replace``:
    readers see the old file or the new one, never a partial one (a kill mid-write included)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def settings_diff(
    path: str | os.PathLike[str], mine: dict[str, Any], ignore: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[str]] | None:
    """The settings record a run wrote at ``path`` and the keys (sorted, ``ignore`` left out)
    whose values differ from ``mine``; None when there is no record yet. A record that is not
    a JSON mapping is a DataError naming the file (a rerun must not guess)."""
    if not os.path.exists(path):
        return None
    theirs = read_json_file(path, "a settings record of this run (use another --out)")
    if not isinstance(theirs, dict):
        raise DataError(path, None, "not a settings record of this run; use another --out")
    keys = (set(theirs) | set(mine)) - set(ignore)
    return theirs, sorted(k for k in keys if theirs.get(k) != mine.get(k))
