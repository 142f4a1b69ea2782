"""``roi demo``: the paper's pipeline end to end on the embedded world, on a laptop CPU.

Stages (each cached / resumable under ``--out``; a rerun skips what is done):
world (the default world ships pretrained in the package and is installed into the cache in
seconds; any other ``world.*`` setting is built by ``roi world build``, cached by config hash)
→ profile (base model, tune split: problems it never trained on) → MFT data → MFT
(full fine-tuning) → RARL (Dr. GRPO, both budgets mixed in one run, a validation curve) →
profile of the test problems (the oracle's table) → evaluation on held-out problems of base,
Greedy Knapsack and the planner on the base model, MFT with Greedy Knapsack and the planner on
its tags, and MFT+RARL, Easy/Medium/Hard papers at both world budgets, ``eval_count`` problem
sets per cell → ``report.md`` (paper-shaped table, oracle, paired CIs, learning curve) + plots.

Settings: ``DemoConfig`` (``world`` nested), from ``--config FILE.yaml`` and ``--set KEY=VALUE``
(dotted keys, YAML values); ``<out>/demo.json`` records them, and a rerun into the same
``--out`` with other settings is refused.

Run example: ``roi demo --out runs/demo --set world.seed=3 --set rarl_steps=300``
(``--quick`` for a smoke-sized run)
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from roi_reasoning.world.problems import WorldConfig

# Base-model baselines beyond `base` are left out of the timed demo: the world model ignores
# instructions, so Plan-and-Solve and Least-to-Most equal base (measured: identical rows), and
# it cannot write tags, so Greedy Knapsack and the planner on its own tags score ≈ 0 (measured:
# 0.00 in 10 of 12 cells at 60 problem sets per cell). Their MFT-tag versions are evaluated.
BASELINES = ["base"]


# Every number of the demo, checked when its settings are read (validate.check_fields):
# nothing runs on a setting a later stage would refuse.
DEMO_RANGES: dict[str, tuple] = {
    "eval_count": (1, 100_000),
    "eval_seed": (0, 2**32 - 1),
    "seed": (0, 2**32 - 1),
    "profile_per_tier": (1, 100_000),
    "profile_k": (1, 1000),
    "oracle_k": (1, 1000),
    "mft_exams": (1, 1_000_000),
    "mft_steps": (1, 10_000_000),
    "mft_lr": (0.0, 10.0, "above"),
    "rarl_steps": (1, 10_000_000),
    "rarl_generations": (2, 4096),
    "rarl_exams_per_step": (1, 100_000),
    "rarl_lr": (0.0, 10.0, "above"),
    "rarl_beta": (0.0, 1e6),
    "rarl_temperature": (0.0, 100.0, "above"),
    "rarl_val_every": (0, 10_000_000),
    "batch_size": (1, 100_000),
}


@dataclass
class DemoConfig:
    out: str = "runs/demo"
    world: WorldConfig = field(default_factory=WorldConfig)
    eval_count: int = 60  # problem sets per cell (× 3 papers × 2 budgets), one exam seed
    eval_seed: int = 0  # the evaluated exams and the oracle's profile of them
    # seeds every training stage: the profiled train problems and their samples, the MFT data,
    # MFT, RARL's exams and rollouts (``eval_seed`` and ``world.seed`` are apart)
    seed: int = 0
    # MFT data: the paper's refusal learning refuses a problem none of its K samples solved, so
    # K sets how often MFT teaches the hard tier's refusal (a coin-toss gamble: ~0.5^K). At K=2
    # the MFT model, having sampled the skip tag, mostly went on to solve the problem (a
    # malformed skip, reward 0), and RARL learned never to skip; at K=1 the refusal is learned
    # as tag + NA (README, "RARL on the embedded world"). 600 problems per tier and 2400 exams
    # keep the tiny model from memorising its MFT set.
    profile_per_tier: int = 600
    profile_k: int = 1
    oracle_k: int = 4  # base-model samples per evaluated test problem (the oracle's table)
    mft_exams: int = 2400
    # False: the paper's MFT targets (cut at the budget, allocation left to RARL); True: ours,
    # refusals chosen with hindsight where the budget runs out (mft.MFTBuildConfig)
    mft_budget_targets: bool = False
    # 300 steps left the level tags near a position prior (level accuracy 0.29-1.0 by cell);
    # 500-600 learn them (0.98-1.0)
    mft_steps: int = 500
    mft_lr: float = 2e-3
    # RARL: Dr. GRPO, both budgets mixed, 8 exams × 8 samples per step, a KL anchor to the MFT
    # model's solving; greedy validation every ``rarl_val_every`` steps (README, "RARL on the
    # embedded world").
    rarl_steps: int = 24
    rarl_generations: int = 8
    rarl_exams_per_step: int = 8
    rarl_lr: float = 3e-4
    rarl_beta: float = 0.04  # KL to the MFT model: an anchor for its solving skill
    rarl_temperature: float = 1.0
    rarl_val_every: int = 8
    batch_size: int = 64  # generation batch of the hf policy

    def __post_init__(self) -> None:
        from roi_reasoning.data import ConfigError
        from roi_reasoning.validate import check_fields
        from roi_reasoning.world.problems import TUNE_SIZE

        check_fields(self, DEMO_RANGES)
        if self.profile_per_tier > TUNE_SIZE:
            raise ConfigError("profile_per_tier", f"must be <= {TUNE_SIZE} (the tune split)")
        if self.eval_count > self.world.test_size:
            raise ConfigError(
                "eval_count", f"must be <= world.test_size ({self.world.test_size} problems)"
            )

    @classmethod
    def quick(cls, out: str) -> DemoConfig:
        """Smoke-sized: a tiny world model and a few steps of everything (tests run this)."""
        world = replace(
            WorldConfig(),
            train_size=300,
            test_size=30,
            steps=20,
            examples=300,
            eval_size=4,
            attempts=1,  # a 20-step model never passes the quality gate
            level_bounds=(8, 16, 32),
            budgets=(24, 48),
        )
        return cls(
            out=out,
            world=world,
            eval_count=1,
            profile_per_tier=4,
            profile_k=2,
            mft_exams=6,
            mft_steps=2,
            rarl_steps=1,
            rarl_generations=2,
            rarl_val_every=1,
            oracle_k=2,
        )


def _stage(name: str, timings: dict[str, float], run, output: Path | None = None) -> Any:
    """Time ``run()``; skip it when its ``output`` already exists (a finished stage)."""
    done = output is not None and output.exists()
    print(f"[demo] {name}{' (cached)' if done else ''}", file=sys.stderr)
    start = time.perf_counter()
    result = None if done else run()
    timings[name] = round(time.perf_counter() - start, 1)
    return result


def train_stages(c: dict[str, Any], timings: dict[str, float]) -> None:
    """MFT data, MFT and RARL from ``stage_configs``: a stage whose output exists is skipped
    (training publishes ``final/`` whole, last); a crashed training stage resumes from its
    newest complete checkpoint (``checkpoints``)."""
    from roi_reasoning.mft import train as mft_train
    from roi_reasoning.mft_data import build_dataset
    from roi_reasoning.rarl import train as rarl_train

    data = c["mft data"]
    _stage("mft data", timings, lambda: build_dataset(data), Path(data.out) / "stats.json")
    for name, train in (("mft train", mft_train), ("rarl train", rarl_train)):
        final = Path(c[name].out) / "final"
        _stage(name, timings, lambda t=train, n=name: t(c[n], resume=True), final)


def _link(link: Path, target: Path) -> None:
    """``<out>/world`` → the cached world folder, so recipes can name ``runs/demo/world``."""
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() != target.resolve():
        link.unlink()
    if not link.exists():
        link.symlink_to(target.resolve(), target_is_directory=True)


def demo_config(
    out: str, quick: bool = False, path: str | None = None, sets: Sequence[str] = ()
) -> DemoConfig:
    """The demo's settings: defaults (or ``quick``), then a YAML file, then ``KEY=VALUE``s."""
    from roi_reasoning.config import build_config, load_yaml, yaml_value
    from roi_reasoning.data import ConfigError

    cfg = DemoConfig.quick(out) if quick else DemoConfig(out=out)
    if path:
        cfg = build_config(DemoConfig, load_yaml(path), str(path), base=cfg)
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", f"expected KEY=VALUE, got {item!r}", "command line")
        value: Any = yaml_value(raw, key.strip()) if raw.strip() else raw
        for part in reversed(key.strip().split(".")):
            value = {part: value}
        cfg = build_config(DemoConfig, value, "command line", base=cfg)
    return replace(cfg, out=out)


