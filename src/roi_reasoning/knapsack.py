"""Exact solvers of the Ordered Stochastic Multiple-Choice Knapsack (OS-MCKP) of ROI-Reasoning.

N problems come in order under one hard budget B of generated tokens. Per problem: skip (0 tokens,
0 reward) or one action with a token cost c and a reward r. This module holds

- ``greedy_keep``: the paper's Greedy Knapsack baseline (levels → centroid costs, cheapest first);
- ``hindsight_oracle``: the MCKP over *measured* attempts (costs known in hindsight);
- ``bellman_plan``: the Bellman-optimal ex-ante policy over empirical cost/reward distributions,
  with the generation cut at the remaining budget;
- regret measures (``regret_tilde``, ``normalised_gap``); ``oracle`` reads and solves
  ``roi oracle``'s JSON instances with these.

Pure Python + numpy. Run example: ``roi oracle instance.json``
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np

SKIP = "skip"  # reserved action name of the planner


def centroids(bounds: Sequence[int]) -> list[int]:
    """Greedy Knapsack's cost per level below the skip level (tokens): the middle of the level's
    range, as the paper's 128/384/768 are for its bounds 256/512/1024."""
    edges = [0, *bounds]
    return [(lo + hi) // 2 for lo, hi in zip(edges, edges[1:], strict=False)]


DEFAULT_CENTROIDS = tuple(centroids((256, 512, 1024)))  # (128, 384, 768): the paper's

Sample = tuple[int, float]  # (tokens, reward)


class InstanceError(ValueError):
    """A bad ``roi oracle`` instance; the message starts with the JSON path of the culprit."""


def _check_budget(budget: int) -> int:
    if isinstance(budget, bool) or not isinstance(budget, Integral) or budget < 0:
        raise ValueError(f"budget must be a non-negative integer, got {budget!r}")
    return int(budget)


# Memory the DP tables may take. Both solvers hold arrays over b = 0..B, so their size grows
# with N·B; above this limit they are refused up front instead of being OOM-killed.
MEMORY_LIMIT = 2 * 1024**3  # bytes
LIMITS_HELP = (
    "memory limit 2 GiB: hindsight needs ~(B+1)*(25+N) bytes (N=3: B <= ~76M tokens), "
    "bellman ~(B+1)*(16N + 2N*(name+4) + 24*(options+1)) bytes (N=3, 3 options: B <= ~9M)"
)


def hindsight_bytes(n: int, budget: int, attempts: int = 127) -> int:
    """Peak bytes of ``hindsight_oracle``: the choice table N×(B+1) (1 byte per cell up to 127
    attempts) plus four float/bool rows over b."""
    itemsize = np.dtype(np.min_scalar_type(-max(attempts, 1))).itemsize
    return (budget + 1) * (25 + n * itemsize)


def bellman_bytes(n: int, budget: int, options: int = 3, name: int = 8) -> int:
    """Peak bytes of ``bellman_plan`` and its JSON table: V (N+1)×(B+1) floats, the table
    N×(B+1) list slots, Q rows of one problem, and the printed policy (~name+4 chars a cell)."""
    per_b = 8 * (n + 1) + 8 * n + 2 * n * (name + 4) + 24 * (options + 1) + 16
    return (budget + 1) * per_b


def check_memory(need: int, what: str) -> None:
    """ValueError when ``need`` bytes exceed MEMORY_LIMIT; the message says by how much."""
    if need > MEMORY_LIMIT:
        raise ValueError(
            f"{what} would need ~{need / 1024**3:.1f} GiB (limit {MEMORY_LIMIT / 1024**3:.0f} GiB); "
            "use a smaller budget or fewer problems"
        )


# --------------------------------------------------------------------------- greedy baseline


def greedy_keep(
    predicted_levels: Sequence[int | None],
    budget: int,
    centroids: Sequence[int] = DEFAULT_CENTROIDS,
) -> list[bool]:
    """Greedy Knapsack baseline: which problems to solve given their predicted levels.

    Level k < len(centroids) costs ``centroids[k]`` tokens; Level-3 (k >= len(centroids)) and
    untagged problems (None) are skipped. Problems are kept cheapest first (ties by position)
    while Σ_kept centroids[k_i] <= budget. Returns one keep flag per problem, in input order.
    """
    budget = _check_budget(budget)
    costs: list[tuple[int, int]] = []  # (centroid tokens, position)
    for pos, level in enumerate(predicted_levels):
        if level is None:
            continue
        if isinstance(level, bool) or not isinstance(level, Integral) or level < 0:
            raise ValueError(f"level {pos} must be a non-negative integer or None, got {level!r}")
        if level < len(centroids):
            costs.append((int(centroids[level]), pos))
    keep = [False] * len(predicted_levels)
    spent = 0  # tokens
    for cost, pos in sorted(costs):  # cheapest first, ties by position
        if spent + cost > budget:
            break  # every later candidate costs at least as much
        spent += cost
        keep[pos] = True
    return keep


# --------------------------------------------------------------------------- hindsight oracle


def hindsight_oracle(
    budget: int, attempts: Sequence[Sequence[Sample]]
) -> tuple[float, list[int | None]]:
    """Hindsight MCKP: the best choice of at most one measured attempt per problem.

    max Σ_i Σ_j r_ij x_ij  s.t.  Σ_i Σ_j t_ij x_ij <= B,  Σ_j x_ij <= 1,  x_ij ∈ {0, 1}
    (x_i· = 0 is skip). DP over the budget: F_0(b) = 0 and
    F_i(b) = max(F_{i-1}(b), max_{j: t_ij <= b} F_{i-1}(b - t_ij) + r_ij), vectorised over b,
    O(N·B·A). Ties prefer skip, then fewer tokens, then the lower index. Attempts longer than B
    are infeasible. Returns (F_N(B), choice) with choice[i] = attempt index or None (skip).
    """
    budget = _check_budget(budget)
    n_max = max((len(a) for a in attempts), default=0)
    check_memory(hindsight_bytes(len(attempts), budget, n_max), f"hindsight oracle at B={budget}")
    choice = np.full((len(attempts), budget + 1), -1, dtype=np.min_scalar_type(-max(n_max, 1)))
    best = np.zeros(budget + 1)  # F_i(b): best reward with at most b tokens, b = 0..B
    # Four rows over b, reused in place (hindsight_bytes): no temporary row is ever allocated
    cur, cand_row, better_row = (
        np.empty(budget + 1),
        np.empty(budget + 1),
        np.empty(budget + 1, bool),
    )
    for i, problem in enumerate(attempts):
        np.copyto(cur, best)  # skip
        for j in sorted(
            range(len(problem)), key=lambda j: (problem[j][0], j)
        ):  # fewer tokens first
            tokens, reward = int(problem[j][0]), float(problem[j][1])
            if tokens < 0:
                raise ValueError(f"attempts[{i}][{j}]: tokens must be non-negative, got {tokens}")
            if tokens > budget:
                continue
            width = budget + 1 - tokens
            cand, better = cand_row[:width], better_row[:width]
            np.add(best[:width], reward, out=cand)
            np.greater(cand, cur[tokens:], out=better)  # strict: ties keep skip / shorter
            np.copyto(cur[tokens:], cand, where=better)
            np.copyto(choice[i, tokens:], j, where=better)
        best, cur = cur, best
    picks: list[int | None] = [None] * len(attempts)
    b = budget
    for i in range(len(attempts) - 1, -1, -1):  # walk back through the DP
        j = int(choice[i, b])
        if j >= 0:
            picks[i] = j
            b -= int(attempts[i][j][0])
    return float(best[budget]), picks


# --------------------------------------------------------------------------- Bellman planner


@dataclass
class Plan:
    """Bellman-optimal policy: ``table[i][b]`` = action at problem i with b tokens left."""

    value: float  # V_0(B): expected total reward of the policy
    first: str  # table[0][B]
    table: list[list[str]]  # N rows of B+1 action names ("skip" or an option name)
    values: np.ndarray  # V_i(b), shape (N+1, B+1); row N is 0


def _option_q(samples: Sequence[Sample], v_next: np.ndarray) -> np.ndarray:
    """Q(a, b) = (1/S) Σ_s [ r_s·1[c_s <= b] + V_{i+1}(b - min(c_s, b)) ] for b = 0..B.

    A sample longer than the remaining budget is cut: reward 0 and budget 0 afterwards."""
    size = len(v_next)  # B + 1
    acc = np.zeros(size)
    for tokens, reward in samples:
        tokens = int(tokens)
        if tokens < 0:
            raise ValueError(f"sample tokens must be non-negative, got {tokens}")
        if tokens < size:  # tokens <= B
            acc[:tokens] += v_next[0]  # b < c: cut
            acc[tokens:] += float(reward) + v_next[: size - tokens]
        else:
            acc += v_next[0]
    return acc / len(samples)


def bellman_plan(budget: int, options: Sequence[Mapping[str, Sequence[Sample]]]) -> Plan:
    """Bellman-optimal ex-ante policy of the ordered stochastic MCKP.

    Each problem i has named options, each an empirical distribution (equally likely samples
    (tokens, reward)); "skip" (0 tokens, 0 reward) is always available. With b tokens left:
    V_N(b) = 0,  V_i(b) = max_a E_{(c,r)~a}[ r·1[c <= b] + V_{i+1}(b - min(c, b)) ],  b = 0..B.
    Vectorised over b: O(N·B·Σ samples) numpy work. Ties (within 1e-9 relative) prefer skip, then
    the options' order.
    """
    budget = _check_budget(budget)
    n = len(options)
    widest = max((len(o) for o in options), default=0)
    longest = max((len(str(k)) for o in options for k in o), default=4)
    check_memory(bellman_bytes(n, budget, widest, longest), f"Bellman plan at B={budget}")
    values = np.zeros((n + 1, budget + 1))
    table: list[list[str]] = [[] for _ in range(n)]
    cols = np.arange(budget + 1)
    for i in range(n - 1, -1, -1):
        names = [SKIP]
        q = [values[i + 1]]  # Q(skip, b) = V_{i+1}(b)
        for name, samples in options[i].items():
            if name == SKIP:
                raise ValueError(f"problem {i}: option name {SKIP!r} is reserved")
            if not samples:
                raise ValueError(f"problem {i}: option {name!r} has no samples")
            names.append(name)
            q.append(_option_q(samples, values[i + 1]))
        qs = np.stack(q)
        best = qs.max(axis=0)
        tol = 1e-9 * max(1.0, float(np.abs(best).max()))  # float sums of equal values may differ
        pick = np.argmax(qs >= best - tol, axis=0)  # first near-best action
        values[i] = qs[pick, cols]
        table[i] = [names[k] for k in pick.tolist()]
    first = table[0][budget] if n else SKIP
    return Plan(value=float(values[0, budget]), first=first, table=table, values=values)


def policy_value(
    budget: int, samples: Sequence[Sequence[Sample]], attempt: Sequence[bool]
) -> float:
    """Expected reward of a fixed policy: problem i is attempted iff ``attempt[i]``, whatever the
    tokens left (a sample longer than them is cut: reward 0, budget 0 afterwards) — the same
    recursion as ``bellman_plan`` with the action fixed instead of maximised. The reference
    policies "attempt every problem" and "attempt all but the hardest tier" are two of these."""
    budget = _check_budget(budget)
    values = np.zeros(budget + 1)  # V_{i+1}(b), b = 0..B
    for problem, chosen in zip(reversed(samples), reversed(attempt), strict=True):
        if chosen:
            values = _option_q(problem, values)
    return float(values[budget])


def attempt_probabilities(plan: Plan, samples: Sequence[Sequence[Sample]]) -> list[float]:
    """P(the plan attempts problem i) when every attempt costs a draw from its samples: the
    distribution of tokens left is carried forward from B through ``plan.table``."""
    size = len(plan.values[0])  # B + 1
    left = np.zeros(size)
    left[size - 1] = 1.0  # all B tokens before problem 0
    out = []
    for row, problem in zip(plan.table, samples, strict=True):
        solve = np.array([a != SKIP for a in row])
        out.append(float(left[solve].sum()))
        nxt = np.where(solve, 0.0, left)  # skipped: tokens left unchanged
        for b in np.flatnonzero(solve & (left > 0)):
            for tokens, _ in problem:
                nxt[max(int(b) - int(tokens), 0)] += left[b] / len(problem)
        left = nxt
    return out


# --------------------------------------------------------------------------- regret


def regret_tilde(score_easy: float, score: float) -> float | None:
    """The paper's ordering regret Regret~ = (Score_easy − Score) / Score_easy; None if 0/0."""
    return None if score_easy == 0 else (score_easy - score) / score_easy


def normalised_gap(v_star: float, score: float) -> float | None:
    """(V* − Score) / V*; None when V* = 0."""
    return None if v_star == 0 else (v_star - score) / v_star
