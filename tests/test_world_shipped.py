"""The world shipped in the package: files as in their manifest, config = the recipe, the model
reproduces what ``world.json`` recorded, and the default config installs it without training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from roi_reasoning.config import load_config
from roi_reasoning.world import TIERS, WorldConfig, load_world
from roi_reasoning.world.model import config_hash, is_complete, machine
from roi_reasoning.world.shipped import (
    MANIFEST,
    PRETRAINED,
    install_shipped,
    read_manifest,
    sha256,
)

RECIPE = Path(__file__).resolve().parents[1] / "configs" / "world" / "default.yaml"
META = json.loads((PRETRAINED / "world.json").read_text())


def test_shipped_files_match_their_manifest_and_fit_in_10_mb():
    manifest = read_manifest()
    present = {p.name for p in PRETRAINED.iterdir()} - {MANIFEST}
    assert present == set(manifest["files"])  # nothing unlisted, nothing missing
    for name, digest in manifest["files"].items():
        assert sha256(PRETRAINED / name) == digest, name
    assert sum(p.stat().st_size for p in PRETRAINED.iterdir()) <= 10 * 1024**2
    assert {f"{t}{s}.jsonl" for t in TIERS for s in ("", ".train", ".test", ".tune")} == set(
        manifest["data"]
    )


def test_shipped_config_is_the_recipe_and_the_default():
    recipe = load_config(WorldConfig, str(RECIPE), {})
    assert recipe == WorldConfig()
    assert META["config"] == recipe.to_dict()
    assert META["config_hash"] == config_hash(recipe) == read_manifest()["config_hash"]


def test_shipped_world_meets_its_specification():
    """What the world issue asks of the shipped build, as world.json recorded it."""
    q = META["quality"]
    assert all(q["checks"].values()), q["checks"]
    assert META["gate"]["passed"]
    assert META["training"]["steps"] == WorldConfig().steps  # no early stop


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    return install_shipped(tmp_path_factory.mktemp("world") / "w", WorldConfig())


def test_shipped_model_reproduces_its_recorded_single_accuracies(installed):
    """Greedy singles over the recorded test problems: the same answers, problem by problem,
    on the CPU kind that built it; elsewhere float kernels may flip a near-tie (≤ 2 %)."""
    from roi_reasoning.policies.hf import HFPolicy
    from roi_reasoning.world.model import load_split
    from roi_reasoning.world.quality import measure_single

    files = {t: {k: str(installed / p) for k, p in f.items()} for t, f in META["files"].items()}
    test = load_split(files, "test")
    policy = HFPolicy(model=str(installed), device="cpu", batch_size=64)
    cfg = WorldConfig()
    got = measure_single(policy, test, cfg, min(cfg.eval_size, cfg.test_size))
    same_machine = META["machine"] == machine()
    for tier in TIERS:
        want = META["quality"]["single"][tier]["correct"]
        differ = sum(a != b for a, b in zip(got[tier]["correct"], want, strict=True))
        assert differ <= (0 if same_machine else 0.02 * len(want)), (tier, differ)
        if same_machine:
            assert got[tier] == META["quality"]["single"][tier]


def test_default_config_installs_the_shipped_world_without_training(tmp_path, monkeypatch):
    import roi_reasoning.world.model as world_model

    def boom(*args, **kwargs):
        raise AssertionError("trained instead of installing the shipped world")

    monkeypatch.setattr(world_model, "train_model", boom)
    path = world_model.build_world_model(WorldConfig(), tmp_path, progress=False)
    assert path == tmp_path / config_hash(WorldConfig()) and is_complete(path, WorldConfig())
    assert load_world(path) == META
    assert (path / "data" / "hard.test.jsonl").exists()  # regenerated from the seed
    assert world_model.build_world_model(WorldConfig(), tmp_path, progress=False) == path


def test_install_refuses_a_damaged_file_and_leaves_nothing(tmp_path):
    source = tmp_path / "pretrained"
    shutil.copytree(PRETRAINED, source)
    with open(source / "tokenizer.json", "a") as fh:
        fh.write(" ")
    with pytest.raises(ValueError, match="tokenizer.json: sha256 differs"):
        install_shipped(tmp_path / "w", WorldConfig(), source)
    assert not (tmp_path / "w").exists() and not (tmp_path / "w.installing").exists()


def test_install_refuses_tier_files_another_generator_would_write(tmp_path):
    with pytest.raises(ValueError, match="regenerated tier files differ"):
        install_shipped(tmp_path / "w", WorldConfig(seed=5))  # another seed: other problems
    assert not (tmp_path / "w").exists()
