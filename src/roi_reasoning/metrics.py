"""Aggregate exam outcomes into the metrics of one cell = method × paper kind × budget.

Score (DESIGN.md §1) = mean points of correct answers per exam, with a 95 % percentile
bootstrap CI over exams; Regret~ = (Score_easy − Score)/Score_easy on the groups both papers
share; oracle value V* = the hindsight MCKP optimum over profiled attempts (when a profile table
is given), oracle regret V* − Score and gap (V* − Score)/V*; P1..PN accuracy; level accuracy and
the (L+1)×(L+1) confusion (rows predicted, cols actual level) over reached, tagged, not-skipped
problems whose segment finished (a skip's cost is not revealed; a segment the budget cut has a
censored actual level: counted apart as ``level_censored``); ``skip_tag_answered``: the share of
Level-top (skip) tags followed by a real answer instead of NA; skip rate and skip precision
(skipped problems the same method fails whenever it tries and finishes them, in any paper, else
per the profile's success rate < 0.5).

Run example: ``python -c "from roi_reasoning.metrics import compute_cells; help(compute_cells)"``
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from roi_reasoning.knapsack import hindsight_oracle, normalised_gap, regret_tilde
from roi_reasoning.records import STATUSES, ExamOutcome

Profiles = dict[str, list[tuple[int, bool]]]  # problem id -> measured (tokens, correct) samples
KIND_ORDER = ("easy", "medium", "hard", "composition")


def bootstrap_ci(values: Sequence[float], *, n: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean and 95 % percentile-bootstrap interval of the mean."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return {"mean": float("nan"), "lo": float("nan"), "hi": float("nan")}
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n, x.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"mean": float(x.mean()), "lo": float(lo), "hi": float(hi)}


def _attempt_index(outcomes: Sequence[ExamOutcome]) -> dict[tuple[str, str], list[bool]]:
    """(method, problem id) -> correctness of every finished attempt (a cut attempt says nothing
    about whether the method could solve the problem)."""
    index: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for exam in outcomes:
        for o in exam.outcomes:
            if o.status in ("correct", "wrong"):
                index[(exam.method, o.problem_id)].append(o.correct)
    return index


def _skip_precision(cell: Sequence[ExamOutcome], attempts: dict, profiles: Profiles | None):
    judged = precise = 0
    for exam in cell:
        for o in exam.outcomes:
            if o.status != "skipped":
                continue
            tries = attempts.get((exam.method, o.problem_id))
            if tries:
                fails = not any(tries)
            elif profiles and profiles.get(o.problem_id):
                samples = profiles[o.problem_id]
                fails = sum(c for _, c in samples) / len(samples) < 0.5
            else:
                continue
            judged += 1
            precise += fails
    return precise / judged if judged else None


def _levels(cell: Sequence[ExamOutcome], n_levels: int) -> dict[str, Any]:
    """Level accuracy and confusion over tagged segments that finished; censored ones apart."""
    confusion = np.zeros((n_levels, n_levels), dtype=int)
    censored = skip_tags = skip_answered = 0
    for exam in cell:
        for o in exam.outcomes:
            if o.predicted_level == n_levels - 1:
                skip_tags += 1
                skip_answered += o.status in ("correct", "wrong")
            if o.predicted_level is None or o.actual_level is None or o.status == "skipped":
                continue
            if o.status == "exhausted":  # cut by the budget: its actual level is unknown
                censored += 1
                continue
            confusion[o.predicted_level, o.actual_level] += 1
    total = confusion.sum()
    return {
        "level_accuracy": float(np.trace(confusion) / total) if total else None,
        "confusion": confusion.tolist(),
        "level_censored": censored,
        "skip_tag_answered": skip_answered / skip_tags if skip_tags else None,
    }


def _oracle(cell: Sequence[ExamOutcome], profiles: Profiles | None) -> float | None:
    if not profiles:
        return None
    values = []
    for exam in cell:
        attempts = []
        for o in exam.outcomes:
            if o.problem_id not in profiles:
                return None
            attempts.append([(t, o.points * float(c)) for t, c in profiles[o.problem_id]])
        values.append(hindsight_oracle(exam.budget, attempts)[0])
    return float(np.mean(values))


def cell_metrics(
    cell: Sequence[ExamOutcome],
    bounds: Sequence[int],
    attempts: dict,
    profiles: Profiles | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    n = max(len(e.outcomes) for e in cell)
    scores = [e.score for e in cell]
    pos_correct = np.zeros(n)
    pos_tokens = np.zeros(n)
    pos_count = np.zeros(n)
    counts = dict.fromkeys(STATUSES, 0)
    by_tier: dict[str, list[bool]] = defaultdict(list)
    for exam in cell:
        for o in exam.outcomes:
            by_tier[o.tier].append(o.status == "skipped")
            pos_correct[o.position] += o.correct
            pos_tokens[o.position] += o.tokens
            pos_count[o.position] += 1
            counts[o.status] += 1
    levels = _levels(cell, len(bounds) + 1)
    total = sum(counts.values())
    score = bootstrap_ci(scores, seed=seed)
    v_star = _oracle(cell, profiles)
    return {
        "method": cell[0].method,
        "kind": cell[0].kind,
        "budget": cell[0].budget,
        "n_exams": len(cell),
        "score": score,
        "regret_tilde": None,  # filled in by compute_cells, which sees the Easy paper
        "oracle_value": v_star,
        "oracle_regret": None if v_star is None else v_star - score["mean"],
        "oracle_gap": None if v_star is None else normalised_gap(v_star, score["mean"]),
        "position_accuracy": (pos_correct / np.maximum(pos_count, 1)).tolist(),
        "position_tokens": (pos_tokens / np.maximum(pos_count, 1)).tolist(),
        **levels,
        "skip_rate": counts["skipped"] / total if total else 0.0,
        "skip_rate_by_tier": {t: float(np.mean(v)) for t, v in by_tier.items() if t},
        "skip_precision": _skip_precision(cell, attempts, profiles),
        "status_counts": counts,
        "exhausted_exams": float(np.mean([e.truncated for e in cell])),
        "budget_utilisation": float(np.mean([e.tokens_used / e.budget for e in cell])),
        "tokens_mean": float(np.mean([e.tokens_used for e in cell])),
    }


def _cell_key(key: tuple[str, str, int]) -> tuple:
    method, kind, budget = key
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return (method, budget, rank, kind)


def _group_means(exams: Sequence[ExamOutcome]) -> dict[str, float]:
    by_group: dict[str, list[float]] = defaultdict(list)
    for e in exams:
        by_group[e.group].append(e.score)
    return {g: float(np.mean(v)) for g, v in by_group.items()}


def _regret_tilde(easy: Sequence[ExamOutcome], cell: Sequence[ExamOutcome]) -> float | None:
    """Regret~ over the groups both cells share, each group's exams averaged (not the last kept)."""
    s_easy, s_cell = _group_means(easy), _group_means(cell)
    shared = [g for g in s_cell if g in s_easy]
    if not shared:
        return None
    return regret_tilde(
        float(np.mean([s_easy[g] for g in shared])), float(np.mean([s_cell[g] for g in shared]))
    )


def compute_cells(
    outcomes: Sequence[ExamOutcome],
    bounds: Sequence[int],
    *,
    profiles: Profiles | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One metrics dict per (method, kind, budget), ordered by method, budget, kind."""
    groups: dict[tuple[str, str, int], list[ExamOutcome]] = defaultdict(list)
    for e in outcomes:
        groups[(e.method, e.kind, e.budget)].append(e)
    attempts = _attempt_index(outcomes)
    cells = []
    for key in sorted(groups, key=_cell_key):
        cell = groups[key]
        metrics = cell_metrics(cell, bounds, attempts, profiles, seed)
        easy = groups.get((key[0], "easy", key[2]))
        if easy is not None:
            metrics["regret_tilde"] = _regret_tilde(easy, cell)
        cells.append(metrics)
    return cells
