"""RARL's rollout vs the hf policy's batched evaluation: generated tokens/s on the same model.

One Dr. GRPO step of the demo's recipe (``BudgetGRPOTrainer``, TRL's transformers generation
path, T and group size from ``DemoConfig``) is run with TRL's ``_generate_single_turn`` timed;
the tokens it generated (before the per-exam budget cut: what decoding cost) over its seconds
is RARL's rate. The hf policy (``roi eval``'s backend) then samples exams of the same training
set (the first ones; TRL's sampler drew its own), the same number of completions each (``Request.sample`` = 0..G-1), at the same temperature, cap (max
budget) and batch, with transformers' default (dynamic) KV cache and with the demo's static one
(TRL's generation uses the recipe's ``cache_implementation``). All in this one run: compare the ratios.

Run example: ``python bench/rollout_throughput.py --model runs/demo/mft/final --world runs/demo/world``
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import trl

from roi_reasoning.demo.config import DemoConfig
from roi_reasoning.demo.pipeline import training_configs
from roi_reasoning.formats import render_prompt
from roi_reasoning.policies import Request
from roi_reasoning.policies.hf import HFPolicy
from roi_reasoning.training.rarl import grpo_trainer, training_exams


def rarl_rate(cfg) -> tuple[int, float]:
    """(tokens generated, seconds) inside TRL's generation during one GRPO step."""
    spent = {"tokens": 0, "seconds": 0.0}
    original = trl.GRPOTrainer._generate_single_turn

    @functools.wraps(original)  # keeps the signature rarl_trainer.check_trl_internals reads
    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        ids, logprobs = original(self, *args, **kwargs)
        spent["seconds"] += time.perf_counter() - start
        spent["tokens"] += sum(len(x) for x in ids)
        return ids, logprobs

    trl.GRPOTrainer._generate_single_turn = timed
    try:
        grpo_trainer(cfg).train()
    finally:
        trl.GRPOTrainer._generate_single_turn = original
    return spent["tokens"], spent["seconds"]


def hf_rate(cfg, batch: int, exams, cache: str | None) -> tuple[int, float]:
    policy = HFPolicy(
        cfg.model, batch_size=batch, temperature=cfg.temperature, cache_implementation=cache
    )
    cap = max(cfg.budgets)
    requests = [
        Request(render_prompt(e, "roi", cfg.level_bounds), cap, e, "roi", sample=k)
        for e in exams
        for k in range(cfg.num_generations)
    ]
    start = time.perf_counter()
    comps = policy.generate(requests)
    return sum(c.tokens for c in comps), time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="runs/demo/mft/final", help="the MFT model folder")
    ap.add_argument("--world", default="runs/demo/world", help="the world folder (tiers)")
    ap.add_argument("--rounds", type=int, default=3, help="hf timings: best of this many")
    args = ap.parse_args()
    demo = DemoConfig()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = training_configs(replace(demo, out=tmp), Path(args.world))[2]
        cfg = replace(cfg, model=args.model, max_steps=1, val_every=0, save_steps=1000)
        exams = training_exams(cfg)[: cfg.per_device_train_batch_size // cfg.num_generations]
        rows = [(f"RARL (TRL generate, batch {cfg.per_device_train_batch_size})", *rarl_rate(cfg))]
        best: dict[str, tuple[int, float]] = {}
        for _ in range(args.rounds):  # alternating, best of rounds: machines are noisy
            for cache in (None, "static"):  # transformers' default cache, then the demo's
                name = f"hf policy, batch {demo.batch_size}, {cache or 'dynamic'} cache"
                run = hf_rate(cfg, demo.batch_size, exams, cache)
                best[name] = min(best.get(name, run), run, key=lambda r: r[1])
        rows += [(name, *run) for name, run in best.items()]
    base = rows[0][1] / rows[0][2]
    for name, tokens, seconds in rows:
        rate = tokens / seconds
        print(
            f"{name:36s} {tokens:7d} tokens {seconds:7.1f} s {rate:8.0f} tok/s  x{rate / base:.2f}"
        )


if __name__ == "__main__":
    main()
