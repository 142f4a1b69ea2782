"""Evaluation methods: how a policy is driven through one exam, from prompts to graded outcomes.

- single pass (``base``, ``budget``, ``plan-and-solve``, ``least-to-most``, ``roi``): one prompt
  in the method's format, generation capped at B.
- ``greedy-knapsack`` (the paper's baseline): pass 1 writes only level tags (``tags-only``);
  levels map to centroid costs (128/384/768 tokens by default), Level-3 and untagged problems
  are dropped, the cheapest are kept while Σ cost ≤ the remaining budget; pass 2 solves the kept
  problems in order (``base`` format) and the rest count as NA. Both passes are charged to B.
- ``planner`` (ours): pass 1 as above; then problems are solved one prompt at a time, each only
  if the Bellman-optimal policy (``knapsack.bellman_plan``) over the profiled (tokens, correct)
  distribution of its predicted level says so at the budget left. Needs a profile table.
- ``roi-greedy-knapsack``, ``roi-planner``: the same, with both passes in the ``roi`` format —
  pass 1 one single-problem prompt per problem, its level read from the tag that opens the
  answer; pass 2 the kept problems one per prompt, as such a model learned — for models that
  learned to tag (MFT/RARL) but not the ``tags-only`` instruction.
- ``package.module:function``: a method of your own (``get_method``).

``run_requests`` is the one render → Request → generate → score loop (evaluation, profiling and
the world's quality check use it).

Run example: ``roi eval --methods base,greedy-knapsack --budgets 512 --count 6 --out runs/x``
"""

from __future__ import annotations

import bisect
import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace

from roi_reasoning.formats import leading_tag, leading_tag_match, render_prompt
from roi_reasoning.knapsack import bellman_plan, centroids, greedy_keep
from roi_reasoning.parsing import split_segments
from roi_reasoning.plugins import resolve
from roi_reasoning.policies import Policy, Request
from roi_reasoning.records import (
    Completion,
    Exam,
    ExamOutcome,
    ProblemOutcome,
    Profiles,
    Segment,
    actual_level,
)
from roi_reasoning.scoring import score_completions

Runner = Callable[..., list[ExamOutcome]]
SINGLE_PASS = ("base", "budget", "plan-and-solve", "least-to-most", "roi")


def run_requests(
    policy: Policy,
    exams: Sequence[Exam],
    fmt: str,
    bounds: Sequence[int],
    timeout: float = 5.0,
    *,
    samples: Sequence[int] | None = None,
    method: str | None = None,
) -> list[ExamOutcome]:
    """The one render → ``Request`` → ``policy.generate`` → ``score_completions`` loop: each
    exam's ``fmt`` prompt, capped at its budget; ``samples[i]`` is request i's sample index
    (``Request.sample``, profiling); outcomes are labelled ``method`` (default ``fmt``)."""
    requests = [
        Request(render_prompt(e, fmt, bounds), e.budget, e, fmt, sample=s)
        for e, s in zip(exams, samples or [0] * len(exams), strict=True)
    ]
    comps = policy.generate(requests)
    return score_completions(exams, comps, method=method or fmt, bounds=bounds, timeout=timeout)


def single_pass(
    policy: Policy, exams: Sequence[Exam], method: str, bounds, **opts
) -> list[ExamOutcome]:
    return run_requests(policy, exams, method, bounds, opts["timeout"])


def _tag_pass(policy: Policy, exams: Sequence[Exam], bounds) -> list[tuple[Completion, list]]:
    """Pass 1: predicted level per problem (None when untagged) and its tag tokens."""
    requests = [
        Request(render_prompt(e, "tags-only", bounds), e.budget, e, "tags-only") for e in exams
    ]
    out = []
    for exam, comp in zip(exams, policy.generate(requests), strict=True):
        segs = split_segments(
            comp.text,
            comp.token_starts,
            len(exam.problems),
            truncated=comp.truncated,
            bounds=bounds,
        )
        by_index = {s.index: s for s in segs}
        out.append((comp, [by_index.get(i) for i in range(len(exam.problems))]))
    return out


ROI_TAG_TOKENS = 32  # generation cap of one roi-format tag request (tokens); only the header
# and tag are charged, the model is not asked for more


def _generate_once(policy: Policy, requests: list[Request]) -> list[Completion]:
    """``policy.generate``, remembering each request's completion on the policy object: a
    request (with its ``sample`` index) means one completion in every backend, so
    ``roi-greedy-knapsack`` and ``roi-planner`` share one tag pass over the same exams."""
    memo: dict[tuple, Completion] = policy.__dict__.setdefault("_roi_tag_memo", {})
    keys = [(json.dumps(r.messages), r.max_tokens, r.sample) for r in requests]
    todo = {k: r for k, r in zip(keys, requests, strict=True) if k not in memo}
    memo.update(zip(todo, policy.generate(list(todo.values())) if todo else [], strict=True))
    return [memo[k] for k in keys]


