"""Measure the world's base model on held-out problems: what ``world.json`` records, and the
checks its quality gate reads.

- ``single``: per tier, N=1 ``base`` prompts at the loose budget, greedy, over the first
  ``eval_size`` test problems — accuracy, mean and median generated tokens, share cut by the
  budget (``exhausted``), share finished inside the tight budget, and ``correct``: one ``0``/``1``
  per problem in test-file order (what ``tests/test_world_shipped.py`` reproduces).
- ``papers``: N=3 papers of every kind at every budget built from the *same* problems (each
  problem once per kind), greedy — Score per kind and budget, the share answered in order, and at
  the loose budget the accuracy of every position of every kind next to its tier's single
  accuracy (``gap``: in-paper minus single, the same problems in both).
- ``allocation``: from a K-sample (T=1) profile of the evaluated test problems (those ``roi demo``
  evaluates: ``profile_size`` per tier, drawn like its exams), per paper kind and budget the
  Bellman-optimal value against "attempt every problem" and "attempt all but the hardest tier",
  and the Bellman plan's probability of attempting each tier's problem.
- ``checks``: the world's specification as pass/fail (``checks``): easy single ≥ 95 % (greedy),
  hard single 35-75 % (the T=1 profile), every in-paper accuracy within 10 points of single, ≥ 98 % in order, V_bellman
  ≥ each reference + 0.15 in ≥ 2 cells, hard skipped when tight and attempted when loose.

Run example: ``python -c "from roi_reasoning.world.quality import measure; help(measure)"``
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roi_reasoning.exams import build_exams
from roi_reasoning.formats import HEADER_RE
from roi_reasoning.policies import Policy
from roi_reasoning.policies.methods import run_requests
from roi_reasoning.records import Exam, ExamOutcome, Problem
from roi_reasoning.world.problems import TIERS, WorldConfig

# The world's specification (docs/design.md §6, "Quality gate"), checked on every build.
MIN_EASY = 0.95  # easy single-problem accuracy, greedy, loose budget
HARD_RANGE = (0.35, 0.75)  # hard single-problem accuracy: intermediate, neither nil nor sure
MAX_PAPER_GAP = 0.10  # |in-paper − single| accuracy, every tier and position of every kind
MIN_IN_ORDER = 0.98  # N=3 completions whose headers run 1, 2, 3
MIN_MARGIN = 0.15  # V_bellman − reference policy value that makes a cell a real decision
MIN_CELLS = 2  # cells (of kinds × budgets) with that margin, for each reference policy
KINDS = ("easy", "medium", "hard")  # the paper kinds (orders) measured
PROFILE_SEED = 0  # the demo's eval_seed: the allocation table covers the problems it evaluates


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
    """Per-tier accuracy of single problems at the loose budget (tokens: the policy's), over the
    first ``count`` test problems of each tier, in file order."""
    loose, tight = max(cfg.budgets), min(cfg.budgets)
    exams = [
        Exam(f"single-{p.id}", p.id, "easy", loose, (p,)) for t in TIERS for p in test[t][:count]
    ]
    out: dict[str, Any] = {}
    for exam, res in zip(exams, run_requests(policy, exams, "base", cfg.level_bounds), strict=True):
        o = res.outcomes[0]
        row = out.setdefault(exam.problems[0].tier, defaultdict(list))
        row["correct"].append(int(o.correct))
        row["tokens"].append(res.tokens_used)
        row["exhausted"].append(o.status == "exhausted")
        row["within_tight"].append(o.status in ("correct", "wrong") and res.tokens_used <= tight)
    return {
        tier: {
            "n": len(row["correct"]),
            "accuracy": round(statistics.mean(row["correct"]), 3),
            "tokens": round(statistics.mean(row["tokens"]), 1),
            "tokens_median": statistics.median(row["tokens"]),
            "exhausted": round(statistics.mean(row["exhausted"]), 3),
            "within_tight": round(statistics.mean(row["within_tight"]), 3),
            "correct": "".join(map(str, row["correct"])),
        }
        for tier, row in out.items()
    }


def measure_papers(
    policy: Policy, test: dict[str, list[Problem]], cfg: WorldConfig, count: int
) -> dict[str, Any]:
    """Score per paper kind at every budget, the share answered in order, and at the loose budget
    each position's accuracy, from papers over the first ``count`` test problems per tier (every
    problem once per kind and budget)."""
    exams = build_exams(
        {t: test[t][:count] for t in TIERS},
        n=3,
        kinds=KINDS,
        budgets=cfg.budgets,
        count=count,
        seed=1,
    )
    results = run_requests(policy, exams, "base", cfg.level_bounds)
    table: dict[str, dict[str, float]] = defaultdict(dict)
    positions: dict[str, list[dict[str, Any]]] = {}
    for budget in cfg.budgets:
        for kind in KINDS:
            cell = [r for r in results if r.budget == budget and r.kind == kind]
            table[f"B{budget}"][kind] = round(statistics.mean(r.score for r in cell), 3)
            if budget == max(cfg.budgets):
                positions[kind] = [
                    {
                        "tier": cell[0].outcomes[i].tier,
                        "accuracy": round(statistics.mean(r.outcomes[i].correct for r in cell), 3),
                    }
                    for i in range(3)
                ]
    ordered = statistics.mean(in_order(r, 3) for r in results)
    return {
        "score": dict(table),
        "positions": positions,
        "in_order": round(ordered, 3),
        "exams": len(results),
    }


def paper_gaps(quality: dict[str, Any]) -> dict[str, list[float]]:
    """Per kind: in-paper accuracy minus single accuracy of the same tier, by position."""
    single = quality["single"]
    return {
        kind: [round(p["accuracy"] - single[p["tier"]]["accuracy"], 3) for p in row]
        for kind, row in quality["papers"]["positions"].items()
    }


def allocation_table(
    profiles: dict[str, list[tuple[int, bool]]],
    test: dict[str, list[Problem]],
    cfg: WorldConfig,
) -> dict[str, dict[str, dict[str, float]]]:
    """Per budget and paper kind, averaged over ``profile_size`` problem sets drawn like the
    demo's exams: hindsight V*, V_bellman, "attempt every problem", "attempt all but the hardest
    tier" and the Bellman plan's probability of attempting the hardest tier's problem."""
    from roi_reasoning.metrics import allocation_values

    count = min(cfg.profile_size, cfg.test_size)
    exams = build_exams(test, n=3, kinds=KINDS, budgets=cfg.budgets, count=count, seed=PROFILE_SEED)
    hardest = TIERS[-1]
    cells: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for exam in exams:
        problems = [(p.id, p.points, p.tier) for p in exam.problems]
        values = allocation_values(problems, exam.budget, profiles, hardest)
        if values is None:
            raise ValueError(f"exam {exam.id}: a problem has no profiled sample")
        cells[f"B{exam.budget}"][exam.kind].append(values)
    names = {
        "oracle_value": "v_star",
        "bellman_value": "v_bellman",
        "attempt_all_value": "attempt_all",
        "all_but_hardest_value": "all_but_hardest",
    }
    return {
        budget: {
            kind: {
                **{
                    short: round(statistics.mean(v[key] for v in rows), 3)
                    for key, short in names.items()
                },
                "attempt_hardest": round(
                    statistics.mean(v["bellman_attempts"][hardest] for v in rows), 3
                ),
            }
            for kind, rows in by_kind.items()
        }
        for budget, by_kind in cells.items()
    }


