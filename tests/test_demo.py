"""`roi demo --quick`: every stage of the pipeline runs for real, smoke-sized, and caches."""

import json
import runpy
from pathlib import Path

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

    from roi_reasoning.testing import check_mft_round_trip

    tok = AutoTokenizer.from_pretrained(out / "world")
    counts = check_mft_round_trip(out / "mft-data" / "targets.jsonl", tok, (8, 16, 32))
    assert counts["rows"] > 0
    # a rerun finds every stage done: nothing is retrained or re-evaluated
    before = (out / "eval" / "base" / "samples.jsonl").read_text()
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    assert (out / "eval" / "base" / "samples.jsonl").read_text() == before
    assert "(cached)" in capsys.readouterr().err
    # bench/decision_probe.py reads the finished demo: each model, probe and problem group a row
    probe = runpy.run_path(str(Path(__file__).parents[1] / "bench" / "decision_probe.py"))
    assert probe["main"]([str(out)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if "  " in line]
    rows = [r for r in rows if r[0] in ("tag", "NA")]
    assert {(r[0], r[1]) for r in rows} == {("tag", "top"), ("NA", "|")}
    assert len(rows) >= 2 * 3  # two models × three probes, at least one problem group each
    assert all(0.0 <= float(r[-3]) <= 1.0 and 0.0 <= float(r[-2]) <= 1.0 for r in rows)
    assert probe["main"]([str(tmp_path / "nothing")]) == 2


def test_world_recipes_are_the_demo_sections():
    """configs/{mft,rarl}/world.yaml are the files the demo loads as its `mft:` and `rarl:`
    sections, and for --out runs/demo the demo's sections equal them, paths included."""
    from dataclasses import asdict
    from pathlib import Path

    from roi_reasoning.config import load_config
    from roi_reasoning.demo.config import RECIPES, DemoConfig
    from roi_reasoning.training.mft import MFTTrainConfig
    from roi_reasoning.training.rarl import RARLConfig

    root = Path(__file__).resolve().parents[1]
    demo = DemoConfig(out="runs/demo")
    for name, cls in (("mft", MFTTrainConfig), ("rarl", RARLConfig)):
        link = root / "configs" / name / "world.yaml"
        assert link.resolve() == (RECIPES / f"{name}.yaml").resolve(), name
        assert asdict(load_config(cls, link, {})) == asdict(getattr(demo, name)), name


def test_demo_settings_from_yaml_and_dotted_sets_and_refused_reruns(tmp_path):
    import pytest

    from roi_reasoning.demo.config import demo_config, record_settings
    from roi_reasoning.errors import ConfigError

    recipe = tmp_path / "demo.yaml"
    recipe.write_text("rarl:\n  max_steps: 7\nworld:\n  seed: 4\n  budgets: [100, 200]\n")
    cfg = demo_config(
        str(tmp_path / "out"), path=str(recipe), sets=["world.seed=5", "eval_count=9"]
    )
    assert (cfg.rarl.max_steps, cfg.world.seed, cfg.world.budgets, cfg.eval_count) == (
        7,
        5,
        (100, 200),
        9,
    )
    # the sections follow the world's budgets and the output folder
    assert cfg.rarl.budgets == cfg.mft_data.budgets == [100, 200]
    assert cfg.rarl.model == str(tmp_path / "out" / "mft" / "final")
    assert cfg.rarl.beta == 0.04 and cfg.rarl.trainer == {"cache_implementation": "static"}
    quick = demo_config("o", quick=True, sets=["rarl.learning_rate=0.001"])
    assert quick.world.steps == 20 and quick.rarl.max_steps == 1  # quick kept
    assert quick.rarl.learning_rate == 0.001
    merged = demo_config("o", sets=["rarl.trainer.top_k=5"]).rarl.trainer
    assert merged == {"cache_implementation": "static", "top_k": 5}  # mappings merge
    for bad, key in (
        (["world.sed=1"], "world.sed"),
        (["rarl.max_steps=many"], "rarl.max_steps"),
        (["rarl.beta=-1"], "rarl.beta"),
        (["mft.learning_rate=.inf"], "mft.learning_rate"),
        (["rarl.num_generations=3"], "rarl.per_device_train_batch_size"),
        (["world.level_bounds=[9, 3]"], "world"),
        (["rarl.out=elsewhere"], "rarl.out"),
        (["mft.seed=3"], "mft.seed"),
        (["mft_data.budgets=[5]"], "mft_data.budgets"),
        (["rarl_steps=3"], "rarl_steps"),  # the flat keys are gone
        (["=3"], "--set"),
    ):
        with pytest.raises(ConfigError, match=key):
            demo_config("o", sets=bad)
    derived = tmp_path / "derived.yaml"
    derived.write_text("mft:\n  model: other\n")
    with pytest.raises(ConfigError, match="mft.model"):
        demo_config("o", path=str(derived))
    record_settings(cfg)
    record_settings(cfg)  # the same settings: fine
    with pytest.raises(ConfigError, match="other settings"):
        record_settings(demo_config(cfg.out, sets=["rarl.max_steps=8"]))


def test_training_seed_reaches_every_training_stage_and_no_evaluation(tmp_path):
    """``--set seed=K`` seeds the profile (problems and sampling), the MFT data, MFT and RARL;
    the evaluated exams, the oracle's profile and the world stay those of ``eval_seed`` and
    ``world.*``."""
    from dataclasses import asdict

    from roi_reasoning.demo.config import DemoConfig, demo_config
    from roi_reasoning.demo.pipeline import eval_config, profile_config, training_configs
    from roi_reasoning.world import write_world

    world = tmp_path / "world"
    write_world(world, DemoConfig().world)  # the stage configs read the tier files
    base, seeded = demo_config("o"), demo_config("o", sets=["seed=3"])
    assert profile_config(seeded, world, "tune").seed == 3
    assert profile_config(seeded, world, "tune").policy_args["seed"] == 3
    assert profile_config(base, world, "tune").seed == 0
    for a, b in zip(training_configs(seeded, world), training_configs(base, world), strict=True):
        assert a.seed == 3 and b.seed == 0, a
    assert asdict(profile_config(seeded, world, "test")) == asdict(
        profile_config(base, world, "test")
    )
    for name in ("base", "mft", "mft+rarl"):
        args = (world, name, world / name, ["roi"])
        assert asdict(eval_config(seeded, *args)) == asdict(eval_config(base, *args)), name
    assert base.mft_data.budget_targets is False  # the paper's MFT by default
    hindsight = demo_config("o", sets=["mft_data.budget_targets=true"])
    assert training_configs(hindsight, world)[0].budget_targets is True
