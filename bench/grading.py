"""Grading throughput: the pure-Python fast path vs the math-verify worker pool, in one run.

Run example: ``python bench/grading.py --n 500 --workers 2``

Pairs come from real MATH test answers (``../shared/data/math/test.jsonl`` or ROI_DATA_DIR):
"same" = gold vs a whole response ending in ``\\boxed{gold}`` (a correct answer), "other" = gold vs
another row's answer (mostly wrong). Each set is graded three ways: the fast path alone
(``_fast_grade``; the share it decides is printed), math-verify forced for every pair on the pool,
and ``grade_many`` end to end. Figures are cases per second on this machine, reported as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from roi_reasoning.grading import Grade, _fast_grade
from roi_reasoning.grading_pool import GradingPool


def _data_dir() -> Path:
    if os.environ.get("ROI_DATA_DIR"):
        return Path(os.environ["ROI_DATA_DIR"])
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    raise SystemExit("shared/data not found; set ROI_DATA_DIR")


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="MATH answers to sample")
    ap.add_argument("--workers", type=int, default=None, help="pool size (default: CPUs)")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per math-verify case")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    with open(_data_dir() / "math" / "test.jsonl", encoding="utf-8") as f:
        answers = [json.loads(line)["answer"] for line in f]
    rng = random.Random(args.seed)
    golds = rng.sample(answers, min(args.n, len(answers)))
    sets = {
        "same": [(g, f"So the final answer is $\\boxed{{{g}}}$.") for g in golds],
        "other": [(g, rng.choice(answers)) for g in golds],
    }
    with GradingPool(args.workers, timeout=args.timeout) as pool:
        pool.start()  # zygote start-up (imports sympy once) is not throughput
        print(f"{len(golds)} MATH answers, {pool.max_workers} workers, timeout {args.timeout} s")
        for name, pairs in sets.items():
            [_fast_grade(g, p) for g, p in pairs[:50]]  # warm the regex cache
            t0 = time.perf_counter()
            fast = [_fast_grade(g, p) for g, p in pairs]
            t_fast = time.perf_counter() - t0
            decided = sum(isinstance(r, Grade) for r in fast)

            t0 = time.perf_counter()
            with ThreadPoolExecutor(pool.max_workers) as ex:  # every pair through math-verify
                list(ex.map(lambda gp: pool._verify(*gp, args.timeout), pairs))
            t_mv = time.perf_counter() - t0

            t0 = time.perf_counter()
            results = pool.grade_many(pairs)
            t_e2e = time.perf_counter() - t0
            r_fast, r_mv, r_e2e = (_rate(len(pairs), t) for t in (t_fast, t_mv, t_e2e))
            print(
                f"[{name}] fast path {r_fast:,.0f} cases/s (decides {decided}/{len(pairs)}), "
                f"math-verify pool {r_mv:,.0f} cases/s, grade_many {r_e2e:,.0f} cases/s, "
                f"correct {sum(r.correct for r in results)}/{len(pairs)}"
            )
            print(
                f"[{name}] ratio fast/math-verify = {r_fast / r_mv:,.0f}x, "
                f"grade_many/math-verify = {r_e2e / r_mv:.1f}x"
            )
        print("pool stats:", pool.stats)


if __name__ == "__main__":
    main()
