"""``roi profile``: K sampled solutions per single problem → a (tokens, correct) table.

Each problem is posed alone (a one-problem exam in the ``base`` format, budget = the generation
cap in tokens) K times; every sample is written as one JSONL record as soon as it is graded,
so a rerun resumes without losing or doubling samples. The table feeds MFT targets
(``training.mft_data``, ``roi mft build``), the planner (``--profiles`` of ``roi eval``) and the
oracle (``--oracle-profiles``, else ``--profiles``), read by ``profiles.load_profiles``.

Record: ``{"problem_id", "tier", "sample", "tokens", "correct", "status", "answer", "text"}``.

Run example: ``roi profile --policy hf --policy-arg model=runs/demo/world --k 4 --max-tokens 256 --out runs/profile.jsonl``
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from roi_reasoning import runfolder
from roi_reasoning.data import check_tiers, default_tiers, load_tiers, repair_records
from roi_reasoning.errors import ConfigError, DataError
from roi_reasoning.policies import Policy, load_policy
from roi_reasoning.policies.methods import run_requests
from roi_reasoning.profiles import load_profile_rows
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam, Problem, actual_level
from roi_reasoning.runfolder import atomic_write_text, settings_diff
from roi_reasoning.runlock import ensure_free, hold
from roi_reasoning.validate import check_out_file


@dataclass
class ProfileConfig:
    out: str  # JSONL path
    policy: str = "hf"
    policy_args: dict[str, Any] = field(default_factory=dict)
    tiers: dict[str, dict[str, Any]] = field(default_factory=default_tiers)
    per_tier: int = 50  # problems profiled per tier (the first ones of a seeded shuffle)
    k: int = 4  # samples per problem
    max_tokens: int = 1024  # generation cap per sample, tokens
    level_bounds: list[int] = field(default_factory=lambda: list(DEFAULT_LEVEL_BOUNDS))
    batch_size: int = 32
    seed: int = 0
    grade_timeout: float = 5.0

    def __post_init__(self) -> None:
        """Types and ranges of every setting; ConfigError names the key. Reads no file."""
        from roi_reasoning.config import check_values
        from roi_reasoning.validate import (
            MAX_BUDGET,
            MAX_SAMPLES,
            MAX_SEED,
            float_in,
            int_in,
            int_list,
        )

        check_values(ProfileConfig, vars(self), "config")
        check_tiers(self.tiers)
        if not self.policy.strip():
            raise ConfigError("policy", "must be a policy name or module:Class")
        int_in(self.per_tier, "per_tier", 1, MAX_SAMPLES)
        int_in(self.k, "k", 1, MAX_SAMPLES)
        if self.per_tier * self.k * len(self.tiers) > MAX_SAMPLES:
            raise ConfigError(
                "k",
                f"per_tier x k x tiers = {self.per_tier * self.k * len(self.tiers)} samples, "
                f"above the limit of {MAX_SAMPLES}",
            )
        int_in(self.max_tokens, "max_tokens", 1, MAX_BUDGET)
        int_list(self.level_bounds, "level_bounds", 1, MAX_BUDGET, ascending=True)
        int_in(self.batch_size, "batch_size", 1, MAX_SAMPLES)
        int_in(self.seed, "seed", 0, MAX_SEED)
        float_in(self.grade_timeout, "grade_timeout", 0.001, 3600.0)


def select_problems(cfg: ProfileConfig) -> list[Problem]:
    """The first ``per_tier`` problems of each tier's seeded shuffle (inputs read-only)."""
    import random

    chosen = []
    for name, problems in load_tiers(cfg.tiers).items():
        random.Random(f"{cfg.seed}:{name}").shuffle(problems)
        chosen += problems[: cfg.per_tier]
    return chosen


def _one_problem_exam(problem: Problem, budget: int, sample: int) -> Exam:
    return Exam(f"{problem.id}#{sample}", problem.id, "single", budget, (problem,))


