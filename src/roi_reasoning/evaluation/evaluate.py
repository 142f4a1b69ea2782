"""``roi eval``: put a policy through budgeted exams and write results, resumably.

Every setting and input is checked before anything is written. Then ``<out>/run.json`` (the
resolved config and the SHA-256 of each input file; a rerun must match both),
``<out>/samples.jsonl`` (one graded exam per line, appended and fsync'd batch by batch) and
``<out>/results.json`` (metrics per method × paper kind × budget, docs/design.md §4; atomic). A rerun
with the same ``--out`` skips finished (method, exam) pairs; a line half-written by a crash is
cut off and redone. Input files are only ever read.

Run example: ``roi eval --policy scripted --methods base,roi --count 20 --out runs/scripted``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from roi_reasoning import runfolder
from roi_reasoning.data import (
    check_tiers,
    default_tiers,
    load_tiers,
    read_records,
    repair_records,
    tier_files,
)
from roi_reasoning.errors import ConfigError, DataError
from roi_reasoning.exams import build_exams, check_build_args, load_exams
from roi_reasoning.grading import GRADER
from roi_reasoning.metrics import compute_cells
from roi_reasoning.policies import Policy, load_policy
from roi_reasoning.policies.methods import SINGLE_PASS, get_method, run_method
from roi_reasoning.profiles import load_profiles
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam, ExamOutcome
from roi_reasoning.runfolder import atomic_write_text, settings_diff
from roi_reasoning.runlock import ensure_free, hold
from roi_reasoning.scoring import score_completions
from roi_reasoning.validate import (
    MAX_BUDGET,
    MAX_EXAMS,
    MAX_SEED,
    check_in_file,
    check_out_dir,
    float_in,
    int_in,
    int_list,
    sha256_file,
    str_list,
)

ACCOUNTING = (
    "The budget counts generated tokens only (headers, tags, answers and EOS included), with the "
    "policy's tokenizer; a problem's tokens are the generated tokens whose first character lies "
    "in its segment; text outside any problem's segment counts against the budget only."
)


@dataclass
class EvalConfig:
    out: str
    methods: list[str] = field(default_factory=lambda: ["base"])
    policy: str = "scripted"
    policy_args: dict[str, Any] = field(default_factory=dict)
    tiers: dict[str, dict[str, Any]] = field(default_factory=default_tiers)
    exams: str | None = None  # an exams JSONL instead of drawing from tiers
    kinds: list[str] = field(default_factory=lambda: ["easy", "medium", "hard"])
    budgets: list[int] = field(default_factory=lambda: [512, 1024])
    count: int = 10
    n: int | None = None
    composition: list[str] | None = None
    seed: int = 0
    level_bounds: list[int] = field(default_factory=lambda: list(DEFAULT_LEVEL_BOUNDS))
    batch_size: int = 16
    grade_timeout: float = 5.0
    profiles: str | None = None  # profile JSONL (problem_id, tokens, correct): oracle, planner
    # A profile of the *evaluated* problems for the oracle values (hindsight V*, Bellman) when
    # ``profiles`` (the planner's table) was measured on other problems; default: ``profiles``.
    oracle_profiles: str | None = None
    # Greedy Knapsack's cost per level (tokens); None: the middle of each level's range
    # (knapsack.centroids of level_bounds: 128/384/768 for the paper's bounds)
    centroids: list[int] | None = None

    def __post_init__(self) -> None:
        """Types and ranges of every setting; ConfigError names the key. Reads no file."""
        from roi_reasoning.config import check_values

        check_values(EvalConfig, vars(self), "config")
        str_list(self.methods, "methods")
        for i, name in enumerate(self.methods):
            try:
                get_method(name)
            except ConfigError as exc:
                raise ConfigError(f"methods[{i}]", exc.detail) from None
        if {"planner", "roi-planner"} & set(self.methods) and not self.profiles:
            raise ConfigError("methods", "the planner method needs --profiles (from `roi profile`)")
        if not self.policy.strip():
            raise ConfigError("policy", "must be a policy name or module:Class")
        int_list(self.level_bounds, "level_bounds", 1, MAX_BUDGET, ascending=True)
        greedy = {"greedy-knapsack", "roi-greedy-knapsack"} & set(self.methods)
        if self.centroids is not None:
            int_list(self.centroids, "centroids", 1, MAX_BUDGET, ascending=True)
        if greedy and self.centroids is not None and len(self.centroids) != len(self.level_bounds):
            raise ConfigError(
                "centroids",
                f"{len(self.centroids)} centroids for {len(self.level_bounds)} level bounds",
            )
        int_in(self.batch_size, "batch_size", 1, MAX_EXAMS)
        int_in(self.seed, "seed", 0, MAX_SEED)
        float_in(self.grade_timeout, "grade_timeout", 0.001, 3600.0)
        if self.exams is None:
            check_tiers(self.tiers)
            names = list(self.tiers)
            build_exams_args = (
                self.composition,
                self.n,
                self.kinds,
                self.budgets,
                self.count,
                None,
            )
            check_build_args(names, *build_exams_args)


def make_exams(cfg: EvalConfig) -> list[Exam]:
    """The run's exams: read from ``cfg.exams`` or drawn from the tiers (inputs read-only)."""
    if cfg.exams:
        return load_exams(check_in_file(cfg.exams))
    tiers = load_tiers(cfg.tiers)
    return build_exams(
        tiers,
        composition=cfg.composition,
        n=cfg.n,
        kinds=cfg.kinds,
        budgets=cfg.budgets,
        count=cfg.count,
        seed=cfg.seed,
    )


