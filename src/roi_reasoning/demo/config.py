"""The settings of ``roi demo``: ``DemoConfig``, with the stage configs nested as sections.

- ``world:`` the embedded world (``WorldConfig``);
- ``mft_data:`` the MFT targets (``MFTBuildConfig``);
- ``mft:`` and ``rarl:`` the training recipes (``MFTTrainConfig``, ``RARLConfig``: TRL's field
  names), loaded from ``demo/recipes/{mft,rarl}.yaml`` (``configs/{mft,rarl}/world.yaml`` link
  to them);
- top level: the demo's own numbers (``eval_count``, ``eval_seed``, the training ``seed``,
  profiling sizes, the generation batch).

Every key is reachable with ``--set`` (``rarl.beta=0.1``, ``mft.max_steps=300``,
``world.seed=3``). The demo sets the sections' paths from ``--out``, their tiers (the world's
tune split), budgets and level bounds from ``world.*`` and their seeds from ``seed``; setting
one of those is refused (``DERIVED``). Each section checks its own numbers when it is made (its
``__post_init__``); the demo checks only what it adds.

Run example: ``python -c "from roi_reasoning.demo.config import demo_config; print(demo_config('runs/demo', sets=['rarl.beta=0.1']).rarl.beta)"``
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from roi_reasoning import runfolder
from roi_reasoning.config import build_config, load_config, load_yaml, yaml_value
from roi_reasoning.errors import ConfigError
from roi_reasoning.training.mft import MFTTrainConfig
from roi_reasoning.training.mft_data import MFTBuildConfig
from roi_reasoning.training.rarl import RARLConfig
from roi_reasoning.world.problems import TIERS, TUNE_SIZE, WorldConfig

RECIPES = Path(__file__).resolve().parent / "recipes"

# The demo's own numbers (validate.check_fields); the sections check theirs.
DEMO_RANGES: dict[str, tuple] = {
    "eval_count": (1, 100_000),
    "eval_seed": (0, 2**32 - 1),
    "seed": (0, 2**32 - 1),
    "profile_per_tier": (1, 100_000),
    "profile_k": (1, 1000),
    "oracle_k": (1, 1000),
    "batch_size": (1, 100_000),
}

# Section keys the demo sets itself: from --out (paths), world.* (budgets, level bounds, tiers)
# and ``seed``.
DERIVED = {
    "mft_data": ("profile", "tokenizer", "out", "tiers", "level_bounds", "budgets", "seed"),
    "mft": ("model", "dataset", "out", "seed"),
    "rarl": ("model", "out", "tiers", "budgets", "level_bounds", "seed"),
}


def _mft_recipe() -> MFTTrainConfig:
    return load_config(MFTTrainConfig, RECIPES / "mft.yaml", {})


def _rarl_recipe() -> RARLConfig:
    return load_config(RARLConfig, RECIPES / "rarl.yaml", {})


def _mft_data() -> MFTBuildConfig:
    # 2400 exams (× 3 problems) over 600 profiled problems per tier keep the tiny model from
    # memorising its MFT set; the paper's targets (budget_targets false) by default.
    return MFTBuildConfig(profile="", tokenizer="", out="", exams=2400)


@dataclass
class DemoConfig:
    out: str = "runs/demo"
    world: WorldConfig = field(default_factory=WorldConfig)
    eval_count: int = 60  # problem sets per cell (× 3 papers × 2 budgets), one exam seed
    eval_seed: int = 0  # the evaluated exams and the oracle's profile of them
    # seeds every training stage: the profiled tune problems and their samples, the MFT data,
    # MFT, RARL's exams and rollouts (``eval_seed`` and ``world.seed`` are apart)
    seed: int = 0
    # MFT's profile: K base-model samples of each tune problem; a problem none of its K samples
    # solved is refused in the targets, so K sets how often the hard tier's refusal is taught
    profile_per_tier: int = 600
    profile_k: int = 1
    oracle_k: int = 4  # base-model samples per evaluated test problem (the oracle's table)
    batch_size: int = 64  # generation batch of the hf policy
    mft_data: MFTBuildConfig = field(default_factory=_mft_data)
    mft: MFTTrainConfig = field(default_factory=_mft_recipe)
    rarl: RARLConfig = field(default_factory=_rarl_recipe)

    def __post_init__(self) -> None:
        from roi_reasoning.validate import check_fields

        check_fields(self, DEMO_RANGES)
        if self.profile_per_tier > TUNE_SIZE:
            raise ConfigError("profile_per_tier", f"must be <= {TUNE_SIZE} (the tune split)")
        if self.eval_count > self.world.test_size:
            raise ConfigError(
                "eval_count", f"must be <= world.test_size ({self.world.test_size} problems)"
            )
        if self.rarl.per_device_train_batch_size % self.rarl.num_generations:
            raise ConfigError(  # one process: a step's completions are whole groups
                "rarl.per_device_train_batch_size", "must be a multiple of rarl.num_generations"
            )
        self._derive()

    def _derive(self) -> None:
        """The ``DERIVED`` keys: stage paths under ``out``, the world's budgets and level
        bounds, the training seed."""
        out, world = Path(self.out), self.world
        bounds, budgets = list(world.level_bounds), list(world.budgets)
        tune = {
            t: {"source": str(out / runfolder.DEMO_WORLD / "data" / f"{t}.tune.jsonl")}
            for t in TIERS
        }
        mft_data, mft = out / runfolder.DEMO_MFT_DATA, out / runfolder.DEMO_MFT
        common: dict[str, Any] = {
            "level_bounds": bounds,
            "budgets": budgets,
            "seed": self.seed,
            "tiers": tune,
        }
        self.mft_data = replace(
            self.mft_data,
            profile=str(out / runfolder.DEMO_PROFILE),
            tokenizer=str(out / runfolder.DEMO_WORLD),
            out=str(mft_data),
            **common,
        )
        self.mft = replace(
            self.mft,
            model=str(out / runfolder.DEMO_WORLD),
            dataset=str(mft_data),
            out=str(mft),
            seed=self.seed,
        )
        self.rarl = replace(
            self.rarl,
            model=str(mft / runfolder.FINAL),
            out=str(out / runfolder.DEMO_RARL),
            **common,
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
        rarl = replace(
            _rarl_recipe(),
            max_steps=1,
            num_generations=2,
            per_device_train_batch_size=16,
            val_every=1,
            logging_steps=1,
        )
        return cls(
            out=out,
            world=world,
            eval_count=1,
            profile_per_tier=4,
            profile_k=2,
            oracle_k=2,
            mft_data=replace(_mft_data(), exams=6),
            mft=replace(_mft_recipe(), max_steps=2),
            rarl=rarl,
        )


def _refuse_derived(values: dict[str, Any], source: str) -> None:
    """A ``DERIVED`` key set in a file or on the command line: the demo sets it."""
    for section, keys in DERIVED.items():
        given = values.get(section)
        for key in sorted(set(given) & set(keys)) if isinstance(given, dict) else ():
            raise ConfigError(
                f"{section}.{key}",
                "is set by the demo (paths from --out, budgets and level bounds from world.*, "
                "the seed from `seed`)",
                source,
            )


def demo_config(
    out: str, quick: bool = False, path: str | None = None, sets: Sequence[str] = ()
) -> DemoConfig:
    """The demo's settings: defaults (or ``quick``), then a YAML file, then ``KEY=VALUE``s."""
    cfg = DemoConfig.quick(out) if quick else DemoConfig(out=out)
    if path:
        values = load_yaml(path)
        _refuse_derived(values, str(path))
        cfg = build_config(DemoConfig, values, str(path), base=cfg)
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", f"expected KEY=VALUE, got {item!r}", "command line")
        value: Any = yaml_value(raw, key.strip()) if raw.strip() else raw
        for part in reversed(key.strip().split(".")):
            value = {part: value}
        _refuse_derived(value, "command line")
        cfg = build_config(DemoConfig, value, "command line", base=cfg)
    return replace(cfg, out=out)


def record_settings(cfg: DemoConfig) -> None:
    """Record the settings in ``<out>/demo.json`` (atomically); refuse a rerun with other
    settings (cached stages would otherwise mix two configurations). Paths under ``out`` are
    not compared: ``X``, ``X/`` and a moved folder are the same run."""
    from roi_reasoning.runfolder import atomic_write_text, settings_diff

    record = json.loads(json.dumps(asdict(replace(cfg, out=".")), default=list))
    path = Path(cfg.out) / runfolder.DEMO
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
