"""`roi demo --quick`: every stage of the pipeline runs for real, smoke-sized, and caches."""

import json

from roi_reasoning.cli import main


def test_quick_demo_end_to_end_and_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROI_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    report = (out / "report.md").read_text()
    for label in (
        "base",
        "greedy-knapsack",
        "planner",
        "roi-greedy-knapsack",  # Greedy Knapsack on the MFT model's tags
        "roi-planner",
        "roi (mft)",
        "roi (mft+rarl)",
        "Hard/24",
        "Easy/48",
        "oracle",
        "Budget conditioning",
        "roi (mft+rarl) − roi (mft)",  # the paired difference
        "learning curve",
    ):
        assert label in report, label
    cells = json.loads((out / "eval" / "mft" / "results.json").read_text())["cells"]
    assert all(c["oracle_value"] is not None and c["bellman_value"] is not None for c in cells)
    curve = (out / "rarl" / "curve.jsonl").read_text().splitlines()
    assert len(curve) >= 2 and json.loads(curve[0])["val_reward"] is not None
    assert len(list((out / "plots").glob("*.png"))) >= 2
    stages = json.loads((out / "timings.json").read_text())
    assert list(stages)[:6] == [
        "world model",
        "profile",
        "mft data",
        "mft train",
        "rarl train",
        "profile test",
    ]
    for name in ("base", "mft", "mft+rarl"):
        assert (out / "eval" / name / "results.json").exists()
    # the demo's MFT data build: every target is paid exactly by the RARL reward (world tokenizer)
    from transformers import AutoTokenizer

    from conftest import check_mft_round_trip

    tok = AutoTokenizer.from_pretrained(out / "world")
    counts = check_mft_round_trip(out / "mft-data" / "targets.jsonl", tok, (8, 16, 32))
    assert counts["rows"] > 0
    # a rerun finds every stage done: nothing is retrained or re-evaluated
    before = (out / "eval" / "base" / "samples.jsonl").read_text()
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    assert (out / "eval" / "base" / "samples.jsonl").read_text() == before
    assert "(cached)" in capsys.readouterr().err


def test_world_recipes_are_the_demo_settings(tmp_path):
    """configs/{mft,rarl}/world.yaml equal the demo's stage configs for --out runs/demo."""
    from dataclasses import asdict
    from pathlib import Path

    from roi_reasoning.config import load_config
    from roi_reasoning.demo import DemoConfig, stage_configs
    from roi_reasoning.mft import MFTTrainConfig
    from roi_reasoning.rarl import RARLConfig
    from roi_reasoning.world import write_world

    root = Path(__file__).resolve().parents[1]
    write_world(tmp_path / "world", DemoConfig().world)  # stage_configs reads the tier files
    demo = stage_configs(DemoConfig(out="runs/demo"), tmp_path / "world")
    for name, cls in (("mft", MFTTrainConfig), ("rarl", RARLConfig)):
        recipe = asdict(load_config(cls, root / "configs" / name / "world.yaml", {}))
        expected = asdict(demo[f"{name} train"])
        expected["model"] = expected["model"].replace(str(tmp_path / "world"), "runs/demo/world")
        if "tiers" in expected:
            expected["tiers"] = {
                t: {"source": f"runs/demo/world/data/{t}.tune.jsonl"} for t in expected["tiers"]
            }
        if expected.get("val_tiers"):
            expected["val_tiers"] = {
                t: {"source": f"runs/demo/world/data/{t}.test.jsonl"} for t in expected["val_tiers"]
            }
        assert recipe == expected, name


def test_demo_settings_from_yaml_and_dotted_sets_and_refused_reruns(tmp_path):
    import pytest

    from roi_reasoning.data import ConfigError
    from roi_reasoning.demo import _check_out, demo_config

    recipe = tmp_path / "demo.yaml"
    recipe.write_text("rarl_steps: 7\nworld:\n  seed: 4\n  budgets: [100, 200]\n")
    cfg = demo_config(
        str(tmp_path / "out"), path=str(recipe), sets=["world.seed=5", "eval_count=9"]
    )
    assert (cfg.rarl_steps, cfg.world.seed, cfg.world.budgets, cfg.eval_count) == (
        7,
        5,
        (100, 200),
        9,
    )
    assert demo_config("o", quick=True, sets=["rarl_lr=0.001"]).world.steps == 20  # quick kept
    for bad, key in (
        (["world.sed=1"], "world.sed"),
        (["rarl_steps=many"], "rarl_steps"),
        (["world.level_bounds=[9, 3]"], "world"),
        (["=3"], "--set"),
    ):
        with pytest.raises(ConfigError, match=key):
            demo_config("o", sets=bad)
    _check_out(cfg)
    _check_out(cfg)  # the same settings: fine
    with pytest.raises(ConfigError, match="other settings"):
        _check_out(demo_config(cfg.out, sets=["rarl_steps=8"]))


def test_training_seed_reaches_every_training_stage_and_no_evaluation(tmp_path):
    """``--set seed=K`` seeds the profile (problems and sampling), the MFT data, MFT and RARL;
    the evaluated exams, the oracle's profile and the world stay those of ``eval_seed`` and
    ``world.*``."""
    from dataclasses import asdict

    from roi_reasoning.demo import DemoConfig, demo_config, stage_configs
    from roi_reasoning.world import write_world

    write_world(tmp_path / "world", DemoConfig().world)
    base = stage_configs(demo_config("o"), tmp_path / "world")
    seeded = stage_configs(demo_config("o", sets=["seed=3"]), tmp_path / "world")
    for name in ("profile", "mft data", "mft train", "rarl train"):
        assert seeded[name].seed == 3 and base[name].seed == 0, name
    assert seeded["profile"].policy_args["seed"] == 3
    for name in [k for k in base if k.startswith("eval ")] + ["profile test"]:
        assert asdict(seeded[name]) == asdict(base[name]), name
    assert seeded["mft data"].budget_targets is False  # the paper's MFT by default
    hindsight = demo_config("o", sets=["mft_budget_targets=true"])
    assert stage_configs(hindsight, tmp_path / "world")["mft data"].budget_targets is True
