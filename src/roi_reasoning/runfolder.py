"""The run folder: the name of every file a run writes, in one place, and the schema of
``results.json`` (``Results``, ``Cell``: TypedDicts, as lm-eval types its results).

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
- every folder a command writes holds ``.roi.lock`` while it runs (``runlock``).

Run example: ``python -c "from roi_reasoning import runfolder; print(runfolder.RESULTS)"``
"""

from __future__ import annotations

from typing import Any, TypedDict

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
