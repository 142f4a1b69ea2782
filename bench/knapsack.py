"""Time the exact OS-MCKP solvers and how their time grows when N·B doubles (one run, ratios).

Run example: ``python bench/knapsack.py --repeats 7``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from roi_reasoning.knapsack import bellman_plan, hindsight_oracle


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def hindsight_case(rng: np.random.Generator, n: int, budget: int, attempts: int) -> Callable:
    """N problems, ``attempts`` measured attempts each, tokens up to B/2, 0/1 rewards."""
    data = [
        [
            (int(rng.integers(1, budget // 2 + 1)), float(rng.random() < 0.6))
            for _ in range(attempts)
        ]
        for _ in range(n)
    ]
    return lambda: hindsight_oracle(budget, data)


def bellman_case(
    rng: np.random.Generator, n: int, budget: int, options: int, samples: int
) -> Callable:
    """N problems, ``options`` named options of ``samples`` samples, tokens up to B/4."""
    data = [
        {
            f"level{k}": [
                (int(rng.integers(1, budget // 4 + 1)), float(rng.random() < 0.6))
                for _ in range(samples)
            ]
            for k in range(options)
        }
        for _ in range(n)
    ]
    return lambda: bellman_plan(budget, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per case (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--attempts", type=int, default=8, help="hindsight: attempts per problem")
    parser.add_argument("--options", type=int, default=4, help="planner: options per problem")
    parser.add_argument("--samples", type=int, default=8, help="planner: samples per option")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    def hind(n: int, b: int) -> Callable:
        return hindsight_case(rng, n, b, args.attempts)

    def plan(n: int, b: int) -> Callable:
        return bellman_case(rng, n, b, args.options, args.samples)

    solvers = {"hindsight": (hind, 3, 1024), "bellman": (plan, 20, 8192)}
    print(
        f"median of {args.repeats} runs; attempts={args.attempts}, options={args.options}, "
        f"samples={args.samples}"
    )
    print(f"{'solver':<10} {'N':>4} {'B':>6} {'ms':>9}  {'t(2N)/t':>8} {'t(2B)/t':>8}")
    for name, (make, n, b) in solvers.items():
        base = median_time(make(n, b), args.repeats)
        double_n = median_time(make(2 * n, b), args.repeats)
        double_b = median_time(make(n, 2 * b), args.repeats)
        print(
            f"{name:<10} {n:>4} {b:>6} {1e3 * base:>9.3f}  "
            f"{double_n / base:>8.2f} {double_b / base:>8.2f}"
        )


if __name__ == "__main__":
    main()
