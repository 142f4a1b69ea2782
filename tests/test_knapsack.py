"""Exact OS-MCKP solvers checked against independent references (brute force, HiGHS MIP,
policy enumeration with forward evaluation, Monte Carlo), plus greedy, regret and JSON tests."""

from __future__ import annotations

import itertools
import math
from functools import cache

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from roi_reasoning.knapsack import (
    InstanceError,
    attempt_probabilities,
    bellman_plan,
    greedy_keep,
    hindsight_oracle,
    normalised_gap,
    policy_value,
    regret_tilde,
)
from roi_reasoning.oracle import solve_instance

# --------------------------------------------------------------------------- helpers


def random_attempts(rng, n_max, a_max, t_max):
    """Random measured attempts: per problem 0..a_max (tokens, reward) pairs, mostly 0/1 reward."""
    points = rng.choice([1.0, 1.0, 2.0, 0.5])
    return [
        [
            (int(rng.integers(0, t_max + 1)), float(rng.integers(0, 2)) * points)
            for _ in range(rng.integers(0, a_max + 1))
        ]
        for _ in range(rng.integers(0, n_max + 1))
    ]


def check_choice(budget, attempts, value, choice):
    """The returned choice is feasible and achieves the returned value."""
    assert len(choice) == len(attempts)
    picked = [attempts[i][j] for i, j in enumerate(choice) if j is not None]
    assert sum(t for t, _ in picked) <= budget
    assert math.isclose(sum(r for _, r in picked), value, abs_tol=1e-9)


def brute_force(budget, attempts):
    best = 0.0
    for combo in itertools.product(*[[None, *range(len(a))] for a in attempts]):
        picked = [a[j] for a, j in zip(attempts, combo, strict=True) if j is not None]
        if sum(t for t, _ in picked) <= budget:
            best = max(best, sum(r for _, r in picked))
    return best


def mip_value(budget, attempts):
    """max r·x  s.t.  t·x <= B, Σ_j x_ij <= 1, x binary — solved by HiGHS."""
    flat = [(i, t, r) for i, problem in enumerate(attempts) for t, r in problem]
    if not flat:
        return 0.0
    n = len(flat)
    rows = [[t for _, t, _ in flat]]
    rows += [[1.0 if fi == i else 0.0 for fi, _, _ in flat] for i in range(len(attempts))]
    ub = [budget] + [1] * len(attempts)
    res = milp(
        c=-np.array([r for _, _, r in flat]),
        constraints=LinearConstraint(np.array(rows, dtype=float), -np.inf, ub),
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
    )
    assert res.success
    return -res.fun


# --------------------------------------------------------------------------- hindsight oracle


def test_hindsight_equals_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        budget = int(rng.integers(0, 65))
        attempts = random_attempts(rng, n_max=5, a_max=4, t_max=40)
        value, choice = hindsight_oracle(budget, attempts)
        assert math.isclose(value, brute_force(budget, attempts), abs_tol=1e-9)
        check_choice(budget, attempts, value, choice)


def test_hindsight_equals_mip():
    rng = np.random.default_rng(1)
    for _ in range(200):
        budget = int(rng.integers(0, 2001))
        attempts = random_attempts(rng, n_max=12, a_max=6, t_max=800)
        value, choice = hindsight_oracle(budget, attempts)
        assert math.isclose(value, mip_value(budget, attempts), abs_tol=1e-6)
        check_choice(budget, attempts, value, choice)


def test_hindsight_ties_prefer_skip_then_fewer_tokens():
    assert hindsight_oracle(100, [[(10, 0.0)]]) == (0.0, [None])
    assert hindsight_oracle(100, [[(30, 1.0), (10, 1.0), (20, 1.0)]]) == (1.0, [1])
    # equal-token ties go to the lower index
    assert hindsight_oracle(100, [[(10, 1.0), (10, 1.0)]]) == (1.0, [0])


