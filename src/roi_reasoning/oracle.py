"""``roi oracle``'s JSON instances: read and checked (``InstanceError`` names the path of a bad
value) and solved with ``knapsack``'s exact solvers: ``mode`` hindsight (MCKP over measured
attempts), bellman (the ex-ante plan over sampled costs) or greedy (the paper's Greedy Knapsack).

Run example: ``python -c "from roi_reasoning.oracle import solve_instance; print(solve_instance({'budget': 10, 'problems': [{'attempts': [{'tokens': 4, 'correct': 1}]}]}))"``
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

from roi_reasoning.knapsack import (
    DEFAULT_CENTROIDS,
    SKIP,
    InstanceError,
    Sample,
    bellman_bytes,
    bellman_plan,
    check_memory,
    greedy_keep,
    hindsight_bytes,
    hindsight_oracle,
)


def _expect_keys(
    obj: Any, path: str, required: Sequence[str], optional: Sequence[str] = ()
) -> dict:
    if not isinstance(obj, dict):
        raise InstanceError(f"{path}: must be a JSON object, got {type(obj).__name__}")
    for key in required:
        if key not in obj:
            raise InstanceError(f"{path}: missing {key!r}")
    unknown = sorted(set(obj) - set(required) - set(optional))
    if unknown:
        valid = ", ".join(repr(k) for k in (*required, *optional))
        raise InstanceError(f"{path}: unknown key {unknown[0]!r} (valid: {valid})")
    return obj


def _nonneg_int(value: Any, what: str) -> int:
    """``value`` as a non-negative integer; ``what`` = "path: 'key'" for the message."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise InstanceError(f"{what} must be a non-negative integer, got {value!r}")
    return int(value)


def _list(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise InstanceError(f"{path}: must be a JSON list, got {type(value).__name__}")
    return value


def _points(problem: dict, path: str) -> float:
    from roi_reasoning.validate import MAX_POINTS

    points = problem.get("points", 1)
    ok = isinstance(points, Real) and not isinstance(points, bool)
    if not ok or not math.isfinite(points) or not 0 <= points <= MAX_POINTS:
        raise InstanceError(
            f"{path}: 'points' must be a non-negative number (at most {MAX_POINTS:g}), "
            f"got {points!r}"
        )
    return float(points)


def _sample(raw: Any, path: str, points: float) -> Sample:
    row = _expect_keys(raw, path, ("tokens", "correct"))
    tokens = _nonneg_int(row["tokens"], f"{path}: 'tokens'")
    if row["correct"] not in (0, 1) or isinstance(row["correct"], float):
        raise InstanceError(f"{path}: 'correct' must be 0 or 1, got {row['correct']!r}")
    return tokens, points * int(row["correct"])


def _problems(instance: dict, inner: str) -> list[tuple[str, dict, float]]:
    """(path, problem object, points) for every problem, with ``inner`` required."""
    rows = []
    for i, raw in enumerate(_list(instance["problems"], "problems")):
        path = f"problems[{i}]"
        problem = _expect_keys(raw, path, (inner,), ("points", "id"))
        rows.append((path, problem, _points(problem, path)))
    return rows


def _fits(need: int, budget: int) -> None:
    try:
        check_memory(need, f"budget {budget}")
    except ValueError as exc:
        raise InstanceError(f"instance: 'budget': {exc}") from None


def _solve_hindsight(instance: dict) -> dict:
    _expect_keys(instance, "instance", ("budget", "problems"), ("mode",))
    budget = _nonneg_int(instance["budget"], "instance: 'budget'")
    _fits(hindsight_bytes(len(_list(instance["problems"], "problems")), budget), budget)
    attempts = []
    for path, problem, points in _problems(instance, "attempts"):
        raw = _list(problem["attempts"], f"{path}.attempts")
        attempts.append([_sample(a, f"{path}.attempts[{j}]", points) for j, a in enumerate(raw)])
    value, choice = hindsight_oracle(budget, attempts)
    return {"mode": "hindsight", "value": value, "choice": choice}


def _solve_bellman(instance: dict) -> dict:
    _expect_keys(instance, "instance", ("budget", "problems", "mode"))
    budget = _nonneg_int(instance["budget"], "instance: 'budget'")
    _fits(bellman_bytes(len(_list(instance["problems"], "problems")), budget, 1, 4), budget)
    options = []
    for path, problem, points in _problems(instance, "options"):
        raw = problem["options"]
        if not isinstance(raw, dict):
            raise InstanceError(f"{path}.options: must be a JSON object of named options")
        named: dict[str, list[Sample]] = {}
        for name, samples in raw.items():
            where = f"{path}.options[{json.dumps(name)}]"
            if name == SKIP:
                raise InstanceError(f"{where}: option name {SKIP!r} is reserved (always available)")
            if not _list(samples, where):
                raise InstanceError(f"{where}: needs at least one sample")
            named[name] = [_sample(s, f"{where}[{k}]", points) for k, s in enumerate(samples)]
        options.append(named)
    widest = max((len(o) for o in options), default=0)
    longest = max((len(k) for o in options for k in o), default=4)
    _fits(bellman_bytes(len(options), budget, widest, longest), budget)
    plan = bellman_plan(budget, options)
    return {"mode": "bellman", "value": plan.value, "first": plan.first, "policy": plan.table}


def _solve_greedy(instance: dict) -> dict:
    _expect_keys(instance, "instance", ("budget", "levels", "mode"), ("centroids",))
    budget = _nonneg_int(instance["budget"], "instance: 'budget'")
    levels = _list(instance["levels"], "levels")
    for k, level in enumerate(levels):
        if level is not None:
            _nonneg_int(level, f"levels[{k}]: level")
    raw = _list(instance.get("centroids", list(DEFAULT_CENTROIDS)), "centroids")
    centroids = [_nonneg_int(c, f"centroids[{k}]: centroid") for k, c in enumerate(raw)]
    keep = greedy_keep(levels, budget, centroids)
    kept = [i for i, flag in enumerate(keep) if flag]
    cost = sum(centroids[levels[i]] for i in kept)  # tokens
    return {"mode": "greedy", "keep": keep, "kept": kept, "cost": cost}


MODES: dict[str, Callable[[dict], dict]] = {
    "hindsight": _solve_hindsight,
    "bellman": _solve_bellman,
    "greedy": _solve_greedy,
}


def solve_instance(instance: dict) -> dict:
    """Solve one ``roi oracle`` instance (parsed JSON); one of MODES:

    hindsight (default): {"budget", "problems": [{"attempts": [{"tokens", "correct"}], "points"?}]}
      → {"mode", "value", "choice": [index | null]}
    bellman: {"mode", "budget", "problems": [{"options": {NAME: [{"tokens", "correct"}]}}]}
      → {"mode", "value", "first", "policy": table[i][b]}
    greedy: {"mode", "budget", "levels": [k | null], "centroids"?}
      → {"mode", "keep", "kept", "cost"}
    Raises InstanceError (a ValueError) naming the JSON path of the first problem found.
    """
    if not isinstance(instance, dict):
        raise InstanceError(f"instance: must be a JSON object, got {type(instance).__name__}")
    mode = instance.get("mode", "hindsight")
    if not isinstance(mode, str) or mode not in MODES:
        raise InstanceError(f"instance: unknown 'mode' {mode!r} (valid: {', '.join(MODES)})")
    return MODES[mode](instance)
