"""The embedded world: a CPU-only arithmetic benchmark in which the budget trade-off is real, and
a tiny base model trained from scratch that stands in for an instruct model.

- ``WorldConfig``: seed, sizes, level bounds and budgets (tokens of the world tokenizer),
  model and training settings; its hash keys the cache.
- ``write_world(out_dir, cfg)``: ``easy/medium/hard`` JSONL (+ disjoint ``.train``/``.test``/
  ``.tune``: the base model's training problems, the evaluation's, MFT's and RARL's).
- ``build_world_model(cfg, out_dir, progress, force) -> Path``: tokenizer + small Llama +
  ``world.json``, cached under ``default_cache_dir() / <config hash>``.
- ``world_tiers(path, split="test")``: ``EvalConfig.tiers`` entries for a built world.

Run example: ``python -c "from roi_reasoning.world import build_world_model, world_tiers; print(world_tiers(build_world_model()))"``
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from roi_reasoning import runfolder
from roi_reasoning.world.model import build_world_model, default_cache_dir
from roi_reasoning.world.problems import (
    SPLIT_SUFFIX,
    TIERS,
    WorldConfig,
    generate_tier,
    write_world,
)

LAYER = "stages"  # read by tests/test_layering.py

__all__ = [
    "TIERS",
    "WorldConfig",
    "build_world_model",
    "default_cache_dir",
    "generate_tier",
    "load_world",
    "world_tiers",
    "write_world",
]


def load_world(path: str | Path) -> dict[str, Any]:
    """The ``world.json`` of a built world folder."""
    meta = Path(path) / runfolder.WORLD
    if not meta.exists():
        raise FileNotFoundError(f"{meta}: not a built world (run `roi world build`)")
    return json.loads(meta.read_text())


def world_tiers(path: str | Path, split: str = "test") -> dict[str, dict[str, str]]:
    """``{tier: {"source": absolute JSONL path}}`` for ``EvalConfig.tiers``, easiest first.

    ``path`` is a built world folder (with ``world.json``) or a folder from ``write_world``;
    ``split`` is ``test`` (held-out, the default), ``tune`` (unseen by the base model, for MFT
    and RARL), ``train`` (the base model's) or ``all`` (train and test). A built world cached
    before the tune split existed gets its tier files written again from its config (the same
    generator: train and test come out byte-identical).
    """
    if split not in SPLIT_SUFFIX:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLIT_SUFFIX)}")
    folder = Path(path).resolve()
    built = (folder / runfolder.WORLD).exists()
    data = folder / "data" if built else folder
    if built and not all((data / f"{t}{SPLIT_SUFFIX[split]}.jsonl").exists() for t in TIERS):
        write_world(data, WorldConfig(**load_world(folder)["config"]))
    out = {}
    for tier in TIERS:
        source = data / f"{tier}{SPLIT_SUFFIX[split]}.jsonl"
        if not source.exists():
            raise FileNotFoundError(f"{source}: missing world tier file")
        out[tier] = {"source": str(source)}
    return out