def _check_out(cfg: DemoConfig) -> None:
    """Record the settings in ``<out>/demo.json`` (atomically); refuse a rerun with other
    settings (cached stages would otherwise mix two configurations). ``out`` itself is not
    compared: ``X``, ``X/`` and a moved folder are the same run."""
    from roi_reasoning.data import ConfigError
    from roi_reasoning.inputs import settings_diff
    from roi_reasoning.validate import atomic_write_text

    record = json.loads(json.dumps(asdict(cfg), default=list))
    path = Path(cfg.out) / "demo.json"
    found = settings_diff(path, record, ignore=("out",))
    if found is not None:
        diff = found[1]
        if diff:
            raise ConfigError(
                diff[0],
                f"{cfg.out} was made with other settings ({', '.join(diff)}); use another --out",
                str(path),
            )
        return
    atomic_write_text(path, json.dumps(record, indent=2))


# Every demo generation (hf policy and TRL's RARL rollouts) uses a static KV cache: no per-step
# copy of a growing cache, a few % to 1.25x faster on the tiny model (policies/hf.py).
KV_CACHE = "static"


def _gen_args(cfg: DemoConfig) -> dict[str, Any]:
    """hf policy settings of every demo generation: the batch and the KV cache."""
    return {"batch_size": cfg.batch_size, "cache_implementation": KV_CACHE}


