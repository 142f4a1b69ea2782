"""Seconds per Dr. GRPO step with one budget [B] vs mixed budgets [b, B] (same max_completion_length),
and the cost of one greedy validation, on a tiny random Llama (CPU unless CUDA is there).

Both runs use the same model init, data and seed in this one process, so the ratio is what the
per-exam cut costs or saves: generation still runs to B for every exam (TRL uses one max length),
the loss and reward see only the first B_i tokens.

Run example: ``python bench/rarl_mixed_budgets.py --steps 4 --low 64 --high 160``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import roi_reasoning.training.rarl as rarl
from roi_reasoning.testing import build_chat_tokenizer, tiny_causal_lm
from roi_reasoning.training.curve import validate


def run(budgets: list[int], args, tok, tier: Path, out: Path) -> tuple[list[float], float]:
    cfg = rarl.RARLConfig(
        model="unused",
        out=str(out),
        tiers={"easy": {"source": str(tier)}},
        n=1,
        kinds=["easy"],
        budgets=budgets,
        level_bounds=[32, 64, 128],
        count=8,
        num_generations=args.generations,
        per_device_train_batch_size=args.generations * 2,
        max_steps=args.steps,
        learning_rate=1e-4,
        save_steps=10**6,
        logging_steps=1,
    )
    model = tiny_causal_lm(tok, hidden=64, layers=2)
    trainer = rarl.grpo_trainer(cfg, model=model, tokenizer=tok)
    trainer.train()
    steps = [h["step_time"] for h in trainer.state.log_history if "step_time" in h]
    exams = rarl.validation_exams(cfg)
    start = time.perf_counter()
    validate(model, tok, exams, bounds=cfg.level_bounds, batch_size=cfg.per_device_train_batch_size)
    return steps, (time.perf_counter() - start) / len(exams)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--generations", type=int, default=4)
    ap.add_argument("--low", type=int, default=64, help="the tight budget b (tokens)")
    ap.add_argument("--high", type=int, default=160, help="the loose budget B (tokens)")
    args = ap.parse_args()
    tok = build_chat_tokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        tier = Path(tmp) / "tier.jsonl"
        rows = [
            {"id": f"p{i}", "question": f"What is {i}+1?", "answer": str(i + 1)} for i in range(8)
        ]
        tier.write_text("".join(json.dumps(r) + "\n" for r in rows))
        single, val_single = run([args.high], args, tok, tier, Path(tmp) / "single")
        mixed, val_mixed = run([args.low, args.high], args, tok, tier, Path(tmp) / "mixed")
    s, m = statistics.median(single[1:] or single), statistics.median(mixed[1:] or mixed)
    print(
        f"tiny Llama (hidden 64, 2 layers, vocab {len(tok)}), {args.generations * 2} completions/step"
    )
    print(f"median s/step  budgets [{args.high}]: {s:.2f}   [{args.low}, {args.high}]: {m:.2f}")
    print(f"mixed / single step time: {m / s:.2f}")
    print(f"greedy validation s/exam: {val_single:.3f} (single)  {val_mixed:.3f} (mixed)")


if __name__ == "__main__":
    main()
