"""Meta-Cognitive Fine-Tuning (MFT), DESIGN.md §1 stage 1: data builder and TRL SFT run.

Targets come from the model's own profiled samples (``roi profile``): per problem, the shortest
correct sample, tagged with the level of its own length ("tag alignment"); if no sample is
correct, or the shortest correct one is above the top bound, the refusal
``<predicted_level>Level-3</predicted_level> \\boxed{NA}`` ("refusal learning"). First single
problems, then multi-problem exams whose targets are the per-problem targets in order, a problem
turned into a refusal unless it, the refusals after it and EOS fit the budget. Levels are
measured on the whole composed completion with the policy's tokenizer and EOS, exactly as the
reward measures them (``parsing.text_completion``), and a solution whose aligned level reaches
the skip level becomes the refusal — so the RARL reward pays every non-refused target problem
(``targets.jsonl`` beside the dataset lists each row's exam, levels and completion).

The SFT run (``MFTTrainConfig``, ``train``): the recipe's TRL settings carry ``trl.SFTConfig``'s
own field names, and its ``trainer`` mapping passes any other SFTConfig field through, checked
before anything runs (``trl_args``); the loss covers the completion only.

Run example: ``roi mft build --profile runs/profile.jsonl --tokenizer runs/world/base --out runs/mft-data``
(then ``roi mft train --config configs/mft/world.yaml``)
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from roi_reasoning.data import DataError, default_tiers, load_tiers
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import HEADER_RE, leading_tag_match, refusal, render_prompt, render_tag
from roi_reasoning.parsing import split_segments, text_completion
from roi_reasoning.profiles import load_profile_rows
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam, actual_level


@dataclass
class MFTBuildConfig:
    profile: str  # JSONL from `roi profile`
    tokenizer: str  # the policy's tokenizer (model folder / hub id): levels are in its tokens
    out: str  # output folder (datasets.save_to_disk) + stats.json
    tiers: dict[str, dict[str, Any]] = field(default_factory=default_tiers)
    level_bounds: list[int] = field(default_factory=lambda: list(DEFAULT_LEVEL_BOUNDS))
    budgets: list[int] = field(default_factory=lambda: [512, 1024])  # drawn per example
    exams: int = 200  # multi-problem exams (groups × paper kinds)
    n: int = 3  # problems per exam
    max_na_share: float = 0.5  # cap on refusal share among single-problem targets
    seed: int = 0


def solution_body(text: str) -> str:
    """A single-problem sample's own solution: problem 1's segment without its header proper and
    any tag the sample wrote after it. The rest of the header line is kept: a sample may answer
    right there (``## Problem 1: 2 + 3 = 5, so \\boxed{5}``)."""
    segs = split_segments(text, [], 1, truncated=False)
    body = text[segs[0].start : segs[0].end] if segs else text
    m = HEADER_RE.search(body)
    if m is not None:
        body = body[: m.start()] + body[m.end() :].lstrip(" \t")
    body = body.strip()
    tag = leading_tag_match(body)
    return body[tag.end() :].strip() if tag else body


def shortest_correct(samples: Sequence[dict[str, Any]], bounds: Sequence[int]) -> dict | None:
    """The shortest correct sample within the top bound, else None (→ refusal)."""
    right = sorted((s for s in samples if s["correct"]), key=lambda s: (s["tokens"], s["sample"]))
    return right[0] if right and right[0]["tokens"] <= bounds[-1] else None


class _Composer:
    """Builds tagged completions and measures them as the reward does: the policy's tokens with
    EOS (``parsing.text_completion``), segmented by ``parsing.split_segments``."""

    def __init__(self, tokenizer: Any, bounds: Sequence[int]) -> None:
        self.tok, self.bounds, self.top = tokenizer, list(bounds), len(bounds)

    def render(self, bodies: Sequence[str | None], levels: Sequence[int]) -> str:
        parts = []
        for i, (body, level) in enumerate(zip(bodies, levels, strict=True)):
            answer = refusal(self.bounds) if body is None else f"{render_tag(level)} {body}"
            parts.append(f"## Problem {i + 1}\n{answer}\n")
        return "".join(parts)

    def measure(self, text: str, n: int) -> tuple[int, list[int]]:
        """(generated tokens with EOS, actual level of each problem's segment)."""
        comp = text_completion(self.tok, text)
        segs = split_segments(comp.text, comp.token_starts, n, truncated=False, bounds=self.bounds)
        levels = [self.top] * n
        for seg in segs:
            levels[seg.index] = actual_level(seg.tokens, self.bounds)
        return comp.tokens, levels

    def align(self, bodies: Sequence[str | None]) -> tuple[str, list[int], int] | None:
        """Tags equal to the measured levels of the whole composed text (a fixed point: a tag's
        own tokens count), or None when it does not settle. Returns (text, levels, tokens)."""
        levels = [0 if b is not None else self.top for b in bodies]
        for _ in range(6):
            text = self.render(bodies, levels)
            tokens, measured = self.measure(text, len(bodies))
            new = [m if b is not None else self.top for b, m in zip(bodies, measured, strict=True)]
            if new == levels:
                return text, levels, tokens
            levels = new
        return None

    def compose(self, bodies: Sequence[str | None], budget: int) -> tuple[str, list[int]] | None:
        """The target for one exam: in order, a problem keeps its solution only if it stays below
        the skip level and it, the refusals after it and EOS fit the budget; else it refuses.
        None when not even the refusals fit."""
        chosen: list[str | None] = [None] * len(bodies)
        accepted = None  # the alignment of ``chosen`` as last accepted
        for i, body in enumerate(bodies):
            if body is None:
                continue
            trial = chosen[:i] + [body] + chosen[i + 1 :]
            aligned = self.align(trial)
            if aligned and aligned[1][i] < self.top and aligned[2] <= budget:
                chosen, accepted = trial, aligned
        aligned = accepted or self.align(chosen)
        while True:  # tokenization at segment boundaries can shift a count: verify the whole
            kept = [i for i, b in enumerate(chosen) if b is not None]
            fits = aligned is not None and aligned[2] <= budget
            if fits and all(aligned[1][i] < self.top for i in kept):
                return aligned[0], aligned[1]
            if not kept:
                return None
            chosen[kept[-1]] = None
            aligned = self.align(chosen)


def _targets(cfg: MFTBuildConfig) -> dict[str, str | None]:
    """problem id → solution body of its shortest correct sample, or None (refusal)."""
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in load_profile_rows(cfg.profile, full=True):
        by_problem[row["problem_id"]].append(row)
    out = {}
    for pid, samples in by_problem.items():
        best = shortest_correct(samples, cfg.level_bounds)
        out[pid] = solution_body(best["text"]) if best else None
    return out


def _row(exam: Exam, text: str, levels: list[int], bounds) -> dict[str, Any]:
    return {
        "prompt": render_prompt(exam, "roi", bounds),
        "completion": [{"role": "assistant", "content": text}],
        "levels": levels,
        "ids": [p.id for p in exam.problems],
        "n": len(exam.problems),
        "exam": exam.to_dict(),
    }


def build_rows(cfg: MFTBuildConfig, tokenizer: Any) -> list[dict[str, Any]]:
    """Single-problem rows (NA share capped) then multi-problem exam rows. An exam whose
    refusals alone overflow its budget gets no row."""
    rng = random.Random(cfg.seed)
    targets = _targets(cfg)
    tiers = {
        name: [p for p in problems if p.id in targets]
        for name, problems in load_tiers(cfg.tiers).items()
    }
    composer = _Composer(tokenizer, cfg.level_bounds)
    top = len(cfg.level_bounds)
    singles, refusals = [], []
    for problems in tiers.values():
        for p in problems:
            budget = rng.choice(cfg.budgets)
            exam = Exam(f"mft-{p.id}", p.id, "single", budget, (p,))
            composed = composer.compose([targets[p.id]], budget)
            if composed is not None:
                row = _row(exam, *composed, cfg.level_bounds)
                (refusals if composed[1][0] == top else singles).append(row)
    cap = (
        int(cfg.max_na_share / (1 - cfg.max_na_share) * len(singles))
        if cfg.max_na_share < 1
        else len(refusals)
    )
    rng.shuffle(refusals)
    rows = singles + refusals[:cap]
    if cfg.exams > 0 and all(tiers.values()):
        groups = max(1, -(-cfg.exams // 3))
        exams = build_exams(tiers, n=cfg.n, budgets=cfg.budgets, count=groups, seed=cfg.seed)
        for exam in exams[: cfg.exams]:
            composed = composer.compose([targets[p.id] for p in exam.problems], exam.budget)
            if composed is not None:
                rows.append(_row(exam, *composed, cfg.level_bounds))
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
        raise DataError(cfg.profile, None, "no profiled problem matches the configured tiers")
    out = Path(cfg.out)
    ds = datasets.Dataset.from_list(
        [{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]
    )
    ds.save_to_disk(str(out / "dataset"))
    with open(out / "targets.jsonl", "w", encoding="utf-8") as fh:  # what each row teaches
        for r in rows:
            text = r["completion"][0]["content"]
            fh.write(json.dumps({"exam": r["exam"], "levels": r["levels"], "completion": text}))
            fh.write("\n")
    summary = {"config": asdict(cfg), **stats(rows, cfg.level_bounds)}
    (out / "stats.json").write_text(json.dumps(summary, indent=2))
    return summary


# MFTTrainConfig: ``model``, ``dataset``, ``out`` and the LoRA settings are ours; every other
# top-level field is the ``trl.SFTConfig`` field of the same name (our default where it differs
# from TRL's, noted); ``trainer`` passes any other SFTConfig field through (``trl_args``).
MFT_OWN = ("model", "dataset", "out", "lora", "lora_r", "lora_alpha", "trainer")
SFT_CONTROLLED = {"output_dir": "it is `out`"}
SFT_FIXED = {"completion_only_loss": (True, "MFT learns the completion only, never the prompt")}


@dataclass
class MFTTrainConfig:
    model: str  # base model folder / hub id
    dataset: str  # folder written by `roi mft build` (its dataset/ subfolder is read)
    out: str  # SFTConfig.output_dir: checkpoints + final/ (a plain model folder, LoRA merged)
    lora: bool = False  # PEFT LoRA on all linear layers, merged into final/
    lora_r: int = 16
    lora_alpha: int = 32
    learning_rate: float = 1e-4  # TRL: 2e-5
    num_train_epochs: float = 1.0  # TRL: 3
    max_steps: int = -1
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    max_length: int = 2048  # tokens, prompt + completion; TRL: 1024
    seed: int = 0  # TRL: 42
    report_to: str | list[str] = "none"  # tensorboard / wandb
    logging_steps: int = 10
    save_steps: int = 200  # TRL: 500
    # TRL's SFTConfig turns it on (gradient_checkpointing=True); on CPU tiny models it only costs
    # time, so ours is off: recipes for large models turn it on.
    activation_checkpointing: bool = False
    trainer: dict[str, Any] = field(default_factory=dict)  # any other SFTConfig field

    def __post_init__(self) -> None:
        from roi_reasoning.trl_args import check_trainer

        check_trainer(
            "SFTConfig",
            self.trainer,
            ours=[f.name for f in fields(self)],
            controlled=SFT_CONTROLLED,
            fixed=SFT_FIXED,
        )


def sft_args(cfg: MFTTrainConfig) -> dict[str, Any]:
    """``SFTConfig`` keyword arguments: our device defaults, then ``trainer``, then the top-level
    TRL fields and the ones roi controls."""
    from roi_reasoning.trl_args import checkpointing_args, device_defaults

    top = {k: v for k, v in asdict(cfg).items() if k not in MFT_OWN}
    passed = {k: v for k, v in cfg.trainer.items() if k != "model_init_kwargs"}  # applied by us
    args = {
        **device_defaults(cfg.trainer),
        **passed,
        **top,
        "output_dir": cfg.out,
        "completion_only_loss": True,  # the loss mask covers tags, solutions and NA, never the prompt
    }
    return checkpointing_args(args)  # activation_checkpointing under this transformers' name


def sft_trainer(cfg: MFTTrainConfig, model: Any = None, tokenizer: Any = None, dataset: Any = None):
    """A TRL ``SFTTrainer`` with loss on completion tokens only (prompt/completion data)."""
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from roi_reasoning.trl_args import model_kwargs

    args = SFTConfig(**sft_args(cfg))
    load = model_kwargs(cfg.trainer)
    trust = load.get("trust_remote_code", False)
    tokenizer = tokenizer or AutoTokenizer.from_pretrained(cfg.model, trust_remote_code=trust)
    model = model or AutoModelForCausalLM.from_pretrained(cfg.model, **load)  # fp32 by default
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
