"""``roi demo``: the paper's pipeline end to end on the embedded world, on a laptop CPU.

``run_demo`` calls the stages in the paper's order, each returning its output and each cached
or resumable under ``--out`` (a rerun skips what is done):

1. world model: the default world ships pretrained in the package and is installed into the
   cache in seconds; any other ``world.*`` setting is built (``roi world build``);
2. profile: K base-model samples of tune problems (problems it never trained on);
3. MFT data and MFT (full fine-tuning; ``mft_data:``, ``mft:``);
4. RARL (Dr. GRPO, both budgets mixed in one run, a validation curve; ``rarl:``);
5. profile test: the base model's samples of the evaluated test problems (the oracle's table);
6. evaluation on held-out exams, Easy/Medium/Hard papers at both world budgets, ``eval_count``
   problem sets per cell: base (``BASELINES``), the MFT model with Greedy Knapsack and the
   planner on its tags, MFT+RARL;
7. ``report.md``: the paper's table, oracle, paired CIs, learning curve, plots.

Settings: ``demo.config.DemoConfig``; ``<out>/demo.json`` records them, and a rerun into the
same ``--out`` with other settings is refused.

Run example: ``roi demo --out runs/demo --set world.seed=3 --set rarl.max_steps=300``
(``--quick`` for a smoke-sized run)
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from roi_reasoning import runfolder
from roi_reasoning.demo.config import DemoConfig, record_settings

T = TypeVar("T")

# Base-model baselines beyond `base` are left out of the timed demo: the world model ignores
# instructions, so Plan-and-Solve and Least-to-Most score as base, and it writes no tags, so
# Greedy Knapsack and the planner on its own tags have nothing to plan with
# (docs/findings.md §6). Their MFT-tag versions are evaluated.
BASELINES = ["base"]
MFT_METHODS = ["roi", "roi-greedy-knapsack", "roi-planner"]
RARL_METHODS = ["roi"]
PAIRS: list[tuple[str, Any]] = [
    ("roi (mft+rarl)", "roi (mft)"),
    ("roi (mft+rarl)", ("roi-greedy-knapsack", "roi-planner")),
    ("roi (mft)", "base"),
]

# Every demo generation (hf policy and TRL's RARL rollouts, via the rarl recipe's `trainer:`)
# uses a static KV cache: no per-step copy of a growing cache (policies/hf.py).
KV_CACHE = "static"


def _gen_args(cfg: DemoConfig) -> dict[str, Any]:
    """hf policy settings of every demo generation: the batch and the KV cache."""
    return {"batch_size": cfg.batch_size, "cache_implementation": KV_CACHE}


def profile_config(cfg: DemoConfig, world: Path, split: str) -> Any:
    """Base-model samples (T=1) capped at the loose budget: ``tune``, MFT's profile
    (``profile_per_tier`` × ``profile_k``, seeded by ``seed``); ``test``, the oracle's table of
    exactly the evaluated problems (``eval_count`` × ``oracle_k``, seeded by ``eval_seed``:
    profiling and exam building draw a tier in the same seeded order)."""
    from roi_reasoning.training.profiling import ProfileConfig
    from roi_reasoning.world import world_tiers

    tune = split == "tune"
    seed = cfg.seed if tune else cfg.eval_seed
    name = runfolder.DEMO_PROFILE if tune else runfolder.DEMO_ORACLE_PROFILE
    return ProfileConfig(
        out=str(Path(cfg.out) / name),
        policy="hf",
        policy_args={"model": str(world), "temperature": 1.0, "seed": seed, **_gen_args(cfg)},
        tiers=world_tiers(world, split),
        per_tier=cfg.profile_per_tier if tune else min(cfg.eval_count, cfg.world.test_size),
        seed=seed,
        k=cfg.profile_k if tune else cfg.oracle_k,
        max_tokens=max(cfg.world.budgets),
        level_bounds=list(cfg.world.level_bounds),
        batch_size=cfg.batch_size,
    )


def training_configs(cfg: DemoConfig, world: Path) -> tuple[Any, Any, Any]:
    """The ``mft_data``, ``mft`` and ``rarl`` sections with the world's own tier files (the
    tune split: problems the base model never trained on)."""
    from roi_reasoning.world import world_tiers

    tune = world_tiers(world, "tune")
    return replace(cfg.mft_data, tiers=tune), cfg.mft, replace(cfg.rarl, tiers=tune)


def eval_config(cfg: DemoConfig, world: Path, name: str, model: Path, methods: list[str]) -> Any:
    """``roi eval`` of one model on the held-out exams: Easy/Medium/Hard papers at both world
    budgets, ``eval_count`` problem sets per cell. The planner plans from the tune-split
    profile; the oracle values come from the test problems' own profile."""
    from roi_reasoning.evaluation.evaluate import EvalConfig
    from roi_reasoning.world import world_tiers

    out = Path(cfg.out)
    return EvalConfig(
        out=str(out / runfolder.DEMO_EVAL / name),
        methods=methods,
        policy="hf",
        policy_args={"model": str(model), **_gen_args(cfg)},
        tiers=world_tiers(world, "test"),
        budgets=list(cfg.world.budgets),
        count=cfg.eval_count,
        seed=cfg.eval_seed,
        level_bounds=list(cfg.world.level_bounds),
        profiles=str(out / runfolder.DEMO_PROFILE),
        oracle_profiles=str(out / runfolder.DEMO_ORACLE_PROFILE),
        batch_size=cfg.batch_size,
    )