def profile_summary(
    profiles: dict[str, list[tuple[int, bool]]], test: dict[str, list[Problem]]
) -> dict[str, dict[str, float]]:
    """Per tier, over the profiled samples (T=1, loose budget): accuracy and median tokens."""
    out = {}
    for tier, problems in test.items():
        samples = [s for p in problems for s in profiles.get(p.id, [])]
        if samples:
            out[tier] = {
                "samples": len(samples),
                "accuracy": round(statistics.mean(float(c) for _, c in samples), 3),
                "tokens_median": statistics.median(t for t, _ in samples),
            }
    return out


def checks(quality: dict[str, Any], cfg: WorldConfig) -> dict[str, bool]:
    """The world's specification as named pass/fail checks (module docstring)."""
    single, alloc = quality["single"], quality.get("allocation", {})
    gaps = [abs(g) for row in paper_gaps(quality).values() for g in row]
    cells = [c for by_kind in alloc.values() for c in by_kind.values()]
    tight, loose = alloc.get(f"B{min(cfg.budgets)}", {}), alloc.get(f"B{max(cfg.budgets)}", {})
    return {
        "easy_single": single["easy"]["accuracy"] >= MIN_EASY,
        # the specification measures the hard tier's success on the K-sample (T=1) profile
        "hard_single": HARD_RANGE[0]
        <= quality.get("profile", single)["hard"]["accuracy"]
        <= HARD_RANGE[1],
        "papers_like_single": bool(gaps) and max(gaps) <= MAX_PAPER_GAP,
        "in_order": quality["papers"]["in_order"] >= MIN_IN_ORDER,
        "beats_attempt_all": sum(c["v_bellman"] - c["attempt_all"] >= MIN_MARGIN for c in cells)
        >= MIN_CELLS,
        "beats_all_but_hardest": sum(
            c["v_bellman"] - c["all_but_hardest"] >= MIN_MARGIN for c in cells
        )
        >= MIN_CELLS,
        "hardest_skipped_tight_attempted_loose": bool(tight)
        and all(tight[k]["attempt_hardest"] < 0.5 <= loose[k]["attempt_hardest"] for k in tight),
    }


