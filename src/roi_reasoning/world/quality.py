"""Measure the world's base model on held-out problems: what ``world.json`` records.

- ``single``: per tier, N=1 ``base`` prompts at the loose budget — accuracy, mean generated
  tokens, share cut by the budget (``exhausted``), share that ended inside the tight budget.
- ``papers``: N=3 papers of every kind at every budget — Score per kind and budget, and the
  share of exams answered in order (``in_order``: headers ``## Problem 1..k`` with none skipped
  or repeated, and all three unless the budget cut the completion).

Run example: ``python -c "from roi_reasoning.world.quality import measure; help(measure)"``
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from roi_reasoning.exams import build_exams
from roi_reasoning.formats import HEADER_RE
from roi_reasoning.methods import run_requests
from roi_reasoning.policies import Policy
from roi_reasoning.records import ExamOutcome, Problem
from roi_reasoning.world.problems import TIERS, WorldConfig


def gold_costs(
    tokenizer: Any, test: dict[str, list[Problem]], bounds: Sequence[int]
) -> dict[str, Any]:
    """Per tier: quantiles of the worked solutions' token cost (header, solution and eos, in
    world tokens) and the share at each level."""
    from roi_reasoning.records import actual_level
    from roi_reasoning.world.tokenizer import solution_cost

    out = {}
    for tier, problems in test.items():
        costs = sorted(solution_cost(tokenizer, p.solution) for p in problems)
        pick = {f"p{q}": costs[min(len(costs) - 1, len(costs) * q // 100)] for q in (10, 50, 90)}
        levels = [actual_level(c, bounds) for c in costs]
        shares = {
            f"level{k}": round(levels.count(k) / len(costs), 3) for k in range(len(bounds) + 1)
        }
        out[tier] = {"min": costs[0], **pick, "max": costs[-1], **shares}
    return out


def in_order(outcome: ExamOutcome, n: int) -> bool:
    """Headers ``## Problem 1..k`` in order, none skipped, and all n unless the budget cut it."""
    numbers = [int(m.group(1)) for m in HEADER_RE.finditer(outcome.completion)]
    k = len(numbers)
    return k >= 1 and numbers == list(range(1, k + 1)) and (k == n or outcome.truncated)


def measure_single(
    policy: Policy, test: dict[str, list[Problem]], cfg: WorldConfig, count: int
) -> dict[str, Any]:
    """Per-tier accuracy of single problems at the loose budget (tokens: the policy's)."""
    loose, tight = max(cfg.budgets), min(cfg.budgets)
    exams = []
    for tier in TIERS:
        exams += build_exams(
            {tier: test[tier][:count]}, n=1, kinds=("easy",), budgets=[loose], count=count
        )
    out: dict[str, Any] = {}
    for exam, res in zip(exams, run_requests(policy, exams, "base", cfg.level_bounds), strict=True):
        o = res.outcomes[0]
        row = out.setdefault(exam.problems[0].tier, defaultdict(float))
        row["n"] += 1
        row["accuracy"] += o.correct
        row["tokens"] += res.tokens_used
        row["exhausted"] += o.status == "exhausted"
        row["within_tight"] += (o.status in ("correct", "wrong")) and res.tokens_used <= tight
    return {
        tier: {k: (round(v / row["n"], 3) if k != "n" else int(v)) for k, v in row.items()}
        for tier, row in out.items()
    }


def measure_papers(
    policy: Policy, test: dict[str, list[Problem]], cfg: WorldConfig, count: int
) -> dict[str, Any]:
    """Score per paper kind at every budget, and how often the N=3 completion is in order."""
    exams = build_exams(
        test, n=3, kinds=("easy", "medium", "hard"), budgets=cfg.budgets, count=count, seed=1
    )
    results = run_requests(policy, exams, "base", cfg.level_bounds)
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for budget in cfg.budgets:
        for kind in ("easy", "medium", "hard"):
            cell = [r for r in results if r.budget == budget and r.kind == kind]
            table[f"B{budget}"][kind] = round(sum(r.score for r in cell) / len(cell), 3)
    ordered = sum(in_order(r, 3) for r in results) / len(results)
    return {"score": dict(table), "in_order": round(ordered, 3), "exams": len(results)}


def measure(model: Any, tokenizer: Any, test: dict[str, list[Problem]], cfg: WorldConfig) -> dict:
    """Singles and papers for an in-memory model (greedy decoding, HFPolicy)."""
    from roi_reasoning.policies.hf import HFPolicy

    policy = HFPolicy(model=model, tokenizer=tokenizer, device="cpu", batch_size=64)
    count = cfg.eval_size
    return {
        "single": measure_single(policy, test, cfg, count),
        "papers": measure_papers(policy, test, cfg, max(1, count // 4)),
    }
