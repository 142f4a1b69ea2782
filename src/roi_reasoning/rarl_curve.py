"""RARL learning curve: train exam reward per logged step, held-out greedy validation reward.

``CurveCallback`` (a ``transformers.TrainerCallback``) runs ``validate`` every ``val_every``
optimizer steps (and at step 0, before any update): the policy answers fixed validation exams
greedily, batched, with ``max_new_tokens`` = each exam's budget B (the project's hf policy on the
training model; with ``use_vllm`` in colocate mode, the vllm policy on the trainer's own vLLM
engine, its weights synced to the step first — ``colocated_engine``),
and the exam reward R = Σ_i p_i·1[correct_i ∧ predicted level_i = actual level_i] (DESIGN.md §1,
``rewards.get_reward``) is averaged overall and per budget. The numbers go through the trainer's
``log`` (so ``report_to: tensorboard`` records ``val/reward`` and ``val/reward_B<b>`` next to
TRL's own ``reward``, the mean train exam reward), and one row per logged step is appended to
``<out>/curve.jsonl``::

    {"step": 10, "train_reward": 0.81, "val_reward": 0.75, "val_reward_by_budget": {"128": 0.5}}

``plots.plot_curve`` turns that file into a PNG (``roi report`` embeds it).

Run example: ``python -c "from roi_reasoning.plots import plot_curve as p; p('runs/demo/rarl/curve.jsonl', 'curve.png')"``
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from roi_reasoning.data import ConfigError
from roi_reasoning.formats import render_prompt
from roi_reasoning.policies import Request
from roi_reasoning.records import Exam
from roi_reasoning.rewards import get_reward
from roi_reasoning.scoring import score_completions

CURVE = "curve.jsonl"
VAL_KEY = "val/reward"


def validate(
    model: Any,
    tokenizer: Any,
    exams: Sequence[Exam],
    *,
    bounds: Sequence[int],
    reward: str = "exam",
    timeout: float = 5.0,
    batch_size: int = 16,
    engine: Any = None,
) -> dict[str, float]:
    """Mean ``get_reward(reward)`` of greedy completions (``roi`` prompts, budget-capped), overall
    under ``val/reward`` and per budget under ``val/reward_B<b>``. ``engine``: a vLLM engine
    holding ``model``'s weights (all requests go to it in one call), else the hf policy on
    ``model``. Restores the model's train/eval mode and the tokenizer's padding side (the hf
    policy pads on the left)."""
    was_training, side = model.training, tokenizer.padding_side
    requests = [Request(render_prompt(e, "roi", bounds), e.budget, e, "roi") for e in exams]
    try:
        if engine is not None:
            from roi_reasoning.policies.vllm import VLLMPolicy

            policy = VLLMPolicy(
                model=model.name_or_path, engine=engine, generation_config=model.generation_config
            )
        else:
            from roi_reasoning.policies.hf import HFPolicy

            policy = HFPolicy(
                model=model,
                tokenizer=tokenizer,
                device=str(model.device),
                batch_size=batch_size,
                temperature=0.0,
            )
        completions = policy.generate(requests)
    finally:
        model.train(was_training)
        tokenizer.padding_side = side
    outcomes = score_completions(exams, completions, method="roi", bounds=bounds, timeout=timeout)
    per_exam = get_reward(reward)
    rewards = [per_exam(o) for o in outcomes]
    metrics = {VAL_KEY: statistics.fmean(rewards)}
    for b in sorted({e.budget for e in exams}):
        metrics[f"{VAL_KEY}_B{b}"] = statistics.fmean(
            r for e, r in zip(exams, rewards, strict=True) if e.budget == b
        )
    return metrics


def curve_row(step: int, logs: dict[str, Any]) -> dict[str, Any] | None:
    """The ``curve.jsonl`` row of one log call; None when it holds no reward."""
    prefix = f"{VAL_KEY}_B"
    by_budget = {k[len(prefix) :]: v for k, v in logs.items() if k.startswith(prefix)}
    if "reward" not in logs and VAL_KEY not in logs:
        return None  # e.g. the final train_runtime summary
    return {
        "step": step,
        "train_reward": logs.get("reward"),
        "val_reward": logs.get(VAL_KEY),
        "val_reward_by_budget": by_budget,
    }


def read_curve(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def colocated_engine(trainer: Any) -> Any:
    """The trainer's colocated vLLM engine with its weights synced to the current step (as TRL
    syncs before generating), or None: no vLLM, server mode (the server serves TRL's rollouts),
    sleep mode (TRL wakes and re-pushes the weights inside its own generate) or tensor
    parallelism (every rank would have to take part), where validation uses the hf policy."""
    args = trainer.args
    if not getattr(trainer, "use_vllm", False) or args.vllm_mode != "colocate":
        return None
    if args.vllm_enable_sleep_mode or args.vllm_tensor_parallel_size != 1:
        return None
    step = trainer.state.global_step
    if trainer._last_loaded_step != step:  # TRL's own tag: its next rollout then skips the sync
        trainer.vllm_generation.sync_weights()
        trainer._last_loaded_step = step
    return trainer.vllm_generation.llm


class CurveCallback(TrainerCallback):
    """Validation every ``every`` steps (0 = never) through ``trainer.pending_logs`` + ``log``,
    and the ``curve.jsonl`` rows. Validation generates on the main process only (the whole
    model must live there: single device or DDP, not FSDP / ZeRO-3)."""

    def __init__(self, trainer: Any, exams: Sequence[Exam], every: int, **validate_kw: Any) -> None:
        if every < 0:
            raise ConfigError("val_every", f"must be >= 0, got {every}")
        if every and (trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled):
            raise ConfigError(
                "val_every", "validation needs the whole model on one process: set val_every: 0"
            )
        self.trainer, self.exams, self.every, self.validate_kw = trainer, exams, every, validate_kw
        self.path = Path(trainer.args.output_dir) / CURVE

    def _validate(self) -> None:
        if not self.trainer.accelerator.is_main_process:
            return
        t = self.trainer
        model = t.accelerator.unwrap_model(t.model)
        kw = {**self.validate_kw, "engine": colocated_engine(t)}
        t.pending_logs.update(validate(model, t.processing_class, self.exams, **kw))

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            # a fresh run starts a fresh curve; a resumed one re-logs the steps after its
            # checkpoint (logged before it was saved), so those rows go
            step = state.global_step
            rows = [r for r in read_curve(self.path) if r["step"] <= step] if step else []
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        if self.every and self.exams and state.global_step == 0:
            self._validate()  # the curve starts at the policy before any update
            self.trainer.log({})

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        step = state.global_step
        if self.every and self.exams and (step % self.every == 0 or step == state.max_steps):
            self._validate()
            control.should_log = True  # every process: logging gathers the loss across them
        return control

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        row = curve_row(state.global_step, logs or {})
        if row is not None and state.is_world_process_zero:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
