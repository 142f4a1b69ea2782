"""RARL learning curve: train exam reward and its spread per logged step, greedy validation
reward and refusals on fixed validation exams.

``CurveCallback`` (a ``transformers.TrainerCallback``) runs ``validate`` every ``val_every``
optimizer steps (and at step 0, before any update): the policy answers fixed validation exams
greedily, batched, with ``max_new_tokens`` = each exam's budget B (the project's hf policy on the
training model; with ``use_vllm`` in colocate mode, the vllm policy on the trainer's own vLLM
engine, its weights synced to the step first — ``colocated_engine``). From those outcomes, with
no extra generation, ``validation_metrics`` takes the exam reward
R = Σ_i p_i·1[correct_i ∧ predicted level_i = actual level_i ∧ predicted level_i < top]
(docs/design.md §1, ``rewards.get_reward``) averaged overall and per budget, the level accuracy
(``metrics``' rule: tagged, finished, not-skipped problems) and, per budget, the share of the
hardest tier's problems the policy refused (``refused``: \\boxed{NA} or the skip-level tag).
The numbers go through the trainer's ``log`` (so ``report_to: tensorboard`` records
``val/reward``, ``val/reward_B<b>``, ``val/level_accuracy`` and ``val/skip_<tier>_B<b>`` next to
TRL's own ``reward``, ``reward_std`` (std of the train exam rewards over the whole batch),
``frac_reward_zero_std`` (share of groups with zero reward variance), ``kl`` (when beta > 0) and
``rarl_trainer``'s ``reward_group_std`` (mean std within a group)), and one row per logged step
is appended to ``<out>/curve.jsonl``::

    {"step": 10, "train_reward": 0.81, "train_reward_std": 0.52, "train_reward_group_std": 0.4,
     "frac_zero_std": 0.25, "kl": 0.01, "val_reward": 0.75, "val_reward_by_budget": {"128": 0.5},
     "val_level_accuracy": 0.6, "hardest_tier": "hard", "val_skip_hardest_by_budget": {"128": 0.9}}

A value TRL or the validation did not log this step is null (an empty mapping for the per-budget
ones); older files hold only step, train_reward, val_reward and val_reward_by_budget, and every
reader treats a missing key as not logged.
``report.plots.plot_curve`` turns that file into a PNG (``roi report`` embeds it).

Run example: ``python -c "from roi_reasoning.report.plots import plot_curve as p; p('runs/demo/rarl/curve.jsonl', 'curve.png')"``
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from roi_reasoning import runfolder
from roi_reasoning.data import read_records
from roi_reasoning.errors import ConfigError
from roi_reasoning.formats import render_prompt
from roi_reasoning.metrics import _levels  # the level-accuracy rule of the evaluation tables
from roi_reasoning.policies import Policy, Request
from roi_reasoning.records import Exam, ExamOutcome, ProblemOutcome
from roi_reasoning.rewards import get_reward
from roi_reasoning.runfolder import atomic_write_text
from roi_reasoning.scoring import score_completions
from roi_reasoning.training.rarl_trainer import GROUP_STD

VAL_KEY = "val/reward"
LEVEL_KEY = "val/level_accuracy"
SKIP_KEY = "val/skip"  # val/skip_<hardest tier>_B<b>


def refused(outcome: ProblemOutcome, top_level: int) -> bool:
    """The policy declined the problem: it answered \\boxed{NA} (status ``skipped``) or tagged it
    with the skip level ``top_level`` (Level-top never earns reward, docs/design.md §4)."""
    return outcome.status == "skipped" or outcome.predicted_level == top_level


def skip_rate_by_budget(outcomes: Sequence[ExamOutcome], tier: str) -> dict[int, float]:
    """Per budget, the share of ``tier``'s problems (reached or not) that were ``refused``;
    budgets whose exams hold no problem of ``tier`` are absent."""
    flags: dict[int, list[bool]] = defaultdict(list)
    for exam in outcomes:
        flags[exam.budget] += [refused(o, exam.top_level) for o in exam.outcomes if o.tier == tier]
    return {b: statistics.fmean(v) for b, v in sorted(flags.items()) if v}


def validation_metrics(
    outcomes: Sequence[ExamOutcome], *, reward: str = "exam", hardest_tier: str | None = None
) -> dict[str, float]:
    """The logged validation numbers of scored outcomes: mean ``get_reward(reward)`` overall
    (``val/reward``) and per budget (``val/reward_B<b>``), the level accuracy
    (``val/level_accuracy``, absent when no problem qualifies) and, given ``hardest_tier``, its
    refusal share per budget (``val/skip_<tier>_B<b>``)."""
    per_exam = get_reward(reward)
    rewards = [per_exam(o) for o in outcomes]
    metrics = {VAL_KEY: statistics.fmean(rewards)}
    for b in sorted({o.budget for o in outcomes}):
        metrics[f"{VAL_KEY}_B{b}"] = statistics.fmean(
            r for o, r in zip(outcomes, rewards, strict=True) if o.budget == b
        )
    n_levels = max(o.top_level for o in outcomes) + 1
    accuracy = _levels(outcomes, n_levels)["level_accuracy"]
    if accuracy is not None:  # report_to loggers take numbers only
        metrics[LEVEL_KEY] = accuracy
    if hardest_tier is not None:
        for b, rate in skip_rate_by_budget(outcomes, hardest_tier).items():
            metrics[f"{SKIP_KEY}_{hardest_tier}_B{b}"] = rate
    return metrics


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
    hardest_tier: str | None = None,
) -> dict[str, float]:
    """``validation_metrics`` of greedy completions (``roi`` prompts, budget-capped).
    ``engine``: a vLLM engine holding ``model``'s weights (all requests go to it in one call),
    else the hf policy on ``model``. Restores the model's train/eval mode and the tokenizer's
    padding side (the hf policy pads on the left)."""
    was_training, side = model.training, tokenizer.padding_side
    requests = [Request(render_prompt(e, "roi", bounds), e.budget, e, "roi") for e in exams]
    try:
        if engine is not None:
            from roi_reasoning.policies.vllm import VLLMPolicy

            policy: Policy = VLLMPolicy(
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
    return validation_metrics(outcomes, reward=reward, hardest_tier=hardest_tier)


def _budget_keys(logs: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``{b: value}`` of the log keys ``<prefix><b>`` whose ``b`` is a budget (digits)."""
    cut = len(prefix)
    return {k[cut:]: v for k, v in logs.items() if k.startswith(prefix) and k[cut:].isdigit()}