def run_profile(cfg: ProfileConfig, policy: Policy | None = None, progress: bool = True) -> Path:
    """Sample, grade and append every (problem, sample) not yet in ``cfg.out``. Settings, tiers,
    the output path and the policy are checked before the output is touched."""

    out = check_out_file(cfg.out)
    problems = select_problems(cfg)
    if out.exists() and out.stat().st_size:  # resuming: its rows must be profile rows
        load_profile_rows(out, full=True, allow_torn_tail=True)
    ensure_free(out, folder=False)  # before loading a model: a second writer is refused at once
    policy = policy or load_policy(cfg.policy, **cfg.policy_args)
    with hold(out, folder=False):  # one writer per profile file
        _check_resume(cfg, out)
        return _run_profile(cfg, out, problems, policy, progress)


# Settings a resumed profile must share with the rows already in its file (``per_tier`` and
# ``k`` may grow: the problems are a seeded prefix and samples are numbered).
RESUME_KEYS = (
    "policy",
    "policy_args",
    "tiers",
    "max_tokens",
    "seed",
    "level_bounds",
    "grade_timeout",
)


def _check_resume(cfg: ProfileConfig, out: Path) -> Path:
    """Refuse to append to a profile made with other ``RESUME_KEYS``; record them in
    ``<out>.run.json`` when it has no record yet. Returns the record's path."""
    record = {k: v for k, v in json.loads(json.dumps(asdict(cfg))).items() if k in RESUME_KEYS}
    side = out.with_name(out.name + runfolder.PROFILE_RUN_SUFFIX)
    found = settings_diff(side, record)
    if found is None:
        atomic_write_text(side, json.dumps(record, indent=2))
    elif found[1]:
        diff = ", ".join(found[1])
        raise DataError(out, None, f"profiled with other settings ({diff}); use another --out")
    return side


def _run_profile(
    cfg: ProfileConfig, out: Path, problems: list[Problem], policy: Policy, progress: bool
) -> Path:
    from tqdm import tqdm

    done = {(r["problem_id"], r["sample"]) for r in repair_records(out)}
    todo = [  # (one-problem exam, its sample index: Request.sample)
        (_one_problem_exam(p, cfg.max_tokens, s), s)
        for p in problems
        for s in range(cfg.k)
        if (p.id, s) not in done
    ]
    bar = tqdm(
        total=len(todo), unit="sample", disable=not progress, desc="profile", file=sys.stderr
    )
    with open(out, "a", encoding="utf-8") as fh:
        for start in range(0, len(todo), cfg.batch_size):
            chunk = todo[start : start + cfg.batch_size]
            batch, samples = [e for e, _ in chunk], [s for _, s in chunk]
            graded = run_requests(
                policy,
                batch,
                "base",
                cfg.level_bounds,
                cfg.grade_timeout,
                samples=samples,
                method="profile",
            )
            for exam, sample, res in zip(batch, samples, graded, strict=True):
                o = res.outcomes[0]
                row = {
                    "problem_id": o.problem_id,
                    "tier": exam.problems[0].tier,
                    "sample": sample,
                    "tokens": res.tokens_used,
                    "correct": o.correct,
                    "status": o.status,
                    "answer": o.answer,
                    "text": res.completion,
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            bar.update(len(batch))
    bar.close()
    return out


def summarize(rows: Sequence[dict[str, Any]], bounds: Sequence[int]) -> dict[str, dict[str, Any]]:
    """Per tier: problems, samples, accuracy, mean tokens, share of problems solved at least once,
    and the level histogram of each problem's shortest correct sample (Level-top = none correct)."""
    by_tier: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_tier[r["tier"]].append(r)
    summary = {}
    for tier, tier_rows in by_tier.items():
        per_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in tier_rows:
            per_problem[r["problem_id"]].append(r)
        hist = [0] * (len(bounds) + 1)
        for samples in per_problem.values():
            right = [s["tokens"] for s in samples if s["correct"]]
            hist[actual_level(min(right), bounds) if right else len(bounds)] += 1
        summary[tier] = {
            "problems": len(per_problem),
            "samples": len(tier_rows),
            "accuracy": sum(r["correct"] for r in tier_rows) / len(tier_rows),
            "mean_tokens": sum(r["tokens"] for r in tier_rows) / len(tier_rows),
            "solved_any": sum(any(s["correct"] for s in v) for v in per_problem.values())
            / len(per_problem),
            "shortest_correct_levels": hist,
        }
    return summary
