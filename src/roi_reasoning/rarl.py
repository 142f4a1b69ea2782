"""Rationality-Aware RL (RARL), DESIGN.md §1 stage 2: Dr. GRPO on whole exams with TRL.

Each prompt is an exam (N problems, the budget B stated in the ``roi`` format); the reward is
the paper's exam reward R = Σ_i p_i·1[correct_i ∧ predicted level_i = actual level_i]
(``rewards.make_reward("exam", ...)``); the advantage is R − group mean with no std scaling
(``loss_type="dr_grpo"``, ``scale_rewards="none"``); KL off by default (``beta=0``).

One budget per run: ``max_completion_length`` = B, so generation stops at exactly the exam's
budget. Tokens past B are never generated, hence never rewarded and never given gradient, and
Dr. GRPO's constant normaliser (the max completion length) equals B for every sequence.
Mixing budgets in one run would need per-sequence masks inside TRL's loss; train one run per
budget (or chain runs) instead, which keeps the trainer unpatched and the budget exact.

Run example: ``roi rarl train --config configs/rarl/world.yaml``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roi_reasoning.data import DEFAULT_TIERS, TierSpec, load_tier
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import render_prompt
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS
from roi_reasoning.rewards import exam_column, make_reward


@dataclass
class RARLConfig:
    model: str  # the MFT model folder (or any causal LM)
    out: str  # checkpoints, logs, final/
    tiers: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {k: vars(v) for k, v in DEFAULT_TIERS.items()}
    )
    budget: int = 512  # tokens: the hard per-exam budget = max_completion_length
    level_bounds: list[int] = field(default_factory=lambda: list(DEFAULT_LEVEL_BOUNDS))
    n: int = 3
    kinds: list[str] = field(default_factory=lambda: ["easy", "medium", "hard"])
    count: int = 100  # drawn problem sets; prompts = count × kinds
    seed: int = 0
    reward: str = "exam"
    num_generations: int = 8  # group size G
    batch_size: int = 8  # completions per device step (TRL counts completions, not prompts)
    grad_accum: int = 1
    learning_rate: float = 1e-6
    max_steps: int = -1
    epochs: float = 1.0
    beta: float = 0.0  # KL coefficient; 0 = no reference model
    temperature: float = 1.0
    report_to: str = "none"
    logging_steps: int = 1
    save_steps: int = 50
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    grade_timeout: float = 5.0


def exam_dataset(cfg: RARLConfig):
    """``datasets.Dataset`` of {"prompt": roi-format messages, "exam": exam JSON}."""
    import datasets

    tiers = {name: load_tier(TierSpec(**spec), name) for name, spec in cfg.tiers.items()}
    exams = build_exams(
        tiers, n=cfg.n, kinds=cfg.kinds, budgets=(cfg.budget,), count=cfg.count, seed=cfg.seed
    )
    rows = [
        {"prompt": render_prompt(e, "roi", cfg.level_bounds), "exam": exam_column(e)} for e in exams
    ]
    return datasets.Dataset.from_list(rows)


def grpo_trainer(cfg: RARLConfig, model: Any = None, tokenizer: Any = None, dataset: Any = None):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    cuda = torch.cuda.is_available()
    args = GRPOConfig(
        output_dir=cfg.out,
        loss_type="dr_grpo",
        scale_rewards="none",  # Dr. GRPO: advantage = R − group mean, no std division
        beta=cfg.beta,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.budget,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        max_steps=cfg.max_steps,
        num_train_epochs=cfg.epochs,
        temperature=cfg.temperature,
        report_to=cfg.report_to,
        logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps,
        seed=cfg.seed,
        use_vllm=cfg.use_vllm,
        vllm_mode=cfg.vllm_mode,
        activation_checkpointing=cuda,  # on CPU tiny models it only costs time
        use_cpu=not cuda,
        bf16=cuda and torch.cuda.is_bf16_supported(),
    )
    tokenizer = tokenizer or AutoTokenizer.from_pretrained(cfg.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = model or AutoModelForCausalLM.from_pretrained(cfg.model)
    reward = make_reward(cfg.reward, tokenizer, bounds=cfg.level_bounds, timeout=cfg.grade_timeout)
    return GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=dataset if dataset is not None else exam_dataset(cfg),
        processing_class=tokenizer,
    )


def train(cfg: RARLConfig, resume: bool = False, **objects: Any) -> Path:
    """Run Dr. GRPO; save the policy and tokenizer to ``<out>/final``."""
    import sys

    trainer = grpo_trainer(cfg, **objects)
    acc = trainer.accelerator
    print(f"RARL: process {acc.process_index} of world size {acc.num_processes}", file=sys.stderr)
    trainer.train(resume_from_checkpoint=True if resume else None)
    final = Path(cfg.out) / "final"
    trainer.save_model(str(final))  # model + tokenizer, written by the main process only
    return final
