"""Meta-Cognitive Fine-Tuning (MFT) data, docs/design.md §1 stage 1: the targets and the SFT dataset.

Targets come from the model's own profiled samples (``roi profile``): per problem, the shortest
correct sample, tagged with the level of its own length ("tag alignment"); if no sample is
correct, or the shortest correct one is above the top bound, the refusal
``<predicted_level>Level-3</predicted_level> \\boxed{NA}`` ("refusal learning"). First single
problems, then multi-problem exams. Levels are measured on the whole composed completion with
the policy's tokenizer and EOS, exactly as the reward measures them (``parsing.text_completion``),
and a solution whose aligned level reaches the skip level becomes the refusal. An exam's target:

- the paper's MFT (default): the per-problem targets in order, the budget stated in the prompt,
  the completion cut at the exam's budget B as generation would be (``_Composer.cut``): the
  budget never turns a solution into a refusal, so when to abstain under B is left to RARL;
- ours (``budget_targets: true``, ``_Composer.compose``): in order, a problem keeps its solution
  only if it, the refusals after it and EOS fit B — an allocation made with hindsight of each
  sample's cost and outcome, so MFT already takes RARL's decisions.

``targets.jsonl`` beside the dataset lists each row's exam, tag levels, ``paid`` (which problems
the RARL reward pays: an answer that survives the cut with its tag's level) and completion.

The dataset is tokenized here (``input_ids`` + ``completion_mask``, as TRL's ``SFTTrainer`` takes
a processed dataset): the prompt through the policy's chat template, the completion learned, the
template's end of turn too unless the target was cut at its budget (generation never writes
it there). ``mft.train`` runs SFT on it.

Run example: ``roi mft build --profile runs/demo/profile.jsonl --tokenizer runs/demo/world --out runs/demo/mft-data``
(then ``roi mft train --config configs/mft/world.yaml``, ``training/mft.py``)
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from roi_reasoning import runfolder
from roi_reasoning.data import default_tiers, load_tiers
from roi_reasoning.errors import DataError
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
    # tokens: one drawn per single-problem row; exam rows are drawn at every budget
    budgets: list[int] = field(default_factory=lambda: [512, 1024])
    exams: int = 200  # multi-problem exam rows at most (papers of every kind and budget)
    n: int = 3  # problems per exam
    max_na_share: float = 0.5  # cap on refusal share among single-problem targets
    # False (the paper's MFT): each problem's own target in order, cut at the budget; the budget
    # never turns a solution into a refusal, so allocation is left to RARL. True (ours): a
    # problem keeps its solution only if it, the refusals after it and EOS fit the budget — an
    # allocation made with hindsight of the sample's cost and outcome.
    budget_targets: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        """Types and ranges of every setting; ConfigError names the key. Reads no file."""
        from roi_reasoning.data import check_tiers
        from roi_reasoning.validate import MAX_BUDGET, check_fields, int_list

        check_fields(
            self,
            {
                "budgets": (1, 1_000_000),
                "exams": (0, 1_000_000),  # 0: single-problem targets only
                "n": (1, 1000),
                "max_na_share": (0.0, 1.0),
                "seed": (0, 2**32 - 1),
            },
        )
        int_list(self.level_bounds, "level_bounds", 1, MAX_BUDGET, ascending=True)
        int_list(self.budgets, "budgets", 1, MAX_BUDGET)
        check_tiers(self.tiers)


def check_inputs(cfg: MFTBuildConfig) -> None:
    """What ``build_dataset`` reads and writes, checked before it writes: the profile's rows
    (typed, read-only) and the output folder."""
    from roi_reasoning.profiles import load_profile_rows
    from roi_reasoning.validate import check_in_file, check_out_dir

    check_out_dir(cfg.out, (runfolder.MFT_STATS,))
    load_profile_rows(check_in_file(cfg.profile), full=True)


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


Target = tuple[str, list[int], list[bool]]  # completion text, tag level per problem, paid


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

    def cut(self, bodies: Sequence[str | None], budget: int) -> Target | None:
        """The paper's target for one exam: every problem's own target (tag + solution, or the
        refusal) in order, then cut at ``budget`` tokens as generation would be
        (``parsing.text_completion``: EOS counted). Returns (text, tag levels, paid): a problem
        is paid when its answer survives the cut with its tag's level, as the reward decides."""
        bodies = list(bodies)
        while True:  # a solution whose aligned level reaches the skip level becomes the refusal
            aligned = self.align(bodies)
            if aligned is None:  # tags that never settle (a tokenizer edge case): no target
                return None
            text, levels = aligned[0], aligned[1]
            over = [i for i, b in enumerate(bodies) if b is not None and levels[i] == self.top]
            if not over:
                break
            bodies[over[0]] = None
        comp = text_completion(self.tok, text, budget)
        segs = split_segments(
            comp.text, comp.token_starts, len(bodies), truncated=comp.truncated, bounds=self.bounds
        )
        paid = [False] * len(bodies)
        for seg in segs:
            level = levels[seg.index]
            paid[seg.index] = (
                level < self.top
                and seg.answer is not None
                and actual_level(seg.tokens, self.bounds) == level
            )
        return comp.text, levels, paid

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
            if fits and aligned is not None and all(aligned[1][i] < self.top for i in kept):
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


def _row(exam: Exam, target: Target, bounds) -> dict[str, Any]:
    text, levels, paid = target
    return {
        "prompt": render_prompt(exam, "roi", bounds),
        "completion": [{"role": "assistant", "content": text}],
        "levels": levels,
        "paid": paid,
        "ids": [p.id for p in exam.problems],
        "n": len(exam.problems),
        "exam": exam.to_dict(),
    }