def measure(
    model: Any,
    tokenizer: Any,
    test: dict[str, list[Problem]],
    cfg: WorldConfig,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Singles and papers (greedy), and, with ``profile`` (a JSONL path to write), the allocation
    table from a T=1 profile of the evaluated test problems; then the checks."""
    from roi_reasoning.policies.hf import HFPolicy

    policy = HFPolicy(model=model, tokenizer=tokenizer, device="cpu", batch_size=64)
    count = min(cfg.eval_size, cfg.test_size)
    quality: dict[str, Any] = {
        "single": measure_single(policy, test, cfg, count),
        "papers": measure_papers(policy, test, cfg, count),
    }
    quality["papers"]["gap"] = paper_gaps(quality)
    if profile is not None:
        profiles = profile_test(model, tokenizer, profile, cfg)
        quality["profile"] = profile_summary(profiles, test)
        quality["allocation"] = allocation_table(profiles, test, cfg)
    quality["checks"] = checks(quality, cfg)
    return quality


def profile_test(
    model: Any, tokenizer: Any, out: Path, cfg: WorldConfig
) -> dict[str, list[tuple[int, bool]]]:
    """``profile_k`` samples (T=1, loose budget) of the ``profile_size`` test problems per tier
    the demo evaluates (drawn like its exams, seed ``PROFILE_SEED``), written to ``out``, a
    JSONL next to the world's ``data`` folder."""
    from roi_reasoning.policies.hf import HFPolicy
    from roi_reasoning.profiles import load_profiles
    from roi_reasoning.training.profiling import ProfileConfig, run_profile

    out.unlink(missing_ok=True)  # never resume another model's samples
    cfg_p = ProfileConfig(
        out=str(out),
        tiers={t: {"source": str(out.parent / "data" / f"{t}.test.jsonl")} for t in TIERS},
        per_tier=min(cfg.profile_size, cfg.test_size),
        k=cfg.profile_k,
        max_tokens=max(cfg.budgets),
        level_bounds=list(cfg.level_bounds),
        batch_size=64,
        seed=PROFILE_SEED,
    )
    policy = HFPolicy(
        model=model, tokenizer=tokenizer, device="cpu", batch_size=64, temperature=1.0
    )
    run_profile(cfg_p, policy, progress=False)
    profiles = load_profiles(str(out))
    assert profiles is not None  # None only without a path
    return profiles
