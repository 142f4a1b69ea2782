"""Grading throughput (fast path vs math-verify pool) and adversarial latency, in one run.

Run example: ``python bench/grading.py --n 500 --workers 2`` (``--part adversarial`` for the latter)

Pairs come from real MATH test answers (``../shared/data/math/test.jsonl`` or ROI_DATA_DIR):
"same" = gold vs a whole response ending in ``\\boxed{gold}`` (a correct answer), "other" = gold vs
another row's answer (mostly wrong). Each set is graded three ways: the fast path alone
(``_fast_grade``; the share it decides is printed), math-verify forced for every pair on the pool,
and ``grade_many`` end to end. Figures are cases per second on this machine, reported as ratios.

Adversarial part: one line per hostile input class at the size caps (deep nested boxes, millions
of ``$``, huge numbers, long ``\\frac`` chains, unbalanced braces, sympy bombs), each timed as its
own ``GradingPool.grade`` call (the path ``roi grade`` takes: fast path, then a worker under the
timeout); printed: the slowest line against the bound ``timeout + 1 s``, and the wall time of
``roi grade`` on the same lines as one JSONL file (including its pool start).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from roi_reasoning import cli
from roi_reasoning.grading import MAX_INPUT_CHARS, Grade, _fast_grade
from roi_reasoning.grading.pool import GradingPool


def _data_dir() -> Path:
    if os.environ.get("ROI_DATA_DIR"):
        return Path(os.environ["ROI_DATA_DIR"])
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    raise SystemExit("shared/data not found; set ROI_DATA_DIR")


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def adversarial_lines() -> dict[str, tuple[str, str]]:
    """Named (gold, pred) lines, each as large as the caps allow (characters)."""
    cap = MAX_INPUT_CHARS
    depth = (cap - 1) // 8  # "\\boxed{" + "}" is 8 characters per level
    return {
        "nested boxes, closed (1 MB)": ("1", "\\boxed{" * depth + "1" + "}" * depth),
        "nested boxes, never closed": ("1", "\\boxed{" * ((cap - 1) // 7) + "1"),
        "issue: 10,000 nested boxes": ("1", "\\boxed{" * 10_000 + "1" + "}" * 10_000),
        "issue: 2,000,000 $": ("5", "$" * 2_000_000),
        "$ prose then a box (1 MB)": ("5", "$" * (cap - 9) + "\\boxed{5}"),
        "$ around the answer (1 MB)": ("5", "$" * (cap // 2 - 1) + "5" + "$" * (cap // 2 - 1)),
        "10**100000 written out": ("10^{100000}", "1" + "0" * 100_000),
        "999-digit integers": ("9" * 999, "9" * 998 + "8"),
        "power tower vs digits": ("10^{10^{10}}", "1" + "0" * 900),
        "9^{9^{9}}": ("5", "9^{9^{9}}"),
        "\\frac chain, 5000 deep": ("2", "\\frac{1}{" * 5000 + "2" + "}" * 5000),
        "\\frac chain, 80 deep boxed": ("2", "\\boxed{" + "\\frac{1}{" * 80 + "2" + "}" * 81),
        "\\frac12 x 50,000": ("\\frac{1}{2}", "\\frac12" * 50_000),
        "{ x 1M then a box": ("5", "{" * (cap - 9) + "\\boxed{5}"),
        "box of {} pairs (1 MB)": ("5", "\\boxed{" + "{}" * ((cap - 8) // 2) + "}"),
        "box never closed, \\} x 500k": ("5", "\\boxed{" + "\\}" * ((cap - 7) // 2)),
        "\\boxed{} x 125k": ("5", "\\boxed{}" * (cap // 8 - 2) + "\\boxed{5}"),
        "unclosed \\boxed{\\frac{1}{2}": ("\\frac{1}{2}", "\\boxed{\\frac{1}{2}"),
    }


def bench_adversarial(workers: int | None, timeout: float) -> None:
    """Slowest adversarial line vs ``timeout + 1 s``, and ``roi grade`` on all of them."""
    lines = adversarial_lines()
    with GradingPool(workers, timeout=timeout) as pool:
        pool.start()  # zygote start-up (imports sympy once) is not a grading call
        times = {}
        for name, (gold, pred) in lines.items():
            t0 = time.perf_counter()
            result = pool.grade(gold, pred)
            times[name] = time.perf_counter() - t0
            print(f"  {times[name]:7.3f} s  {result.correct!s:5} {result.reason:12} {name}")
    slowest = max(times, key=times.__getitem__)
    bound = timeout + 1.0
    verdict = "within" if times[slowest] <= bound else "OVER"
    print(
        f"[adversarial] slowest line {times[slowest]:.3f} s ({slowest}) vs timeout {timeout} s: "
        f"{times[slowest] / bound:.2f} of the bound timeout + 1 s = {bound} s ({verdict})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pairs.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for gold, pred in lines.values():
                f.write(json.dumps({"gold": gold, "pred": pred}) + "\n")
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            rc = cli.main(["grade", path, "--timeout", str(timeout)])
        wall = time.perf_counter() - t0
    print(f"[adversarial] roi grade on all {len(lines)} lines: {wall:.2f} s wall (rc {rc})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="MATH answers to sample")
    ap.add_argument("--workers", type=int, default=None, help="pool size (default: CPUs)")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per math-verify case")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--part", choices=("all", "throughput", "adversarial"), default="all")
    args = ap.parse_args()
    if args.part != "throughput":
        bench_adversarial(args.workers, args.timeout)
    if args.part == "adversarial":
        return

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