def test_hindsight_boundaries():
    assert hindsight_oracle(10, [[(10, 1.0)], [(1, 1.0)]]) == (1.0, [0, None])
    assert hindsight_oracle(10, [[(11, 5.0)], [(0, 1.0)]]) == (1.0, [None, 0])  # 11 > B
    assert hindsight_oracle(0, []) == (0.0, [])
    assert hindsight_oracle(0, [[], [(0, 1.0)]]) == (1.0, [None, 0])
    with pytest.raises(ValueError):
        hindsight_oracle(-1, [])
    with pytest.raises(ValueError):
        hindsight_oracle(5, [[(-1, 1.0)]])


# --------------------------------------------------------------------------- Bellman planner


def random_options(rng, n, b_max, n_opt_max, s_max):
    return [
        {
            f"o{k}": [
                (int(rng.integers(0, b_max + 2)), float(rng.random() < 0.6))
                for _ in range(rng.integers(1, s_max + 1))
            ]
            for k in range(rng.integers(1, n_opt_max + 1))
        }
        for _ in range(n)
    ]


def transitions(opts, budget):
    """Per action (skip first): R[a, b] expected reward, T[a, b, b'] next-budget probability."""
    size = budget + 1
    mats = [(np.zeros(size), np.eye(size))]
    for samples in opts.values():
        rew, trans = np.zeros(size), np.zeros((size, size))
        for b in range(size):
            for c, r in samples:
                if c <= b:
                    rew[b] += r / len(samples)
                    trans[b, b - c] += 1 / len(samples)
                else:  # cut: no reward, budget gone
                    trans[b, 0] += 1 / len(samples)
        mats.append((rew, trans))
    return np.stack([m[0] for m in mats]), np.stack([m[1] for m in mats])


def forward_values(options, budget, policies):
    """Expected reward of each Markov policy by forward propagation of the budget distribution.

    ``policies[p][i]`` is an int array over b (action index, 0 = skip) for problem i."""
    size = budget + 1
    dist = np.zeros((len(policies), size))
    dist[:, budget] = 1.0
    total = np.zeros(len(policies))
    cols = np.arange(size)
    for i, opts in enumerate(options):
        rew, trans = transitions(opts, budget)
        act = np.stack([p[i] for p in policies])  # (P, B+1)
        total += (dist * rew[act, cols]).sum(axis=1)
        dist = np.einsum("pb,pbc->pc", dist, trans[act, cols])
    return total


def all_policies(options, budget):
    """Every deterministic policy over the reachable states (problem 0 at B; later all b)."""
    size = budget + 1
    per_state = [range(len(options[0]) + 1)]
    per_state += [range(len(o) + 1) for o in options[1:] for _ in range(size)]
    out = []
    for combo in itertools.product(*per_state):
        rows = [np.full(size, combo[0])]
        rows += [
            np.array(combo[1 + k * size : 1 + (k + 1) * size]) for k in range(len(options) - 1)
        ]
        out.append(rows)
    return out


def table_as_policy(plan, options):
    return [
        np.array([["skip", *o].index(a) for a in row])
        for row, o in zip(plan.table, options, strict=True)
    ]


def test_bellman_equals_policy_enumeration():
    rng = np.random.default_rng(2)
    done = 0
    while done < 60:
        n, budget = int(rng.integers(2, 4)), int(rng.integers(0, 7))
        options = random_options(rng, n, budget, n_opt_max=2, s_max=2)
        size = math.prod(len(o) + 1 for o in options[1:]) ** (budget + 1) * (len(options[0]) + 1)
        if size > 20_000:
            continue
        done += 1
        plan = bellman_plan(budget, options)
        best = forward_values(options, budget, all_policies(options, budget)).max()
        assert math.isclose(plan.value, best, abs_tol=1e-9)
        own = forward_values(options, budget, [table_as_policy(plan, options)])[0]
        assert math.isclose(own, plan.value, abs_tol=1e-9)
        assert plan.first == plan.table[0][budget]


def expectimax(options, budget):
    """Plain memoised recursion over (problem, tokens left), written independently."""

    @cache
    def v(i, b):
        if i == len(options):
            return 0.0
        best = v(i + 1, b)
        for samples in options[i].values():
            outcomes = [(r + v(i + 1, b - c)) if c <= b else v(i + 1, 0) for c, r in samples]
            best = max(best, sum(outcomes) / len(outcomes))
        return best

    return np.array([[v(i, b) for b in range(budget + 1)] for i in range(len(options) + 1)])


