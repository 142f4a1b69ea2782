"""Meta-Cognitive Fine-Tuning (MFT), DESIGN.md §1 stage 1: data builder and TRL SFT run.

Targets come from the model's own profiled samples (``roi profile``): per problem, the shortest
correct sample, tagged with the level of its own length ("tag alignment"); if no sample is
correct, or the shortest correct one is above the top bound, the refusal
``<predicted_level>Level-3</predicted_level> \\boxed{NA}`` ("refusal learning"). First single
problems, then multi-problem exams whose targets are the per-problem targets in order, a problem
turned into a refusal when its target would overflow the budget left. Levels are measured on
the composed completion with the policy's tokenizer, exactly as the reward measures them.

Run example: ``roi mft build --profile runs/profile.jsonl --tokenizer runs/world/base --out runs/mft-data``
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from roi_reasoning.data import DEFAULT_TIERS, TierSpec, load_tier
from roi_reasoning.evaluate import read_samples
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import HEADER_RE, refusal, render_prompt, render_tag
from roi_reasoning.parsing import split_segments
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam, actual_level


@dataclass
class MFTBuildConfig:
    profile: str  # JSONL from `roi profile`
    tokenizer: str  # the policy's tokenizer (model folder / hub id): levels are in its tokens
    out: str  # output folder (datasets.save_to_disk) + stats.json
    tiers: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {k: vars(v) for k, v in DEFAULT_TIERS.items()}
    )
    level_bounds: list[int] = field(default_factory=lambda: list(DEFAULT_LEVEL_BOUNDS))
    budgets: list[int] = field(default_factory=lambda: [512, 1024])  # drawn per example
    exams: int = 200  # multi-problem exams (groups × paper kinds)
    n: int = 3  # problems per exam
    max_na_share: float = 0.5  # cap on refusal share among single-problem targets
    seed: int = 0


def solution_body(text: str) -> str:
    """A single-problem sample's own solution: its first segment minus the header line."""
    segs = split_segments(text, [], 1, truncated=False)
    body = text[segs[0].start : segs[0].end] if segs else text
    m = HEADER_RE.match(body)
    return (body[m.end() :] if m else body).strip()


def shortest_correct(samples: Sequence[dict[str, Any]], bounds: Sequence[int]) -> dict | None:
    """The shortest correct sample within the top bound, else None (→ refusal)."""
    right = sorted((s for s in samples if s["correct"]), key=lambda s: (s["tokens"], s["sample"]))
    return right[0] if right and right[0]["tokens"] <= bounds[-1] else None


class _Composer:
    """Builds tagged completions and measures them with the policy's tokenizer."""

    def __init__(self, tokenizer: Any, bounds: Sequence[int]) -> None:
        self.tok, self.bounds = tokenizer, list(bounds)

    def tokens(self, text: str) -> list[int]:
        enc = self.tok(text, add_special_tokens=False, return_offsets_mapping=True)
        return [s for s, _ in enc["offset_mapping"]]

    def compose(self, bodies: Sequence[str | None], budget: int) -> tuple[str, list[int | None]]:
        """Completion text and per-problem levels; None bodies and overflowing ones refuse."""
        parts: list[str] = []
        levels: list[int | None] = []
        for i, body in enumerate(bodies):
            header = f"## Problem {i + 1}\n"
            seg = None
            if body is not None:
                seg = self._aligned(header, body, "".join(parts), i)
                total = len(self.tokens("".join(parts) + seg)) + 1  # + end-of-sequence token
                if total > budget:
                    seg = None
            if seg is None:
                seg, level = header + refusal(self.bounds) + "\n", len(self.bounds)
            else:
                level = self._level_of(seg, "".join(parts), i)
            parts.append(seg)
            levels.append(level)
        return "".join(parts), levels

    def _level_of(self, seg: str, prefix: str, index: int) -> int:
        text = prefix + seg
        segs = split_segments(
            text, self.tokens(text), index + 1, truncated=False, bounds=self.bounds
        )
        return actual_level(segs[-1].tokens, self.bounds)

    def _aligned(self, header: str, body: str, prefix: str, index: int) -> str:
        """Tag the body with the level of the tagged segment's own length (fixed point)."""
        level = 0
        for _ in range(4):
            seg = f"{header}{render_tag(level)} {body}\n"
            measured = self._level_of(seg, prefix, index)
            if measured == level:
                return seg
            level = measured
        return seg


def _targets(cfg: MFTBuildConfig) -> dict[str, str | None]:
    """problem id → solution body of its shortest correct sample, or None (refusal)."""
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in read_samples(Path(cfg.profile)):
        by_problem[row["problem_id"]].append(row)
    out = {}
    for pid, samples in by_problem.items():
        best = shortest_correct(samples, cfg.level_bounds)
        out[pid] = solution_body(best["text"]) if best else None
    return out


def _row(exam: Exam, text: str, levels: list[int | None], bounds) -> dict[str, Any]:
    return {
        "prompt": render_prompt(exam, "roi", bounds),
        "completion": [{"role": "assistant", "content": text}],
        "levels": levels,
        "ids": [p.id for p in exam.problems],
        "n": len(exam.problems),
    }