def _hardest_skips(logs: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(tier, {budget: refusal share}) of the ``val/skip_<tier>_B<b>`` keys (one tier is
    logged; a tier name may itself hold ``_B``: the budget follows the last one)."""
    tier, by_budget = None, {}
    for key, value in logs.items():
        if key.startswith(f"{SKIP_KEY}_"):
            name, _, b = key[len(SKIP_KEY) + 1 :].rpartition("_B")
            if name and b.isdigit():
                tier, by_budget[b] = name, value
    return tier, by_budget


def curve_row(step: int, logs: dict[str, Any]) -> dict[str, Any] | None:
    """The ``curve.jsonl`` row of one log call (module docstring); None when it holds no reward."""
    if "reward" not in logs and VAL_KEY not in logs:
        return None  # e.g. the final train_runtime summary
    tier, skips = _hardest_skips(logs)
    return {
        "step": step,
        "train_reward": logs.get("reward"),
        "train_reward_std": logs.get("reward_std"),
        "train_reward_group_std": logs.get(GROUP_STD),
        "frac_zero_std": logs.get("frac_reward_zero_std"),
        "kl": logs.get("kl"),
        "val_reward": logs.get(VAL_KEY),
        "val_reward_by_budget": _budget_keys(logs, f"{VAL_KEY}_B"),
        "val_level_accuracy": logs.get(LEVEL_KEY),
        "hardest_tier": tier,
        "val_skip_hardest_by_budget": skips,
    }


def read_curve(path: str | Path) -> list[dict[str, Any]]:
    """The rows of ``curve.jsonl`` (none if missing); a last line torn by a crash mid-append
    is skipped (the resumed run rewrites the file without it)."""
    return read_records(path, allow_torn_tail=True)


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
    and the ``curve.jsonl`` rows; ``validate_kw`` go to ``validate`` (``bounds``, ``reward``,
    ``hardest_tier``, ...). Validation generates on the main process only (the whole model must
    live there: single device or DDP, not FSDP / ZeRO-3)."""

    def __init__(self, trainer: Any, exams: Sequence[Exam], every: int, **validate_kw: Any) -> None:
        if every < 0:
            raise ConfigError("val_every", f"must be >= 0, got {every}")
        if every and (trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled):
            raise ConfigError(
                "val_every", "validation needs the whole model on one process: set val_every: 0"
            )
        self.trainer, self.exams, self.every, self.validate_kw = trainer, exams, every, validate_kw
        self.path = Path(trainer.args.output_dir) / runfolder.CURVE

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
            rows = [r for r in read_curve(self.path) if r.get("step", 0) <= step] if step else []
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))
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