def test_bellman_values_equal_expectimax():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n, budget = int(rng.integers(0, 5)), int(rng.integers(0, 13))
        options = random_options(rng, n, budget, n_opt_max=3, s_max=3)
        plan = bellman_plan(budget, options)
        assert plan.values.shape == (n + 1, budget + 1)
        np.testing.assert_allclose(plan.values, expectimax(options, budget), atol=1e-9)
        assert len(plan.table) == n and all(len(row) == budget + 1 for row in plan.table)


def test_bellman_deterministic_options_equal_hindsight():
    """One sample per option = costs known in advance: the planner is the hindsight MCKP."""
    rng = np.random.default_rng(4)
    for _ in range(100):
        budget = int(rng.integers(0, 80))
        attempts = random_attempts(rng, n_max=6, a_max=4, t_max=50)
        options = [{f"a{j}": [a] for j, a in enumerate(p)} for p in attempts]
        value, _ = hindsight_oracle(budget, attempts)
        assert math.isclose(bellman_plan(budget, options).value, value, abs_tol=1e-9)


def test_bellman_cut_rule_hand_example():
    # "a" costs 4 or 12 tokens (1/2 each); "b" (worth 0.8) costs 6. B = 10.
    # a: 1/2·(1 + V_1(6)=0.8) + 1/2·(0 + V_1(0)=0) = 0.9 > skip: V_1(10) = 0.8.
    # Were a cut attempt free, "a" would be worth 1.3: the cut rule matters.
    options = [{"a": [(4, 1.0), (12, 1.0)]}, {"b": [(6, 0.8)]}]
    plan = bellman_plan(10, options)
    assert plan.first == "a" and math.isclose(plan.value, 0.9)
    assert plan.table[1][6] == "b" and plan.table[1][5] == "skip" and plan.table[1][0] == "skip"


def test_bellman_ties_prefer_skip_then_order():
    plan = bellman_plan(5, [{"free": [(0, 0.0)], "x": [(2, 1.0)], "y": [(2, 1.0)]}])
    assert plan.table[0] == ["skip", "skip", "x", "x", "x", "x"]
    # float rounding: z's Q = (3 x 0.1) / 3 = 0.1 + 1.4e-17 at b >= 1, still a tie with skip
    plan = bellman_plan(3, [{"z": [(0, 0.0)] * 3}, {"w": [(1, 0.1)]}])
    assert set(plan.table[0]) == {"skip"}
    assert bellman_plan(0, []).value == 0.0 and bellman_plan(0, []).first == "skip"
    with pytest.raises(ValueError, match="reserved"):
        bellman_plan(3, [{"skip": [(1, 1.0)]}])


def test_bellman_monte_carlo_matches_value():
    rng = np.random.default_rng(5)
    budget, runs = 300, 20_000
    options = [
        {
            f"o{k}": [(int(rng.integers(0, 160)), float(rng.random() < 0.7)) for _ in range(6)]
            for k in range(3)
        }
        for _ in range(6)
    ]
    plan = bellman_plan(budget, options)
    left = np.full(runs, budget)
    score = np.zeros(runs)
    for i, opts in enumerate(options):
        names = ["skip", *opts]
        act = np.array([names.index(a) for a in plan.table[i]])[left]
        for k, samples in enumerate(opts.values(), start=1):
            rows = np.flatnonzero(act == k)
            draw = np.array(samples)[rng.integers(0, len(samples), size=len(rows))]
            cost, reward = draw[:, 0].astype(int), draw[:, 1]
            fits = cost <= left[rows]
            score[rows] += np.where(fits, reward, 0.0)
            left[rows] = np.where(fits, left[rows] - cost, 0)
    se = score.std(ddof=1) / math.sqrt(runs)
    assert plan.value > 1 and se > 0
    assert abs(score.mean() - plan.value) <= 2 * se