class Stages:
    """Runs named stages: prints each, times it, and skips one whose ``done`` marker exists
    (training publishes ``final/`` whole, last; a crashed stage resumes from its newest
    complete checkpoint)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def __call__(self, name: str, run: Callable[[], T], done: Path | None = None) -> T | Path:
        cached = done is not None and done.exists()
        print(f"[demo] {name}{' (cached)' if cached else ''}", file=sys.stderr)
        start = time.perf_counter()
        result = done if cached else run()
        self.timings[name] = round(time.perf_counter() - start, 1)
        return result  # type: ignore[return-value]


def _link(link: Path, target: Path) -> None:
    """``<out>/world`` → the cached world folder, so recipes can name ``runs/demo/world``."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() != target.resolve():
        link.unlink()
    if not link.exists():
        link.symlink_to(target.resolve(), target_is_directory=True)


def run_demo(cfg: DemoConfig, progress: bool = True) -> Path:
    """Run (or resume) every stage; return the path of ``report.md``."""
    from roi_reasoning.runlock import hold
    from roi_reasoning.validate import check_out_dir

    with hold(check_out_dir(cfg.out)):  # one demo per folder; its stages lock their own
        return _run_demo(cfg, progress)


def _run_demo(cfg: DemoConfig, progress: bool) -> Path:
    from roi_reasoning.evaluation.evaluate import run_eval
    from roi_reasoning.report.writer import publish_report
    from roi_reasoning.runfolder import atomic_write_text
    from roi_reasoning.training.mft import train as train_mft
    from roi_reasoning.training.mft_data import build_dataset
    from roi_reasoning.training.profiling import run_profile
    from roi_reasoning.training.rarl import train as train_rarl
    from roi_reasoning.world import build_world_model

    record_settings(cfg)
    out, stage = Path(cfg.out), Stages()
    world = stage("world model", lambda: build_world_model(cfg.world, progress=progress))
    _link(out / runfolder.DEMO_WORLD, world)
    data, mft, rarl = training_configs(cfg, world)
    stage("profile", lambda: run_profile(profile_config(cfg, world, "tune"), progress=progress))
    stage("mft data", lambda: build_dataset(data), Path(data.out) / runfolder.MFT_STATS)
    mft_model = stage("mft train", lambda: train_mft(mft, resume=True), _final(mft.out))
    rarl_model = stage("rarl train", lambda: train_rarl(rarl, resume=True), _final(rarl.out))
    oracle = profile_config(cfg, world, "test")
    stage("profile test", lambda: run_profile(oracle, progress=progress))
    runs = []
    for name, model, methods in (
        ("base", world, BASELINES),
        ("mft", mft_model, MFT_METHODS),
        ("mft+rarl", rarl_model, RARL_METHODS),
    ):
        run = eval_config(cfg, world, name, Path(model), methods)
        stage(f"eval {name}", partial(run_eval, run, progress=progress))
        runs.append(run.out)
    curve = Path(rarl.out) / runfolder.CURVE
    report = publish_report(
        runs,
        out=out / runfolder.REPORT,
        pairs=PAIRS,
        curves=[str(curve)] if curve.exists() and curve.stat().st_size else [],
    )
    atomic_write_text(out / runfolder.TIMINGS, json.dumps(stage.timings, indent=2))
    return Path(report)


def _final(out: str) -> Path:
    return Path(out) / runfolder.FINAL
