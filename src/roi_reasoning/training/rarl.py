"""Rationality-Aware RL (RARL), docs/design.md §1 stage 2: Dr. GRPO on whole exams with TRL.

Each prompt is an exam (N problems, its budget B_i stated in the ``roi`` format); the reward is
the paper's exam reward R = Σ_i p_i·1[correct_i ∧ predicted level_i = actual level_i ∧
predicted level_i < top] (``rewards.make_reward("exam", ...)``); the advantage is R − group mean
with no std scaling (``loss_type="dr_grpo"``, ``scale_rewards="none"``); KL off by default
(``beta=0``).

Budgets are mixed in one run: each exam gets one of ``budgets`` (seeded, balanced), generation is
capped at max(budgets) (``max_completion_length``) and ``rarl_trainer.BudgetGRPOTrainer`` cuts
every completion at its own exam's B_i before the reward and the loss, so tokens past B_i get
neither reward nor gradient while Dr. GRPO keeps its constant normaliser (max(budgets)).
``training.curve`` logs the greedy validation reward on fixed exams every ``val_every`` steps and
writes ``<out>/curve.jsonl`` (``report.plots.plot_curve`` draws it).

``RARLConfig``'s TRL settings carry ``trl.GRPOConfig``'s own field names; its ``trainer`` mapping
passes any other GRPOConfig field through, checked before anything runs (``trl_args``), except
what the method relies on: ``loss_type`` stays ``dr_grpo``, ``mask_truncated_completions`` and
``remove_unused_columns`` stay off, ``output_dir`` is ``out`` and ``max_completion_length`` is
max(budgets).

Run example: ``roi rarl train --config configs/rarl/world.yaml``
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from roi_reasoning.data import default_tiers, load_tiers
from roi_reasoning.errors import ConfigError
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import render_prompt
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam
from roi_reasoning.rewards import exam_column, make_reward

# RARLConfig: the exam, reward and validation settings are ours (``RARL_OWN``); every other
# top-level field is the ``trl.GRPOConfig`` field of the same name (our default where it differs
# from TRL's, noted); ``trainer`` passes any other GRPOConfig field through, checked when the
# config is built (``trl_args.check_trainer``). Our defaults beyond those fields, each
# overridable in ``trainer``: ``scale_rewards: none`` (Dr. GRPO: advantage = R − group mean, no
# std division; TRL: group), ``activation_checkpointing`` on with CUDA only (TRL: on; on CPU tiny
# models it only costs time), ``use_cpu`` / ``bf16`` by the device (``trl_args.device_defaults``).
RARL_OWN = (
    "model",
    "out",
    "tiers",
    "budgets",
    "level_bounds",
    "n",
    "kinds",
    "count",
    "reward",
    "grade_timeout",
    "val_every",
    "val_exams",
    "val_tiers",
    "trainer",
)
GRPO_CONTROLLED = {
    "output_dir": "it is `out`",
    "max_completion_length": "it is max(budgets); each rollout is then cut at its own budget",
}
GRPO_FIXED = {
    # rarl_trainer's budget cut is argued (and checked against TRL's source) for Dr. GRPO's
    # constant normaliser G · max_completion_length
    "loss_type": ("dr_grpo", "RARL is Dr. GRPO; the per-exam budget cut relies on its normaliser"),
    "mask_truncated_completions": (False, "a budget-cut exam keeps its (often 0) reward"),
    "remove_unused_columns": (False, "the `exam` column feeds the budget cut and the reward"),
}


# Numbers checked when the config is made (validate.check_fields), before anything runs: a
# group needs two completions to have an advantage; NaN/inf never reach TRL.
RARL_RANGES: dict[str, tuple] = {
    "n": (1, 1000),
    "count": (1, 100_000),
    "seed": (0, 2**32 - 1),
    "num_generations": (2, 4096),
    "per_device_train_batch_size": (1, 1_000_000),
    "gradient_accumulation_steps": (1, 1_000_000),
    "learning_rate": (0.0, 10.0, "above"),
    "max_steps": (-1, 100_000_000),
    "num_train_epochs": (0.0, 1e6, "above"),
    "beta": (0.0, 1e6),
    "temperature": (0.0, 100.0, "above"),
    "logging_steps": (1, 100_000_000),
    "save_steps": (1, 100_000_000),
    "grade_timeout": (0.001, 3600.0),
    "val_every": (0, 100_000_000),
    "val_exams": (1, 100_000),
}


@dataclass
class RARLConfig:
    model: str  # the MFT model folder (or any causal LM)
    out: str  # GRPOConfig.output_dir: checkpoints, logs, final/
    tiers: dict[str, dict[str, Any]] = field(default_factory=default_tiers)
    # tokens: each exam draws one (seeded, balanced); generation is capped at max(budgets)
    budgets: list[int] = field(default_factory=lambda: [512])
    level_bounds: list[int] = field(default_factory=lambda: list(DEFAULT_LEVEL_BOUNDS))
    n: int = 3
    kinds: list[str] = field(default_factory=lambda: ["easy", "medium", "hard"])
    count: int = 100  # drawn problem sets; prompts = count × kinds
    seed: int = 0  # exam draws and training; TRL: 42
    reward: str = "exam"
    num_generations: int = 8  # group size G
    # completions per device step (TRL counts completions, not prompts); also the generation
    # batch of the greedy validation
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-6
    max_steps: int = -1
    num_train_epochs: float = 1.0  # TRL: 3
    beta: float = 0.0  # KL coefficient; 0 = no reference model
    temperature: float = 1.0
    report_to: str | list[str] = "none"
    logging_steps: int = 1  # TRL: 10
    save_steps: int = 50  # TRL: 500
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    grade_timeout: float = 5.0
    val_every: int = 0  # optimizer steps between greedy validations; 0 = no validation
    val_exams: int = 8  # validation problem sets; each is laid out as every kind × budget
    # validation problems: a held-out split; None = other draws (seed + 1) from ``tiers``
    val_tiers: dict[str, dict[str, Any]] | None = None
    trainer: dict[str, Any] = field(default_factory=dict)  # any other GRPOConfig field

    def __post_init__(self) -> None:
        from roi_reasoning.training.trl_args import check_trainer
        from roi_reasoning.validate import check_fields

        check_fields(self, RARL_RANGES)
        # the per-exam budgets (tokens): at least one, positive, distinct
        budgets = self.budgets
        if not budgets or any(int(b) <= 0 for b in budgets) or len(set(budgets)) != len(budgets):
            raise ConfigError("budgets", f"must be distinct positive token counts, got {budgets}")
        if self.max_steps == 0:
            raise ConfigError("max_steps", "must be -1 (epochs decide) or >= 1")
        check_trainer(
            "GRPOConfig",
            self.trainer,
            ours=[f.name for f in fields(self)],
            controlled=GRPO_CONTROLLED,
            fixed=GRPO_FIXED,
        )


def training_exams(cfg: RARLConfig) -> list[Exam]:
    """``count`` × ``kinds`` exams, each with one of ``budgets``: a seeded shuffle of the budgets
    cycled over the exams, so every budget gets an equal share (±1)."""
    budgets = [int(b) for b in cfg.budgets]
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
        budgets=list(cfg.budgets),
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


def grpo_args(cfg: RARLConfig) -> dict[str, Any]:
    """``GRPOConfig`` keyword arguments: our defaults, then ``trainer``, then the top-level TRL
    fields and the ones roi controls (``GRPO_CONTROLLED``, ``GRPO_FIXED``)."""
    import torch

    from roi_reasoning.training.trl_args import checkpointing_args, device_defaults

    defaults = {
        "scale_rewards": "none",  # Dr. GRPO: advantage = R − group mean, no std division
        "activation_checkpointing": torch.cuda.is_available(),  # on CPU it only costs time
        **device_defaults(cfg.trainer),
    }
    top = {k: v for k, v in asdict(cfg).items() if k not in RARL_OWN}
    args = {
        **defaults,
        **cfg.trainer,
        **top,
        "output_dir": cfg.out,
        "loss_type": "dr_grpo",  # loss / (G · max_completion_length): a constant normaliser
        "max_completion_length": max(cfg.budgets),  # then cut at each B_i
        "mask_truncated_completions": False,  # a budget-cut exam keeps its (often 0) reward
        "remove_unused_columns": False,  # the reward and the cut read the `exam` column
    }
    return checkpointing_args(args)  # activation_checkpointing under this transformers' name


def grpo_trainer(cfg: RARLConfig, model: Any = None, tokenizer: Any = None, dataset: Any = None):
    """A ``BudgetGRPOTrainer`` (Dr. GRPO, per-exam budget cut) with the curve/validation callback."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    from roi_reasoning.parsing import register_eos
    from roi_reasoning.training.curve import CurveCallback
    from roi_reasoning.training.rarl_trainer import BudgetGRPOTrainer
    from roi_reasoning.training.trl_args import model_kwargs

    args = GRPOConfig(**grpo_args(cfg))
    load = model_kwargs(cfg.trainer)  # TRL also builds the reference model (beta > 0) with them
    trust = load.get("trust_remote_code", False)
    tokenizer = tokenizer or AutoTokenizer.from_pretrained(cfg.model, trust_remote_code=trust)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = model or AutoModelForCausalLM.from_pretrained(cfg.model, **load)  # fp32 by default
    # the reward measures completions with TRL's EOS set: tokenizer ∪ generation_config eos
    register_eos(tokenizer, model.generation_config)
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
            batch_size=cfg.per_device_train_batch_size,
            hardest_tier=next(reversed(cfg.val_tiers or cfg.tiers), None),  # order = difficulty
        )
    )
    return trainer


def train(cfg: RARLConfig, resume: bool = False, **objects: Any) -> Path:
    """Run Dr. GRPO; save the policy and tokenizer to ``<out>/final`` (crash-safe:
    ``checkpoints``). ``resume``: from the newest complete checkpoint."""
    import sys

    from roi_reasoning.training.checkpoints import train_to_final

    trainer = grpo_trainer(cfg, **objects)
    acc = trainer.accelerator
    print(f"RARL: process {acc.process_index} of world size {acc.num_processes}", file=sys.stderr)
    return train_to_final(
        trainer,
        cfg.out,
        "rarl",
        resume,
        lambda: acc.unwrap_model(trainer.model),
        # model + tokenizer; every rank takes part (sharded weights are gathered), one writes
        lambda _model, folder: trainer.save_model(str(folder)),
    )