# --------------------------------------------------------------------------- greedy baseline


@pytest.mark.parametrize(
    ("levels", "budget", "keep"),
    [
        ([0, 1, 2], 1280, [True, True, True]),  # 128 + 384 + 768 = 1280 exactly
        ([0, 1, 2], 1279, [True, True, False]),
        ([2, 0, 1], 512, [False, True, True]),  # cheapest first, not in order
        ([3, None, 0], 10_000, [False, False, True]),  # Level-3 and untagged are skipped
        ([1, 1, 1], 768, [True, True, False]),  # ties by position
        ([2, 1, 1], 400, [False, True, False]),
        ([0], 127, [False]),
        ([], 100, []),
        ([5, 0], 0, [False, False]),
    ],
)
def test_greedy_table(levels, budget, keep):
    assert greedy_keep(levels, budget) == keep


def test_greedy_custom_centroids():
    assert greedy_keep([0, 1, 2, 3], 30, centroids=(5, 10, 20, 40)) == [True, True, False, False]
    assert greedy_keep([0, 1, 2], 30, centroids=(5, 10)) == [True, True, False]
    with pytest.raises(ValueError):
        greedy_keep([-1], 100)


# --------------------------------------------------------------------------- regret


def test_regret_functions():
    assert regret_tilde(1.0, 0.75) == 0.25
    assert regret_tilde(0.5, 0.75) == -0.5  # better than on the Easy ordering
    assert regret_tilde(0.0, 0.0) is None
    assert normalised_gap(2.0, 1.5) == 0.25
    assert normalised_gap(0.0, 0.0) is None


# --------------------------------------------------------------------------- JSON interface


def test_solve_instance_hindsight():
    instance = {
        "budget": 100,
        "problems": [
            {"attempts": [{"tokens": 80, "correct": 1}, {"tokens": 30, "correct": 1}]},
            {"attempts": [{"tokens": 60, "correct": 1}], "points": 2},
            {"attempts": []},
        ],
    }
    assert solve_instance(instance) == {"mode": "hindsight", "value": 3.0, "choice": [1, 0, None]}
    assert solve_instance({**instance, "mode": "hindsight"})["value"] == 3.0


def test_solve_instance_bellman():
    instance = {
        "mode": "bellman",
        "budget": 10,
        "problems": [
            {"options": {"a": [{"tokens": 4, "correct": 1}, {"tokens": 12, "correct": 1}]}},
            {"options": {"b": [{"tokens": 6, "correct": 1}]}, "points": 0.8},
        ],
    }
    out = solve_instance(instance)
    assert out["mode"] == "bellman" and out["first"] == "a"
    assert math.isclose(out["value"], 0.9)
    assert len(out["policy"]) == 2 and len(out["policy"][0]) == 11 and out["policy"][1][6] == "b"


