"""Aggregate exam outcomes into the metrics of one cell = method × paper kind × budget.

Score (docs/design.md §1) = mean points of correct answers per exam, with a 95 % percentile
bootstrap CI over exams; Regret~ = (Score_easy − Score)/Score_easy on the groups both papers
share; oracle value V* = the hindsight MCKP optimum over profiled attempts (when a profile table
is given), oracle regret V* − Score and gap (V* − Score)/V*; the Bellman-optimal ex-ante value
V_bellman over the same profiled samples, gap (V_bellman − Score)/V_bellman and share
Score/V_bellman; two fixed reference policies over the same samples, "attempt every problem"
and "attempt all but the hardest tier" (is allocation a decision at all here?), and the Bellman
plan's attempt probability per tier; ``paired_diff``: the paired bootstrap CI of one method's score minus another's
over the exams both answered; P1..PN accuracy; level accuracy and
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

from roi_reasoning.exams import KINDS
from roi_reasoning.knapsack import (
    attempt_probabilities,
    bellman_plan,
    hindsight_oracle,
    normalised_gap,
    policy_value,
    regret_tilde,
)
from roi_reasoning.records import STATUSES, ExamOutcome, Profiles

# (problem ids and points in exam order, budget) -> ``allocation_values`` of that exam: the same
# exam appears once per method (and per run), and its oracles depend only on this key
OracleCache = dict[tuple[tuple[tuple[str, float], ...], int], dict[str, Any]]


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


def allocation_values(
    problems: Sequence[tuple[str, float, str]],
    budget: int,
    profiles: Profiles,
    hardest: str | None = None,
) -> dict[str, Any] | None:
    """The oracle and reference values of one exam from its problems' profiled (tokens, correct)
    samples; ``problems`` are (id, points, tier) in exam order, rewards = points·correct. None
    when a problem has no profiled sample.

    ``oracle_value``: hindsight V*; ``bellman_value``: the Bellman-optimal ex-ante policy (one
    "solve" option per problem drawn from its samples, skip always allowed, a sample longer than
    the tokens left is cut: 0); ``attempt_all_value``: attempt every problem in order;
    ``all_but_hardest_value``: attempt all but the ``hardest`` tier's problems (None without
    ``hardest``); ``bellman_attempts``: per tier, the Bellman plan's probability of attempting
    that tier's problem (mean over the exam's problems of that tier)."""
    if any(not profiles.get(pid) for pid, _, _ in problems):
        return None
    samples = [[(t, pts * float(c)) for t, c in profiles[pid]] for pid, pts, _ in problems]
    plan = bellman_plan(budget, [{"solve": s} for s in samples])
    tiers = [tier for _, _, tier in problems]
    attempts: dict[str, list[float]] = defaultdict(list)
    for tier, p in zip(tiers, attempt_probabilities(plan, samples), strict=True):
        attempts[tier].append(p)
    skip_hardest = None
    if hardest is not None:
        skip_hardest = policy_value(budget, samples, [t != hardest for t in tiers])
    return {
        "oracle_value": hindsight_oracle(budget, samples)[0],
        "bellman_value": plan.value,
        "attempt_all_value": policy_value(budget, samples, [True] * len(samples)),
        "all_but_hardest_value": skip_hardest,
        "bellman_attempts": {t: float(np.mean(v)) for t, v in attempts.items()},
    }


def exam_oracles(
    exam: ExamOutcome, profiles: Profiles, hardest: str | None = None
) -> dict[str, Any] | None:
    """``allocation_values`` of a scored exam (its outcomes in position order)."""
    order = sorted(exam.outcomes, key=lambda o: o.position)
    problems = [(o.problem_id, float(o.points), o.tier) for o in order]
    return allocation_values(problems, exam.budget, profiles, hardest)


ORACLE_VALUES = ("oracle_value", "bellman_value", "attempt_all_value", "all_but_hardest_value")


def _oracles(
    cell: Sequence[ExamOutcome], profiles: Profiles | None, cache: OracleCache, hardest: str | None
) -> dict[str, Any]:
    """``allocation_values`` averaged over the cell's exams ({} without a complete profile)."""
    if not profiles:
        return {}
    found = []
    for exam in cell:
        order = sorted(exam.outcomes, key=lambda o: o.position)
        key = (tuple((o.problem_id, float(o.points)) for o in order), exam.budget)
        if key not in cache:
            values = exam_oracles(exam, profiles, hardest)
            if values is None:
                return {}
            cache[key] = values
        found.append(cache[key])
    out: dict[str, Any] = {
        k: None if found[0][k] is None else float(np.mean([f[k] for f in found]))
        for k in ORACLE_VALUES
    }
    by_tier: dict[str, list[float]] = defaultdict(list)
    for f in found:
        for tier, p in f["bellman_attempts"].items():
            by_tier[tier].append(p)
    out["bellman_attempt_by_tier"] = {t: float(np.mean(v)) for t, v in by_tier.items()}
    return out