def _profile_config(
    cfg: DemoConfig, world: Path, out: Path, tiers: dict, *, per_tier: int, k: int, seed: int = 0
) -> Any:
    """``k`` base-model samples (T=1) of ``per_tier`` problems per tier, capped at the loose
    budget: the MFT profile (tune split) and the oracle's table (the evaluated test problems).
    ``seed`` draws the problems and seeds the sampling."""
    from roi_reasoning.profiling import ProfileConfig

    return ProfileConfig(
        out=str(out),
        policy="hf",
        policy_args={"model": str(world), "temperature": 1.0, "seed": seed, **_gen_args(cfg)},
        tiers=tiers,
        per_tier=per_tier,
        seed=seed,
        k=k,
        max_tokens=max(cfg.world.budgets),
        level_bounds=list(cfg.world.level_bounds),
        batch_size=cfg.batch_size,
    )


def stage_configs(cfg: DemoConfig, world: str | Path) -> dict[str, Any]:
    """Every stage's config for a world model folder: ``profile``, ``mft data``, ``mft train``,
    ``rarl train`` and ``eval <name>`` (base with the baselines, MFT, MFT+RARL). The YAML
    recipes ``configs/{mft,rarl}/world.yaml`` are these, for ``--out runs/demo``."""
    from roi_reasoning.mft import MFTTrainConfig
    from roi_reasoning.mft_data import MFTBuildConfig
    from roi_reasoning.rarl import RARLConfig
    from roi_reasoning.world import world_tiers

    out, world = Path(cfg.out), Path(world)
    bounds, budgets = list(cfg.world.level_bounds), list(cfg.world.budgets)
    # problems the base model never trained on: on its training problems it knows the hard
    # tier's coin side from the solutions it learned, and attempting is then never a gamble
    train_tiers = world_tiers(world, "tune")
    profile, data, mft = out / "profile.jsonl", out / "mft-data", out / "mft" / "final"
    configs: dict[str, Any] = {
        "profile": _profile_config(
            cfg,
            world,
            profile,
            train_tiers,
            per_tier=cfg.profile_per_tier,
            k=cfg.profile_k,
            seed=cfg.seed,
        ),
        "mft data": MFTBuildConfig(
            profile=str(profile),
            tokenizer=str(world),
            out=str(data),
            tiers=train_tiers,
            level_bounds=bounds,
            budgets=budgets,
            exams=cfg.mft_exams,
            budget_targets=cfg.mft_budget_targets,
            seed=cfg.seed,
        ),
        "mft train": MFTTrainConfig(
            model=str(world),
            dataset=str(data),
            out=str(out / "mft"),
            max_steps=cfg.mft_steps,
            learning_rate=cfg.mft_lr,
            per_device_train_batch_size=16,
            max_length=1024,
            save_steps=100,
            logging_steps=25,
            seed=cfg.seed,
        ),
        # Both budgets mixed in one run, each exam cut at its own B (rarl_trainer.py).
        "rarl train": RARLConfig(
            model=str(mft),
            out=str(out / "rarl"),
            tiers=train_tiers,
            budgets=budgets,
            # 16 problem sets × 3 kinds × 2 budgets = 96 greedy exams (~2 s per validation): one
            # problem moves the curve by ~0.01, not the ~0.04-0.08 of the 4 sets used before.
            # Drawn from the tune split with another seed: the test split stays unseen.
            val_exams=16,
            level_bounds=bounds,
            count=200,
            seed=cfg.seed,
            num_generations=cfg.rarl_generations,
            per_device_train_batch_size=cfg.rarl_generations * cfg.rarl_exams_per_step,
            max_steps=cfg.rarl_steps,
            learning_rate=cfg.rarl_lr,
            beta=cfg.rarl_beta,
            temperature=cfg.rarl_temperature,
            val_every=cfg.rarl_val_every,
            save_steps=max(10, cfg.rarl_steps // 4),
            trainer={"cache_implementation": KV_CACHE},  # TRL's generation
            logging_steps=max(1, min(5, cfg.rarl_val_every)),
        ),
        # The oracle's table: the base model's own samples of exactly the evaluated problems
        # (profiling and exam building draw a tier in the same seeded order).
        "profile test": _profile_config(
            cfg,
            world,
            out / "profile-test.jsonl",
            world_tiers(world, "test"),
            per_tier=min(cfg.eval_count, cfg.world.test_size),
            k=cfg.oracle_k,
            seed=cfg.eval_seed,
        ),
    }
    configs.update(_eval_configs(cfg, world, profile, mft))
    return configs


def _eval_configs(cfg: DemoConfig, world: Path, profile: Path, mft: Path) -> dict[str, Any]:
    """``eval base`` (with its baselines), ``eval mft`` (with Greedy Knapsack and the planner on
    the MFT model's tags) and ``eval mft+rarl`` on the same held-out exams: Easy/Medium/Hard
    papers at both world budgets, ``eval_count`` problem sets per cell. The planner plans from
    the tune-split profile; the oracle values come from the test problems' own profile."""
    from roi_reasoning.evaluate import EvalConfig
    from roi_reasoning.world import world_tiers

    rarl = Path(cfg.out) / "rarl" / "final"
    models = {
        "base": (world, BASELINES),
        "mft": (mft, ["roi", "roi-greedy-knapsack", "roi-planner"]),
        "mft+rarl": (rarl, ["roi"]),
    }
    return {
        f"eval {name}": EvalConfig(
            out=str(Path(cfg.out) / "eval" / name),
            methods=methods,
            policy="hf",
            policy_args={"model": str(model), **_gen_args(cfg)},
            tiers=world_tiers(world, "test"),
            budgets=list(cfg.world.budgets),
            count=cfg.eval_count,
            seed=cfg.eval_seed,
            level_bounds=list(cfg.world.level_bounds),
            profiles=str(profile),
            oracle_profiles=str(Path(cfg.out) / "profile-test.jsonl"),
            batch_size=cfg.batch_size,
        )
        for name, (model, methods) in models.items()
    }


def run_demo(cfg: DemoConfig, progress: bool = True) -> Path:
    """Run (or resume) every stage; return the path of ``report.md``."""
    from roi_reasoning.runlock import hold
    from roi_reasoning.validate import check_out_dir

    with hold(check_out_dir(cfg.out)):  # one demo per folder; its stages lock their own
        return _run_demo(cfg, progress)


def _run_demo(cfg: DemoConfig, progress: bool) -> Path:
    from roi_reasoning.evaluate import run_eval
    from roi_reasoning.profiling import run_profile
    from roi_reasoning.report import publish_report
    from roi_reasoning.validate import atomic_write_text
    from roi_reasoning.world import build_world_model

    _check_out(cfg)
    out, timings = Path(cfg.out), {}
    world = _stage("world model", timings, lambda: build_world_model(cfg.world, progress=progress))
    _link(out / "world", world)
    c = stage_configs(cfg, world)
    _stage("profile", timings, lambda: run_profile(c["profile"], progress=progress))
    train_stages(c, timings)
    _stage("profile test", timings, lambda: run_profile(c["profile test"], progress=progress))
    evals = [k for k in c if k.startswith("eval ")]
    for name in evals:
        _stage(name, timings, lambda n=name: run_eval(c[n], progress=progress))
    curve = out / "rarl" / "curve.jsonl"
    publish_report(
        [c[n].out for n in evals],
        out=out / "report.md",
        pairs=[
            ("roi (mft+rarl)", "roi (mft)"),
            ("roi (mft+rarl)", ("roi-greedy-knapsack", "roi-planner")),
            ("roi (mft)", "base"),
        ],
        curves=[str(curve)] if curve.exists() and curve.stat().st_size else [],
    )
    atomic_write_text(out / "timings.json", json.dumps(timings, indent=2))
    return out / "report.md"