def _roi_tag_pass(policy: Policy, exams: Sequence[Exam], bounds) -> list[tuple[Completion, list]]:
    """Pass 1 for models that learned the ``roi`` format (MFT/RARL): one single-problem ``roi``
    prompt per problem, its level read from the tag that opens the answer; the tokens up to the
    tag's end are charged (all of the capped generation when there is no tag). Prediction and
    execution decoupled, as the paper's Greedy Knapsack baseline on a tagging model."""
    singles = [
        (e, i, Exam(f"{e.id}/tag{i}", e.group, e.kind, e.budget, (p,)))
        for e in exams
        for i, p in enumerate(e.problems)
    ]
    requests = [
        Request(render_prompt(x, "roi", bounds), min(ROI_TAG_TOKENS, x.budget), x, "roi")
        for _, _, x in singles
    ]
    by_exam: dict[str, list] = defaultdict(list)
    for (exam, i, _), comp in zip(singles, _generate_once(policy, requests), strict=True):
        m = leading_tag_match(comp.text)
        end = m.end() if m else len(comp.text)
        tokens = bisect.bisect_left(comp.token_starts, end) if m else comp.tokens
        level = leading_tag(comp.text, bounds)
        by_exam[exam.id].append((comp.text[:end], Segment(i, 0, end, tokens, level, None, False)))
    out = []
    for exam in exams:
        parts = by_exam[exam.id]
        text = "\n".join(t for t, _ in parts)
        used = sum(seg.tokens for _, seg in parts)
        out.append((Completion(text, tuple([0] * used), False), [seg for _, seg in parts]))
    return out


def _merge(
    exam: Exam, method: str, first: Completion, tags: list, solved: list[ExamOutcome], at: list[int]
) -> ExamOutcome:
    """One outcome per exam: pass-1 tags, solved problems mapped back to their positions (``at``
    lists, for each outcome of ``solved``, the original position of each of its problems), NA
    for the rest. Tag tokens are charged to their problem; all passes are charged to B."""
    mapped: dict[int, ProblemOutcome] = {}
    positions = iter(at)
    for sub in solved:
        for o in sub.outcomes:
            mapped[next(positions)] = o
    rows = []
    for i, problem in enumerate(exam.problems):
        level = tags[i].predicted_level if tags[i] else None
        tag_tokens = tags[i].tokens if tags[i] else 0
        if i in mapped:
            o = mapped[i]
            rows.append(replace(o, position=i, predicted_level=level, tokens=o.tokens + tag_tokens))
        else:
            rows.append(
                ProblemOutcome(
                    problem_id=problem.id,
                    position=i,
                    status="skipped",
                    tokens=tag_tokens,
                    predicted_level=level,
                    actual_level=None,
                    answer="NA",
                    points=problem.points,
                    tier=problem.tier,
                )
            )
    used = first.tokens + sum(s.tokens_used for s in solved)
    text = "\n\n".join([first.text, *[s.completion for s in solved]])
    truncated = first.truncated or any(s.truncated for s in solved)
    return ExamOutcome(
        exam_id=exam.id,
        group=exam.group,
        kind=exam.kind,
        budget=exam.budget,
        method=method,
        outcomes=tuple(rows),
        tokens_used=used,
        completion=text,
        truncated=truncated,
    )


def _sub_exam(exam: Exam, keep: Sequence[int], budget: int) -> Exam:
    return replace(
        exam, id=f"{exam.id}/solve", budget=budget, problems=tuple(exam.problems[i] for i in keep)
    )


def greedy_knapsack(
    policy: Policy, exams: Sequence[Exam], method: str, bounds, **opts
) -> list[ExamOutcome]:
    costs = opts.get("centroids") or centroids(bounds)  # default: the middle of each level
    passes = TAG_PASSES[method](policy, exams, bounds)
    keeps = []
    for exam, (first, tags) in zip(exams, passes, strict=True):
        left = exam.budget - first.tokens
        levels = [t.predicted_level if t else None for t in tags]
        keep = [i for i, k in enumerate(greedy_keep(levels, max(left, 0), costs)) if k]
        keeps.append(keep if left > 0 else [])
    if method.startswith("roi-"):  # a tagging model solves one problem per prompt, as it learned
        lefts = [e.budget - first.tokens for e, (first, _) in zip(exams, passes, strict=True)]
        kept = lambda i, j, _left: j in keeps[i]  # noqa: E731
        return _one_by_one(policy, exams, method, bounds, passes, lefts, kept, opts)
    subs = [
        _sub_exam(e, keep, e.budget - p[0].tokens)
        for e, p, keep in zip(exams, passes, keeps, strict=True)
        if keep
    ]
    solved = iter(single_pass(policy, subs, SOLVE_FORMAT[method], bounds, **opts) if subs else [])
    return [
        _merge(exam, method, first, tags, [next(solved)] if keep else [], keep)
        for exam, (first, tags), keep in zip(exams, passes, keeps, strict=True)
    ]