def _oracle_fields(score: float, oracles: dict[str, Any]) -> dict[str, Any]:
    v_star, v_bellman = oracles.get("oracle_value"), oracles.get("bellman_value")
    return {
        "oracle_value": v_star,
        "oracle_regret": None if v_star is None else v_star - score,
        "oracle_gap": None if v_star is None else normalised_gap(v_star, score),
        "bellman_value": v_bellman,
        "bellman_gap": None if v_bellman is None else normalised_gap(v_bellman, score),
        "bellman_share": None if not v_bellman else score / v_bellman,
        "attempt_all_value": oracles.get("attempt_all_value"),
        "all_but_hardest_value": oracles.get("all_but_hardest_value"),
        "bellman_attempt_by_tier": oracles.get("bellman_attempt_by_tier"),
    }


def cell_metrics(
    cell: Sequence[ExamOutcome],
    bounds: Sequence[int],
    attempts: dict,
    profiles: Profiles | None = None,
    seed: int = 0,
    cache: OracleCache | None = None,
    hardest: str | None = None,
) -> dict[str, Any]:
    """The metrics of one cell (exams of one method, paper kind and budget); ``attempts`` from
    ``_attempt_index`` over all outcomes, ``cache`` shares oracle values across cells,
    ``hardest`` names the tier the "attempt all but the hardest" reference skips."""
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
    oracles = _oracles(cell, profiles, {} if cache is None else cache, hardest)
    return {
        "method": cell[0].method,
        "kind": cell[0].kind,
        "budget": cell[0].budget,
        "n_exams": len(cell),
        "score": score,
        "regret_tilde": None,  # filled in by compute_cells, which sees the Easy paper
        **_oracle_fields(score["mean"], oracles),
        "position_accuracy": (pos_correct / np.maximum(pos_count, 1)).tolist(),
        "position_tokens": (pos_tokens / np.maximum(pos_count, 1)).tolist(),
        **levels,
        "skip_rate": counts["skipped"] / total if total else 0.0,
        "skip_rate_by_tier": {t: float(np.mean(v)) for t, v in by_tier.items() if t},
        "skip_precision": _skip_precision(cell, attempts, profiles),
        "status_counts": counts,
        "exhausted_exams": float(np.mean([e.truncated for e in cell])),
        "budget_utilisation": float(np.mean([e.tokens_used / max(e.budget, 1) for e in cell])),
        "tokens_mean": float(np.mean([e.tokens_used for e in cell])),
    }


def _cell_key(key: tuple[str, str, int]) -> tuple:
    method, kind, budget = key
    rank = KINDS.index(kind) if kind in KINDS else len(KINDS)
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
    hardest: str | None = None,
) -> list[dict[str, Any]]:
    """One metrics dict per (method, kind, budget), ordered by method, budget, kind;
    ``hardest``: the tier the "attempt all but the hardest" reference value skips."""
    groups: dict[tuple[str, str, int], list[ExamOutcome]] = defaultdict(list)
    for e in outcomes:
        groups[(e.method, e.kind, e.budget)].append(e)
    attempts = _attempt_index(outcomes)
    cache: OracleCache = {}
    cells = []
    for key in sorted(groups, key=_cell_key):
        cell = groups[key]
        metrics = cell_metrics(cell, bounds, attempts, profiles, seed, cache, hardest)
        easy = groups.get((key[0], "easy", key[2]))
        if easy is not None:
            metrics["regret_tilde"] = _regret_tilde(easy, cell)
        cells.append(metrics)
    return cells


def _scores_by_exam(outcomes: Sequence[ExamOutcome], side: str) -> dict[str, float]:
    scores: dict[str, float] = {}
    for e in outcomes:
        if e.exam_id in scores:
            raise ValueError(
                f"paired_diff: exam id {e.exam_id!r} appears twice in {side}; "
                "pass the exams of one cell (one method, paper kind and budget)"
            )
        scores[e.exam_id] = e.score
    return scores


def paired_diff(
    a_outcomes: Sequence[ExamOutcome],
    b_outcomes: Sequence[ExamOutcome],
    seed: int = 0,
    n: int = 2000,
) -> dict[str, float | int]:
    """Score of A minus score of B, paired by exam id over the exams both hold.

    Returns {"mean", "lo", "hi", "n"}: the mean per-exam difference with a 95 % percentile
    bootstrap interval (``n`` resamples of the paired exams, ``seed`` fixed) and the number of
    pairs; mean/lo/hi are NaN when no exam id is shared. Each side must hold an exam id once.
    """
    a, b = _scores_by_exam(a_outcomes, "a_outcomes"), _scores_by_exam(b_outcomes, "b_outcomes")
    diffs = [a[k] - b[k] for k in a if k in b]
    return {**bootstrap_ci(diffs, n=n, seed=seed), "n": len(diffs)}
