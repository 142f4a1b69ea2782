"""Measure the world's base model on held-out problems: what ``world.json`` records.

- ``single``: per tier, N=1 ``base`` prompts at the loose budget — accuracy, mean generated
  tokens, share cut by the budget (``exhausted``), share that ended inside the tight budget.
- ``papers``: N=3 papers of every kind at every budget — Score per kind and budget, and the
  share of exams whose completion writes ``## Problem 1..3`` in order (at the loose budget:
  ``in_order``).

Run example: ``python -c "from roi_reasoning.world.quality import measure; help(measure)"``
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from roi_reasoning.exams import build_exams
from roi_reasoning.formats import HEADER_RE, render_prompt
from roi_reasoning.policies import Policy, Request
from roi_reasoning.records import Exam, ExamOutcome, Problem
from roi_reasoning.scoring import score_completions
from roi_reasoning.world.problems import TIERS, WorldConfig


def run_exams(
    policy: Policy, exams: Sequence[Exam], bounds: Sequence[int], method: str = "base"
) -> list[ExamOutcome]:
    requests = [Request(render_prompt(e, method, bounds), e.budget, e, method) for e in exams]
    completions = policy.generate(requests)
    return score_completions(exams, completions, method=method, bounds=bounds)


def _headers_in_order(text: str, n: int) -> bool:
    numbers = [int(m.group(1)) for m in HEADER_RE.finditer(text)]
    return numbers == list(range(1, n + 1))


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
    for exam, res in zip(exams, run_exams(policy, exams, cfg.level_bounds), strict=True):
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
    results = run_exams(policy, exams, cfg.level_bounds)
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for budget in cfg.budgets:
        for kind in ("easy", "medium", "hard"):
            cell = [r for r in results if r.budget == budget and r.kind == kind]
            table[f"B{budget}"][kind] = round(sum(r.score for r in cell) / len(cell), 3)
    loose = [r for r in results if r.budget == max(cfg.budgets)]
    in_order = sum(_headers_in_order(r.completion, 3) for r in loose) / len(loose)
    return {"score": dict(table), "in_order": round(in_order, 3), "exams": len(results)}


def measure(model: Any, tokenizer: Any, test: dict[str, list[Problem]], cfg: WorldConfig) -> dict:
    """Singles and papers for an in-memory model (greedy decoding, HFPolicy)."""
    from roi_reasoning.policies.hf import HFPolicy

    policy = HFPolicy(model=model, tokenizer=tokenizer, device="cpu", batch_size=64)
    count = cfg.eval_size
    return {
        "single": measure_single(policy, test, cfg, count),
        "papers": measure_papers(policy, test, cfg, max(1, count // 4)),
    }