def _one_by_one(
    policy: Policy,
    exams: Sequence[Exam],
    method: str,
    bounds,
    passes: list,
    left: list[int],
    solve_here: Callable[[int, int, int], bool],
    opts: dict,
) -> list[ExamOutcome]:
    """Pass 2 one problem per prompt, in order: exam i's problem j is solved when
    ``solve_here(i, j, tokens left)`` says so and budget is left; every prompt is charged."""
    solved: list[list[ExamOutcome]] = [[] for _ in exams]
    at: list[list[int]] = [[] for _ in exams]
    for j in range(max(len(e.problems) for e in exams)):
        todo = [
            i
            for i, e in enumerate(exams)
            if j < len(e.problems) and left[i] > 0 and solve_here(i, j, left[i])
        ]
        subs = [_sub_exam(exams[i], [j], left[i]) for i in todo]
        for i, out in zip(
            todo,
            single_pass(policy, subs, SOLVE_FORMAT[method], bounds, **opts) if subs else [],
            strict=True,
        ):
            solved[i].append(out)
            at[i].append(j)
            left[i] -= out.tokens_used
    return [
        _merge(exam, method, first, tags, solved[i], at[i])
        for i, (exam, (first, tags)) in enumerate(zip(exams, passes, strict=True))
    ]


def level_pools(profiles: Profiles, bounds) -> dict[int | None, list[tuple[int, float]]]:
    """Profiled (tokens, correct) samples pooled by each problem's level (of its median cost);
    key None pools everything (for untagged problems)."""
    pools: dict[int | None, list[tuple[int, float]]] = defaultdict(list)
    for samples in profiles.values():
        level = actual_level(int(statistics.median(t for t, _ in samples)), bounds)
        pairs = [(t, float(c)) for t, c in samples]
        pools[level] += pairs
        pools[None] += pairs
    return pools


def planner(
    policy: Policy, exams: Sequence[Exam], method: str, bounds, **opts
) -> list[ExamOutcome]:
    profiles: Profiles | None = opts.get("profiles")
    if not profiles:
        raise ValueError(
            "the planner method needs a profile table (--profiles, from `roi profile`)"
        )
    pools = level_pools(profiles, bounds)
    passes = TAG_PASSES[method](policy, exams, bounds)
    left = [e.budget - first.tokens for e, (first, _) in zip(exams, passes, strict=True)]
    tables = []
    for exam, (_, tags), b in zip(exams, passes, left, strict=True):
        levels = [t.predicted_level if t else None for t in tags]
        options = [
            {"solve": [(t, c * p.points) for t, c in pools.get(k) or pools[None]]}
            for k, p in zip(levels, exam.problems, strict=True)
        ]
        tables.append(bellman_plan(max(b, 0), options).table)

    plan = lambda i, j, b: tables[i][j][b] != "skip"  # noqa: E731
    return _one_by_one(policy, exams, method, bounds, passes, left, plan, opts)


# The solve pass's prompt: ``base`` for instruct models, ``roi`` for tagging models (why not
# ``base`` for an MFT model: docs/findings.md §6).
SOLVE_FORMAT = {
    "greedy-knapsack": "base",
    "planner": "base",
    "roi-greedy-knapsack": "roi",
    "roi-planner": "roi",
}
TAG_PASSES = {
    "greedy-knapsack": _tag_pass,
    "planner": _tag_pass,
    "roi-greedy-knapsack": _roi_tag_pass,
    "roi-planner": _roi_tag_pass,
}
METHODS: dict[str, Runner] = {
    **dict.fromkeys(SINGLE_PASS, single_pass),
    "greedy-knapsack": greedy_knapsack,
    "planner": planner,
    "roi-greedy-knapsack": greedy_knapsack,
    "roi-planner": planner,
}


def get_method(name: str) -> Runner:
    """``METHODS[name]``, or ``package.module:function`` with the runners' signature
    ``fn(policy, exams, method, bounds, **opts) -> list[ExamOutcome]``; an unknown name is a
    ConfigError listing the valid ones."""
    return resolve(METHODS, name, "method")


def run_method(
    policy: Policy, exams: Sequence[Exam], method: str, bounds, **opts
) -> list[ExamOutcome]:
    return get_method(method)(policy, exams, method, bounds, **opts)
