"""GRPO step time with our exam reward vs a constant reward: the reward's overhead in %.

Both trainers run the same tiny model, data and seed in this one run, alternating, so machine
noise hits both; the overhead is measured as the median step-time difference and also as the
reward function's own time (TRL's ``profiling`` of each reward call is not needed: we time the
calls directly).

Default: a tiny random model on the shared benchmark tiers. ``--model runs/demo/mft/final
--world runs/demo/world`` measures the demo's own RARL setting (world exams, world bounds).

Run example: ``python bench/grpo_reward.py --steps 6 --generations 8 --budget 128``
"""

from __future__ import annotations

import argparse
import statistics
import time

import roi_reasoning.training.rarl as rarl
from roi_reasoning.testing import build_chat_tokenizer, tiny_causal_lm


def run(reward_mode: str, args, tok) -> tuple[list[float], float]:
    spent = [0.0]
    real = rarl.make_reward

    def timed(name, tokenizer, **kw):
        fn = real(name, tokenizer, **kw)

        def reward(prompts, completions, completion_ids=None, **cols):
            start = time.perf_counter()
            out = fn(prompts, completions, completion_ids, **cols)
            spent[0] += time.perf_counter() - start
            return out

        return reward

    def constant(name, tokenizer, **kw):
        def reward(prompts, completions, completion_ids=None, **cols):
            return [1.0] * len(completions)

        return reward

    rarl.make_reward = constant if reward_mode == "constant" else timed
    extra = {}
    if args.world:
        from roi_reasoning.world import load_world, world_tiers

        meta = load_world(args.world)
        extra = {
            "tiers": world_tiers(args.world, "train"),
            "level_bounds": meta["config"]["level_bounds"],
        }
    cfg = rarl.RARLConfig(
        model=args.model or "unused",
        out=f"/tmp/roi-bench-grpo-{reward_mode}",
        budgets=[args.budget],
        **({"level_bounds": [32, 64, 128]} | extra),
        count=8,
        num_generations=args.generations,
        per_device_train_batch_size=args.generations,
        max_steps=args.steps,
        learning_rate=1e-4,
        save_steps=10**6,
        logging_steps=1,
    )
    objects = (
        {} if args.model else {"model": tiny_causal_lm(tok, hidden=args.hidden), "tokenizer": tok}
    )
    trainer = rarl.grpo_trainer(cfg, **objects)
    trainer.train()
    rarl.make_reward = real
    steps = [h["step_time"] for h in trainer.state.log_history if "step_time" in h]
    return steps[1:], spent[0]  # the first step includes warm-up


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--budget", type=int, default=128, help="max completion tokens")
    ap.add_argument("--hidden", type=int, default=128, help="tiny random model's width")
    ap.add_argument("--model", help="a model folder instead of the tiny random model")
    ap.add_argument("--world", help="a built world folder: its train tiers and level bounds")
    args = ap.parse_args()
    tok = build_chat_tokenizer()
    const_steps, _ = run("constant", args, tok)
    exam_steps, reward_time = run("exam", args, tok)
    t_const, t_exam = statistics.median(const_steps), statistics.median(exam_steps)
    per_step_reward = reward_time / args.steps
    print(f"median GRPO step, constant reward : {t_const:7.3f} s")
    print(f"median GRPO step, exam reward     : {t_exam:7.3f} s")
    print(
        f"exam reward time per step         : {per_step_reward:7.3f} s "
        f"= {100 * per_step_reward / t_exam:.2f} % of a step"
    )
    print(
        f"step-time difference              : {100 * (t_exam - t_const) / t_const:+.2f} % (noisy)"
    )


if __name__ == "__main__":
    main()
