"""Rationality-Aware RL (RARL), DESIGN.md §1 stage 2: Dr. GRPO on whole exams with TRL.

Each prompt is an exam (N problems, its budget B_i stated in the ``roi`` format); the reward is
the paper's exam reward R = Σ_i p_i·1[correct_i ∧ predicted level_i = actual level_i]
(``rewards.make_reward("exam", ...)``); the advantage is R − group mean with no std scaling
(``loss_type="dr_grpo"``, ``scale_rewards="none"``); KL off by default (``beta=0``).

Budgets are mixed in one run: each exam gets one of ``budgets`` (seeded, balanced), generation is
capped at max(budgets) (``max_completion_length``) and ``rarl_trainer.BudgetGRPOTrainer`` cuts
every completion at its own exam's B_i before the reward and the loss, so tokens past B_i get
neither reward nor gradient while Dr. GRPO keeps its constant normaliser (max(budgets)).
``rarl_curve`` logs the held-out greedy validation reward every ``val_every`` steps and writes
``<out>/curve.jsonl`` (``plots.plot_curve`` draws it).

Run example: ``roi rarl train --config configs/rarl/world.yaml``
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roi_reasoning.data import default_tiers, load_tiers
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import render_prompt
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam
from roi_reasoning.rewards import exam_column, make_reward


@dataclass
class RARLConfig:
    model: str  # the MFT model folder (or any causal LM)
    out: str  # checkpoints, logs, final/
    tiers: dict[str, dict[str, Any]] = field(default_factory=default_tiers)
    # tokens: each exam draws one (seeded, balanced); generation is capped at max(budgets)
    budgets: list[int] = field(default_factory=lambda: [512])
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
    val_every: int = 0  # optimizer steps between greedy validations; 0 = no validation
    val_exams: int = 8  # validation problem sets; each is laid out as every kind × budget
    # validation problems: a held-out split; None = other draws (seed + 1) from ``tiers``
    val_tiers: dict[str, dict[str, Any]] | None = None


def check_budgets(budgets: list[int]) -> list[int]:
    """The per-exam budgets (tokens), validated: at least one, positive, distinct."""
    if not budgets or any(int(b) <= 0 for b in budgets) or len(set(budgets)) != len(budgets):
        raise ValueError(f"budgets must be distinct positive token counts, got {budgets}")
    return [int(b) for b in budgets]


def training_exams(cfg: RARLConfig) -> list[Exam]:
    """``count`` × ``kinds`` exams, each with one of ``budgets``: a seeded shuffle of the budgets
    cycled over the exams, so every budget gets an equal share (±1)."""
    budgets = check_budgets(cfg.budgets)
    crossed = build_exams(
        load_tiers(cfg.tiers),
        n=cfg.n,
        kinds=cfg.kinds,
        budgets=budgets,
        count=cfg.count,
        seed=cfg.seed,
    )
    by_key = {(e.group, e.kind, e.budget): e for e in crossed}
    slots = list(dict.fromkeys((e.group, e.kind) for e in crossed))  # build order, no budget
    drawn = [budgets[i % len(budgets)] for i in range(len(slots))]
    random.Random(f"{cfg.seed}:budgets").shuffle(drawn)
    return [by_key[(g, k, b)] for (g, k), b in zip(slots, drawn, strict=True)]


def validation_exams(cfg: RARLConfig) -> list[Exam]:
    """Fixed validation exams: ``val_exams`` problem sets from ``val_tiers`` (a held-out split;
    without one, other draws from the training tiers: seed + 1, problems may repeat), each laid
    out at every kind and every budget, so the per-budget rewards compare the same problems."""
    return build_exams(
        load_tiers(cfg.val_tiers or cfg.tiers),
        n=cfg.n,
        kinds=cfg.kinds,
        budgets=check_budgets(cfg.budgets),
        count=cfg.val_exams,
        seed=cfg.seed + 1,
    )


def exam_dataset(cfg: RARLConfig):
    """``datasets.Dataset`` of {"prompt": roi-format messages, "exam": exam JSON}."""
    import datasets

    rows = [
        {"prompt": render_prompt(e, "roi", cfg.level_bounds), "exam": exam_column(e)}
        for e in training_exams(cfg)
    ]
    return datasets.Dataset.from_list(rows)


def grpo_trainer(cfg: RARLConfig, model: Any = None, tokenizer: Any = None, dataset: Any = None):
    """A ``BudgetGRPOTrainer`` (Dr. GRPO, per-exam budget cut) with the curve/validation callback."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    from roi_reasoning.rarl_curve import CurveCallback
    from roi_reasoning.rarl_trainer import BudgetGRPOTrainer

    cuda = torch.cuda.is_available()
    args = GRPOConfig(
        output_dir=cfg.out,
        loss_type="dr_grpo",  # loss / (G · max_completion_length): a constant normaliser
        scale_rewards="none",  # Dr. GRPO: advantage = R − group mean, no std division
        beta=cfg.beta,
        num_generations=cfg.num_generations,
        max_completion_length=max(check_budgets(cfg.budgets)),  # then cut at each B_i
        mask_truncated_completions=False,  # a budget-cut exam keeps its (often 0) reward
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
    trainer = BudgetGRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=dataset if dataset is not None else exam_dataset(cfg),
        processing_class=tokenizer,
    )
    exams = validation_exams(cfg) if cfg.val_every else []
    trainer.add_callback(
        CurveCallback(
            trainer,
            exams,
            cfg.val_every,
            bounds=cfg.level_bounds,
            reward=cfg.reward,
            timeout=cfg.grade_timeout,
            batch_size=cfg.batch_size,
        )
    )
    return trainer


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
