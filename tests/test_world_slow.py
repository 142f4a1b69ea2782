"""The default world model (built once, ~3 minutes on 2 cores, then cached): the quality bar."""

from __future__ import annotations

import pytest

from roi_reasoning.world import WorldConfig, build_world_model, load_world, world_tiers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world():
    return build_world_model(WorldConfig(), progress=False)


def test_accuracy_falls_with_the_tier(world):
    single = load_world(world)["quality"]["single"]
    acc = {t: r["accuracy"] for t, r in single.items()}
    assert acc["easy"] >= 0.6 and acc["hard"] <= 0.2, acc
    assert acc["easy"] > acc["medium"] > acc["hard"], acc
    assert single["hard"]["tokens"] > min(WorldConfig().budgets)  # hard eats the tight budget


def test_papers_in_order_and_the_tight_budget_trade_off(world):
    papers = load_world(world)["quality"]["papers"]
    assert papers["in_order"] >= 0.8
    tight = papers["score"][f"B{min(WorldConfig().budgets)}"]
    assert tight["easy"] >= tight["hard"] + 0.2, tight  # Regret~ > 0 for the base model


def test_run_eval_with_the_hf_policy(world, tmp_path):
    from roi_reasoning.evaluation.evaluate import EvalConfig, run_eval

    cfg = WorldConfig()
    results = run_eval(
        EvalConfig(
            out=str(tmp_path / "run"),
            methods=["base"],
            policy="hf",
            policy_args={"model": str(world), "batch_size": 32},
            tiers=world_tiers(world),
            level_bounds=list(cfg.level_bounds),
            budgets=[min(cfg.budgets)],
            count=6,
        ),
        progress=False,
    )
    score = {c["kind"]: c["score"] for c in results["cells"]}
    assert set(score) == {"easy", "medium", "hard"}