def input_digests(cfg: EvalConfig) -> dict[str, dict[str, str]]:
    """SHA-256 of every input file of the run (exams, profiles, tier sources), by role."""
    files: dict[str, Path] = {}
    if cfg.exams:
        files["exams"] = Path(cfg.exams)
    else:
        files.update({f"tiers.{k}": p for k, p in tier_files(check_tiers(cfg.tiers)).items()})
    if cfg.profiles:
        files["profiles"] = Path(cfg.profiles)
    if cfg.oracle_profiles:
        files["oracle_profiles"] = Path(cfg.oracle_profiles)
    return {role: {"path": str(p), "sha256": sha256_file(p)} for role, p in files.items()}


def _run_record(cfg: EvalConfig, inputs: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {**json.loads(json.dumps(asdict(cfg))), "inputs": inputs}


def _check_run_config(out: Path, mine: dict[str, Any]) -> None:
    """Refuse to resume into ``out`` when its ``run.json`` has other settings or inputs whose
    bytes changed since; reads only."""
    run_file = out / runfolder.RUN
    found = settings_diff(run_file, mine, ignore=("batch_size", "out", "inputs"))
    if found is None:
        return
    theirs, keys = found
    if keys:
        raise DataError(
            run_file,
            None,
            f"{out} holds a run with different settings ({', '.join(keys)}); use another --out",
        )
    for role, now in mine["inputs"].items():
        then = (theirs.get("inputs") or {}).get(role)
        if then and then.get("sha256") != now["sha256"]:
            raise DataError(
                now["path"],
                None,
                f"changed since the run in {out} started ({role}: sha256 "
                f"{then['sha256'][:12]} → {now['sha256'][:12]}); restore it or use another --out",
            )


def _append(fh, outcomes: Sequence[ExamOutcome]) -> None:
    for o in outcomes:
        fh.write(json.dumps(o.to_dict(), ensure_ascii=False) + "\n")
    fh.flush()
    os.fsync(fh.fileno())  # a record is either fully on disk or truncated away on resume


RUN_FILES = (runfolder.RUN, runfolder.SAMPLES, runfolder.RESULTS, runfolder.REPORT)


def load_outcomes(samples: Path, repair: bool = False) -> list[ExamOutcome]:
    """The graded exams of ``samples.jsonl``; ``repair``: cut a torn last line (this run's own
    file, about to be appended to). A record that is not a graded exam is one DataError."""
    rows = repair_records(samples) if repair else read_records(samples)
    outcomes = []
    for i, row in enumerate(rows, 1):
        try:
            outcomes.append(ExamOutcome.from_dict(row))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(
                samples, None, f"record {i} is not a graded exam ({type(exc).__name__}: {exc})"
            ) from None
    return outcomes


def prepare_eval(
    cfg: EvalConfig, policy: Policy | None
) -> tuple[Path, list[Exam], dict[str, list[tuple[int, bool]]] | None, Policy, dict[str, Any]]:
    """Validate everything and load inputs and policy; writes nothing. Returns the run record
    for ``run.json`` as well."""
    out = check_out_dir(cfg.out, RUN_FILES)
    exams = make_exams(cfg)
    profiles = load_profiles(cfg.profiles)
    load_profiles(cfg.oracle_profiles)  # validated now, used for the metrics at the end
    record = _run_record(cfg, input_digests(cfg))
    _check_run_config(out, record)
    ensure_free(out)  # before loading a model: a second writer is refused at once
    policy = policy or load_policy(cfg.policy, **cfg.policy_args)
    return out, exams, profiles, policy, record


def run_eval(
    cfg: EvalConfig, policy: Policy | None = None, progress: bool = True
) -> dict[str, Any]:
    """Evaluate every method on every exam not yet in ``samples.jsonl``; return results.
    Nothing is written before every setting and input has been checked; then the run folder's
    lock is taken (one writer per folder) and ``run.json`` recorded."""
    out, exams, profiles, policy, record = prepare_eval(cfg, policy)
    with hold(out):
        _check_run_config(out, record)  # again, holding the lock: another run may have begun
        if not (out / runfolder.RUN).exists():
            atomic_write_text(out / runfolder.RUN, json.dumps(record, indent=2))
        return _run_eval(cfg, out, exams, profiles, policy, progress)


def _run_eval(
    cfg: EvalConfig,
    out: Path,
    exams: list[Exam],
    profiles: dict[str, list[tuple[int, bool]]] | None,
    policy: Policy,
    progress: bool,
) -> dict[str, Any]:
    from tqdm import tqdm

    samples = out / runfolder.SAMPLES
    done = {(o.method, o.exam_id) for o in load_outcomes(samples, repair=True)}
    todo = [(m, e) for m in cfg.methods for e in exams if (m, e.id) not in done]
    bar = tqdm(total=len(todo), unit="exam", disable=not progress, desc="eval", file=sys.stderr)
    spent = 0
    with open(samples, "a", encoding="utf-8") as fh:
        for start in range(0, len(todo), cfg.batch_size):
            batch = todo[start : start + cfg.batch_size]
            for method in dict.fromkeys(m for m, _ in batch):
                part = [e for m, e in batch if m == method]
                try:
                    outcomes = run_method(
                        policy,
                        part,
                        method,
                        cfg.level_bounds,
                        timeout=cfg.grade_timeout,
                        profiles=profiles,
                        centroids=cfg.centroids,
                    )
                except Exception as exc:
                    _append(fh, _salvage(exc, part, method, cfg))  # keep what did finish
                    raise
                _append(fh, outcomes)
                spent += sum(o.tokens_used for o in outcomes)
                bar.update(len(part))
                bar.set_postfix(tokens=spent)
    bar.close()
    return write_results(cfg, out, policy, profiles)


def _versions() -> dict[str, str]:
    names = [
        "roi-reasoning",
        "math-verify",
        "numpy",
        "torch",
        "transformers",
        "trl",
        "vllm",
        "openai",
        "llama-cpp-python",
    ]
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _git_hash() -> str | None:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return res.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def write_results(
    cfg: EvalConfig,
    out: Path,
    policy: Policy,
    profiles: dict[str, list[tuple[int, bool]]] | None = None,
) -> dict[str, Any]:
    """Metrics over every record of ``samples.jsonl`` → ``results.json`` (atomic)."""
    outcomes = load_outcomes(out / runfolder.SAMPLES)
    if cfg.oracle_profiles:
        profiles = load_profiles(cfg.oracle_profiles)
    elif profiles is None:
        profiles = load_profiles(cfg.profiles)
    # Tiers are listed easiest first: the last one is what "attempt all but the hardest" skips.
    hardest = list(cfg.tiers)[-1] if cfg.tiers else None
    cells = compute_cells(
        outcomes, cfg.level_bounds, profiles=profiles, seed=cfg.seed, hardest=hardest
    )
    for c in cells:
        if c["exhausted_exams"] > 0.5:
            print(
                f"warning: {c['method']} {c['kind']}/B={c['budget']}: {c['exhausted_exams']:.0%} "
                "of exams ended with the budget exhausted",
                file=sys.stderr,
            )
    results = {
        "run": out.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": _git_hash(),
        "config": asdict(cfg),
        "versions": _versions(),
        "grader": GRADER,
        "policy": policy.describe(),
        "level_bounds": list(cfg.level_bounds),
        "accounting": ACCOUNTING,
        "seeds": {"exams": cfg.seed, "bootstrap": cfg.seed},
        "cells": cells,
    }
    atomic_write_text(out / runfolder.RESULTS, json.dumps(results, indent=2))  # never half-written
    return results


def _salvage(
    exc: Exception, exams: Sequence[Exam], method: str, cfg: EvalConfig
) -> list[ExamOutcome]:
    """Outcomes of the exams a failed batch did finish. A policy error may carry
    ``completions`` (request index -> Completion, see policies/openai.py); a single-pass method
    sends request i for exam i. Multi-pass methods keep nothing (a first pass alone is no
    outcome). A rerun redoes every exam not recorded."""
    done = getattr(exc, "completions", None)
    if not done or method not in SINGLE_PASS:
        return []
    kept = sorted(done)
    return score_completions(
        [exams[i] for i in kept],
        [done[i] for i in kept],
        method=method,
        bounds=cfg.level_bounds,
        timeout=cfg.grade_timeout,
    )
