"""``roi eval``: put a policy through budgeted exams and write results, resumably.

Writes ``<out>/samples.jsonl`` (one graded exam per line, appended and fsync'd batch by batch),
``<out>/run.json`` (the resolved config; a rerun must match it) and ``<out>/results.json``
(metrics per method × paper kind × budget, DESIGN.md §4). A rerun with the same ``--out``
skips finished (method, exam) pairs; a line half-written by a crash is cut off and redone.

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

from roi_reasoning.data import DEFAULT_TIERS, DataError, TierSpec, load_tier
from roi_reasoning.exams import build_exams, load_exams
from roi_reasoning.grading import GRADER
from roi_reasoning.knapsack import DEFAULT_CENTROIDS
from roi_reasoning.methods import METHODS, run_method
from roi_reasoning.metrics import compute_cells
from roi_reasoning.policies import Policy, load_policy
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam, ExamOutcome

ACCOUNTING = (
    "The budget counts generated tokens only (headers, tags and answers included), with the "
    "policy's tokenizer; a problem's tokens are the generated tokens whose first character lies "
    "in its segment; text outside any problem's segment counts against the budget only."
)


@dataclass
class EvalConfig:
    out: str
    methods: list[str] = field(default_factory=lambda: ["base"])
    policy: str = "scripted"
    policy_args: dict[str, Any] = field(default_factory=dict)
    tiers: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {k: asdict(v) for k, v in DEFAULT_TIERS.items()}
    )
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
    centroids: list[int] = field(default_factory=lambda: list(DEFAULT_CENTROIDS))  # greedy, tokens


def make_exams(cfg: EvalConfig) -> list[Exam]:
    if cfg.exams:
        return load_exams(cfg.exams)
    tiers = {name: load_tier(TierSpec(**spec), name) for name, spec in cfg.tiers.items()}
    return build_exams(
        tiers,
        composition=cfg.composition,
        n=cfg.n,
        kinds=cfg.kinds,
        budgets=cfg.budgets,
        count=cfg.count,
        seed=cfg.seed,
    )


def _validate_methods(methods: Sequence[str], profiles: str | None) -> None:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; valid: {', '.join(METHODS)}")
    if "planner" in methods and not profiles:
        raise ValueError("the planner method needs --profiles (a table from `roi profile`)")


def read_samples(path: Path) -> list[dict[str, Any]]:
    """Finished records; a torn last line (crash mid-write) is truncated away so the rerun redoes it."""
    if not path.exists():
        return []
    rows, good_end = [], 0
    with open(path, "rb") as fh:
        data = fh.read()
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if good_end + len(line) == len(data):
                break
            raise DataError(
                path, len(rows) + 1, "corrupt record in the middle of the file"
            ) from None
        good_end += len(line)
    if good_end != len(data):
        with open(path, "r+b") as fh:
            fh.truncate(good_end)
    return rows


def _check_run_config(out: Path, cfg: EvalConfig) -> None:
    run_file = out / "run.json"
    mine = json.loads(json.dumps(asdict(cfg)))
    if run_file.exists():
        theirs = json.loads(run_file.read_text())
        keys = [k for k in mine if k not in ("batch_size", "out") and mine[k] != theirs.get(k)]
        if keys:
            raise ValueError(
                f"{out} holds a run with different settings ({', '.join(keys)}); use another --out"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        run_file.write_text(json.dumps(mine, indent=2))


def _append(fh, outcomes: Sequence[ExamOutcome]) -> None:
    for o in outcomes:
        fh.write(json.dumps(o.to_dict(), ensure_ascii=False) + "\n")
    fh.flush()
    os.fsync(fh.fileno())  # a record is either fully on disk or truncated away on resume


def run_eval(
    cfg: EvalConfig, policy: Policy | None = None, progress: bool = True
) -> dict[str, Any]:
    """Evaluate every method on every exam not yet in ``samples.jsonl``; return results."""
    from tqdm import tqdm

    _validate_methods(cfg.methods, cfg.profiles)
    out = Path(cfg.out)
    _check_run_config(out, cfg)
    exams = make_exams(cfg)
    samples = out / "samples.jsonl"
    done = {(r["method"], r["exam_id"]) for r in read_samples(samples)}
    todo = [(m, e) for m in cfg.methods for e in exams if (m, e.id) not in done]
    policy = policy or load_policy(cfg.policy, **cfg.policy_args)
    profiles = load_profiles(cfg.profiles)
    bar = tqdm(total=len(todo), unit="exam", disable=not progress, desc="eval", file=sys.stderr)
    spent = 0
    with open(samples, "a", encoding="utf-8") as fh:
        for start in range(0, len(todo), cfg.batch_size):
            batch = todo[start : start + cfg.batch_size]
            for method in dict.fromkeys(m for m, _ in batch):
                part = [e for m, e in batch if m == method]
                outcomes = run_method(
                    policy,
                    part,
                    method,
                    cfg.level_bounds,
                    timeout=cfg.grade_timeout,
                    profiles=profiles,
                    centroids=cfg.centroids,
                )
                _append(fh, outcomes)
                spent += sum(o.tokens_used for o in outcomes)
                bar.update(len(part))
                bar.set_postfix(tokens=spent)
    bar.close()
    return write_results(cfg, out, policy)


def load_profiles(path: str | None) -> dict[str, list[tuple[int, bool]]] | None:
    if not path:
        return None
    from roi_reasoning.data import read_jsonl

    table: dict[str, list[tuple[int, bool]]] = {}
    for lineno, row in read_jsonl(path):
        try:
            table.setdefault(str(row["problem_id"]), []).append(
                (int(row["tokens"]), bool(row["correct"]))
            )
        except (KeyError, TypeError, ValueError):
            raise DataError(path, lineno, "expected problem_id, tokens, correct") from None
    return table


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


def write_results(cfg: EvalConfig, out: Path, policy: Policy) -> dict[str, Any]:
    outcomes = [ExamOutcome.from_dict(r) for r in read_samples(out / "samples.jsonl")]
    cells = compute_cells(
        outcomes, cfg.level_bounds, profiles=load_profiles(cfg.profiles), seed=cfg.seed
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
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2))
    tmp.replace(out / "results.json")  # atomic: readers never see a half-written file
    return results