def build_rows(cfg: MFTBuildConfig, tokenizer: Any) -> list[dict[str, Any]]:
    """Single-problem rows (NA share capped) then multi-problem exam rows."""
    rng = random.Random(cfg.seed)
    targets = _targets(cfg)
    tiers = {
        name: [p for p in load_tier(TierSpec(**spec), name) if p.id in targets]
        for name, spec in cfg.tiers.items()
    }
    composer = _Composer(tokenizer, cfg.level_bounds)
    singles, refusals = [], []
    for problems in tiers.values():
        for p in problems:
            budget = rng.choice(cfg.budgets)
            exam = Exam(f"mft-{p.id}", p.id, "single", budget, (p,))
            text, levels = composer.compose([targets[p.id]], budget)
            (refusals if levels[0] == len(cfg.level_bounds) else singles).append(
                _row(exam, text, levels, cfg.level_bounds)
            )
    cap = (
        int(cfg.max_na_share / (1 - cfg.max_na_share) * len(singles))
        if cfg.max_na_share < 1
        else len(refusals)
    )
    rng.shuffle(refusals)
    rows = singles + refusals[:cap]
    if cfg.exams > 0 and all(tiers.values()):
        groups = max(1, cfg.exams // 3)
        for exam in build_exams(tiers, n=cfg.n, budgets=cfg.budgets, count=groups, seed=cfg.seed)[
            : cfg.exams
        ]:
            text, levels = composer.compose([targets[p.id] for p in exam.problems], exam.budget)
            rows.append(_row(exam, text, levels, cfg.level_bounds))
    return rows


def stats(rows: Sequence[dict[str, Any]], bounds: Sequence[int]) -> dict[str, Any]:
    hist = [0] * (len(bounds) + 1)
    for r in rows:
        for level in r["levels"]:
            hist[level] += 1
    total = sum(hist)
    return {
        "rows": len(rows),
        "single_rows": sum(r["n"] == 1 for r in rows),
        "exam_rows": sum(r["n"] > 1 for r in rows),
        "level_histogram": hist,
        "na_share": hist[-1] / total if total else 0.0,
    }


def build_dataset(cfg: MFTBuildConfig, tokenizer: Any = None) -> dict[str, Any]:
    """Write the MFT dataset (TRL conversational prompt/completion) and ``stats.json``."""
    import datasets
    from transformers import AutoTokenizer

    tokenizer = tokenizer or AutoTokenizer.from_pretrained(cfg.tokenizer)
    rows = build_rows(cfg, tokenizer)
    if not rows:
        raise ValueError(f"{cfg.profile}: no profiled problem matches the configured tiers")
    out = Path(cfg.out)
    ds = datasets.Dataset.from_list(
        [{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]
    )
    ds.save_to_disk(str(out / "dataset"))
    summary = {"config": asdict(cfg), **stats(rows, cfg.level_bounds)}
    (out / "stats.json").write_text(json.dumps(summary, indent=2))
    return summary


@dataclass
class MFTTrainConfig:
    model: str  # base model folder / hub id
    dataset: str  # folder written by `roi mft build` (its dataset/ subfolder is read)
    out: str  # checkpoints + final/ (a plain model folder, LoRA merged)
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    learning_rate: float = 1e-4
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 8
    grad_accum: int = 1
    max_length: int = 2048  # tokens, prompt + completion
    seed: int = 0
    report_to: str = "none"  # tensorboard / wandb
    logging_steps: int = 10
    save_steps: int = 200
    activation_checkpointing: bool = False


def sft_trainer(cfg: MFTTrainConfig, model: Any = None, tokenizer: Any = None, dataset: Any = None):
    """A TRL ``SFTTrainer`` with loss on completion tokens only (prompt/completion data)."""
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    cuda = torch.cuda.is_available()
    args = SFTConfig(
        output_dir=cfg.out,
        completion_only_loss=True,  # the loss mask covers tags, solutions and NA, never the prompt
        max_length=cfg.max_length,
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        activation_checkpointing=cfg.activation_checkpointing,  # saves memory, costs compute
        seed=cfg.seed,
        report_to=cfg.report_to,
        logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps,
        use_cpu=not cuda,
        bf16=cuda and torch.cuda.is_bf16_supported(),
    )
    tokenizer = tokenizer or AutoTokenizer.from_pretrained(cfg.model)
    model = model or AutoModelForCausalLM.from_pretrained(cfg.model)
    dataset = dataset or datasets.load_from_disk(str(Path(cfg.dataset) / "dataset"))
    peft_config = None
    if cfg.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
    )


def train(cfg: MFTTrainConfig, resume: bool = False, **objects: Any) -> Path:
    """Run SFT; save a plain model folder (LoRA merged) with its tokenizer to ``<out>/final``."""
    trainer = sft_trainer(cfg, **objects)
    trainer.train(resume_from_checkpoint=True if resume else None)
    model = trainer.model
    if cfg.lora:
        model = model.merge_and_unload()
    final = Path(cfg.out) / "final"
    if trainer.is_world_process_zero():  # one writer under multi-process launches
        model.save_pretrained(final)
        trainer.processing_class.save_pretrained(final)
    return final