def _target(composer: _Composer, bodies: list[str | None], budget: int, hindsight: bool):
    """The paper's cut target, or (``hindsight``) ours: refusals where the budget runs out."""
    if not hindsight:
        return composer.cut(bodies, budget)
    composed = composer.compose(bodies, budget)
    return None if composed is None else (*composed, [lv < composer.top for lv in composed[1]])


def build_rows(cfg: MFTBuildConfig, tokenizer: Any) -> list[dict[str, Any]]:
    """Single-problem rows (NA share capped) then multi-problem exam rows. With
    ``budget_targets`` an exam whose refusals alone overflow its budget gets no row."""
    rng = random.Random(cfg.seed)
    targets = _targets(cfg)
    tiers = {
        name: [p for p in problems if p.id in targets]
        for name, problems in load_tiers(cfg.tiers).items()
    }
    composer = _Composer(tokenizer, cfg.level_bounds)
    top = len(cfg.level_bounds)
    singles: list[dict[str, Any]] = []
    refusals: list[dict[str, Any]] = []
    for problems in tiers.values():
        for p in problems:
            budget = rng.choice(cfg.budgets)
            exam = Exam(f"mft-{p.id}", p.id, "single", budget, (p,))
            target = _target(composer, [targets[p.id]], budget, cfg.budget_targets)
            if target is not None:
                row = _row(exam, target, cfg.level_bounds)
                (refusals if target[1][0] == top else singles).append(row)
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
            bodies = [targets[p.id] for p in exam.problems]
            target = _target(composer, bodies, exam.budget, cfg.budget_targets)
            if target is not None:
                rows.append(_row(exam, target, cfg.level_bounds))
    return rows


def stats(rows: Sequence[dict[str, Any]], bounds: Sequence[int]) -> dict[str, Any]:
    hist = [0] * (len(bounds) + 1)
    for r in rows:
        for level in r["levels"]:
            hist[level] += 1
    total = sum(hist)
    paid = [x for r in rows for x in r["paid"]]
    return {
        "rows": len(rows),
        "paid_share": sum(paid) / len(paid) if paid else 0.0,
        "single_rows": sum(r["n"] == 1 for r in rows),
        "exam_rows": sum(r["n"] > 1 for r in rows),
        "level_histogram": hist,
        "na_share": hist[-1] / total if total else 0.0,
    }


def tokenize_row(tokenizer: Any, prompt: list[dict], text: str, cut: bool) -> dict[str, list]:
    """``input_ids`` and ``completion_mask`` of one row, as TRL's SFT tokenizes a conversational
    prompt/completion (the chat template over prompt + completion; the completion starts where
    the prompt's own tokens stop matching). A target ``cut`` at its budget ends where generation
    stopped: the template's end of turn after it is in the sequence but not learned."""
    head = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    whole = tokenizer.apply_chat_template(
        [*prompt, {"role": "assistant", "content": text}], tokenize=False
    )
    if not whole.startswith(head + text):
        raise DataError("chat template", None, "it does not render the completion verbatim")
    enc = tokenizer(whole, add_special_tokens=False, return_offsets_mapping=True)
    ids, starts = enc["input_ids"], [begin for begin, _ in enc["offset_mapping"]]
    prompt_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
    pairs = zip(prompt_ids, ids, strict=False)
    first = next((i for i, (a, b) in enumerate(pairs) if a != b), len(prompt_ids))
    end = len(head) + len(text) if cut else len(whole)  # characters learned up to
    mask = [int(i >= first and start < end) for i, start in enumerate(starts)]
    return {"input_ids": ids, "completion_mask": mask}


def build_dataset(cfg: MFTBuildConfig, tokenizer: Any = None) -> dict[str, Any]:
    """Write the MFT dataset (tokenized for TRL's SFT: ``tokenize_row``) and, last and
    atomically, ``stats.json`` (its presence marks a finished build)."""
    from roi_reasoning.runlock import hold

    check_inputs(cfg)
    with hold(cfg.out):
        return _build_dataset(cfg, tokenizer)


def _build_dataset(cfg: MFTBuildConfig, tokenizer: Any) -> dict[str, Any]:
    import datasets
    from transformers import AutoTokenizer

    from roi_reasoning.runfolder import atomic_write_text

    tokenizer = tokenizer or AutoTokenizer.from_pretrained(cfg.tokenizer)
    rows = build_rows(cfg, tokenizer)
    if not rows:
        raise DataError(cfg.profile, None, "no profiled problem matches the configured tiers")
    out = Path(cfg.out)
    tokenized = []
    for r in rows:
        text = r["completion"][0]["content"]
        cut = text_completion(tokenizer, text, r["exam"]["budget"]).truncated
        tokenized.append(tokenize_row(tokenizer, r["prompt"], text, cut))
    datasets.Dataset.from_list(tokenized).save_to_disk(str(out / runfolder.MFT_DATASET))
    with open(out / runfolder.MFT_TARGETS, "w", encoding="utf-8") as fh:  # what each row teaches
        for r in rows:
            text = r["completion"][0]["content"]
            row = {"exam": r["exam"], "levels": r["levels"], "paid": r["paid"], "completion": text}
            fh.write(json.dumps(row))
            fh.write("\n")
    summary = {"config": asdict(cfg), **stats(rows, cfg.level_bounds)}
    atomic_write_text(out / runfolder.MFT_STATS, json.dumps(summary, indent=2))
    return summary
