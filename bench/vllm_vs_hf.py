"""Device-machine bench: generated tokens/s of the vllm policy vs the hf policy, same model,
same exams, same budget, measured one after the other in this run, printed as a ratio.

Needs a CUDA GPU and the ``vllm`` extra. The model is a local folder (the device machine has
no network): e.g. a tiny model saved by the tests, or a converted SmolLM2 folder carried over.

Run example: ``python bench/vllm_vs_hf.py --model /path/to/model --exams 64 --budget 256``
"""

from __future__ import annotations

import argparse
import time

from roi_reasoning.data import DEFAULT_TIERS, load_tier
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import render_prompt
from roi_reasoning.policies import Request


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--exams", type=int, default=64)
    ap.add_argument("--budget", type=int, default=256, help="tokens per exam")
    ap.add_argument("--hf-batch", type=int, default=32)
    args = ap.parse_args()
    tiers = {name: load_tier(spec, name) for name, spec in DEFAULT_TIERS.items()}
    exams = build_exams(tiers, kinds=("easy",), budgets=(args.budget,), count=args.exams)
    requests = [Request(render_prompt(e, "base"), e.budget, e, "base") for e in exams]
    rates = {}
    for name in ("hf", "vllm"):
        if name == "hf":
            from roi_reasoning.policies.hf import HFPolicy

            policy = HFPolicy(args.model, batch_size=args.hf_batch)
        else:
            from roi_reasoning.policies.vllm import VLLMPolicy

            policy = VLLMPolicy(args.model, gpu_memory_utilization=0.5)
        policy.generate(requests[:2])  # warm-up
        start = time.perf_counter()
        tokens = sum(c.tokens for c in policy.generate(requests))
        seconds = time.perf_counter() - start
        rates[name] = tokens / seconds
        print(f"{name:5s}: {tokens} tokens in {seconds:.1f} s = {rates[name]:.0f} tok/s")
        del policy
    print(f"vllm / hf tokens/s: {rates['vllm'] / rates['hf']:.1f}x")


if __name__ == "__main__":
    main()