def test_solve_instance_greedy():
    out = solve_instance({"mode": "greedy", "budget": 512, "levels": [2, 0, None, 1, 3]})
    assert out == {
        "mode": "greedy",
        "keep": [False, True, False, True, False],
        "kept": [1, 3],
        "cost": 512,
    }
    out = solve_instance({"mode": "greedy", "budget": 15, "levels": [1, 0], "centroids": [5, 10]})
    assert out["kept"] == [0, 1] and out["cost"] == 15


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        ([], r"instance: must be a JSON object"),
        (
            {"mode": "exact", "budget": 1},
            r"unknown 'mode' 'exact' \(valid: hindsight, bellman, greedy",
        ),
        ({"problems": []}, r"instance: missing 'budget'"),
        ({"budget": -3, "problems": []}, r"instance: 'budget' must be a non-negative integer"),
        ({"budget": 5, "problems": [], "extra": 1}, r"instance: unknown key 'extra'"),
        ({"budget": 5, "problems": {}}, r"problems: must be a JSON list"),
        ({"budget": 5, "problems": [{"atempts": []}]}, r"problems\[0\]: missing 'attempts'"),
        (
            {
                "budget": 5,
                "problems": [{"attempts": []}, {"attempts": [{"tokens": 1.5, "correct": 1}]}],
            },
            r"problems\[1\]\.attempts\[0\]: 'tokens' must be a non-negative integer",
        ),
        (
            {"budget": 5, "problems": [{"attempts": [{"tokens": 1, "correct": 2}]}]},
            r"problems\[0\]\.attempts\[0\]: 'correct' must be 0 or 1",
        ),
        (
            {"budget": 5, "problems": [{"attempts": [], "points": -1}]},
            r"problems\[0\]: 'points' must be a non-negative number",
        ),
        (
            {"mode": "bellman", "budget": 5, "problems": [{"options": {"skip": []}}]},
            r"problems\[0\]\.options\[\"skip\"\]: option name 'skip' is reserved",
        ),
        (
            {"mode": "bellman", "budget": 5, "problems": [{"options": {"a": []}}]},
            r"problems\[0\]\.options\[\"a\"\]: needs at least one sample",
        ),
        (
            {"mode": "bellman", "budget": 5, "problems": [{"options": {"a": [{"tokens": -1}]}}]},
            r"problems\[0\]\.options\[\"a\"\]\[0\]: missing 'correct'",
        ),
        (
            {"mode": "bellman", "budget": 5, "problems": [{"options": []}]},
            r"problems\[0\]\.options: must be a JSON object",
        ),
        ({"mode": "greedy", "budget": 5, "levels": [0, "1"]}, r"levels\[1\]: level must be"),
        (
            {"mode": "greedy", "budget": 5, "levels": [0], "centroids": [1, -2]},
            r"centroids\[1\]: centroid must be a non-negative integer",
        ),
    ],
)
def test_solve_instance_errors(instance, message):
    with pytest.raises(InstanceError, match=message):
        solve_instance(instance)


# --------------------------------------------------------------------------- fixed policies


def test_policy_value_equals_forward_evaluation_of_the_fixed_policy():
    rng = np.random.default_rng(11)
    for _ in range(150):
        n, budget = int(rng.integers(0, 5)), int(rng.integers(0, 15))
        options = random_options(rng, n, budget, n_opt_max=1, s_max=3)
        samples = [next(iter(o.values())) for o in options]
        for mask in itertools.product([False, True], repeat=n):
            policy = [np.full(budget + 1, int(a)) for a in mask]  # 1 = the one option
            want = forward_values(options, budget, [policy])[0] if n else 0.0
            got = policy_value(budget, samples, mask)
            assert math.isclose(got, want, abs_tol=1e-9)
            assert got <= bellman_plan(budget, options).value + 1e-9  # Bellman is optimal


def test_attempt_probabilities_match_forward_propagation():
    rng = np.random.default_rng(12)
    for _ in range(100):
        n, budget = int(rng.integers(1, 5)), int(rng.integers(0, 20))
        options = random_options(rng, n, budget, n_opt_max=1, s_max=3)
        samples = [next(iter(o.values())) for o in options]
        plan = bellman_plan(budget, options)
        dist = np.zeros(budget + 1)
        dist[budget] = 1.0
        want = []
        for i, row in enumerate(plan.table):  # independent: transitions() of the reference
            act = np.array([a != "skip" for a in row], dtype=int)
            want.append(float(dist[act == 1].sum()))
            _, trans = transitions(options[i], budget)
            dist = dist @ trans[act, np.arange(budget + 1)]
        got = attempt_probabilities(plan, samples)
        np.testing.assert_allclose(got, want, atol=1e-9)
        assert all(0 <= p <= 1 + 1e-12 for p in got)


def test_greedy_centroids_follow_the_level_bounds():
    """Greedy Knapsack's level costs are the middle of each level's range for any bounds (the
    world's 48/96/192 as well as the paper's 256/512/1024), for `roi eval` and the demo alike."""
    from roi_reasoning.knapsack import DEFAULT_CENTROIDS, centroids

    assert DEFAULT_CENTROIDS == (128, 384, 768)
    assert centroids([48, 96, 192]) == [24, 72, 144]
    assert greedy_keep([0, 1, 2], 100, centroids([48, 96, 192])) == [True, True, False]
