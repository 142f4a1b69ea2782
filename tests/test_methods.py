"""Two-pass baselines (Greedy Knapsack, Bellman planner) driven through the scripted policy."""

import json

import pytest

from roi_reasoning.data import read_records
from roi_reasoning.evaluation.evaluate import EvalConfig, run_eval

BOUNDS = [30, 60, 120]  # whitespace tokens: easy ≈ L0, medium ≈ L1, hard > L2 (Level-3)
BEHAVIOURS = {
    "easy": {"cost": [20, 30], "p_correct": 1.0},
    "medium": {"cost": [31, 40], "p_correct": 1.0},
    "hard": {"cost": [150, 200], "p_correct": 0.0},
}


@pytest.fixture
def profiles(tmp_path):
    path = tmp_path / "profiles.jsonl"
    rows = [("e", 25, 1), ("e", 22, 1), ("m", 35, 1), ("m", 38, 1), ("h", 170, 0), ("h", 190, 1)]
    path.write_text(
        "".join(json.dumps({"problem_id": p, "tokens": t, "correct": c}) + "\n" for p, t, c in rows)
    )
    return str(path)


def _run(tmp_path, methods, **kw):
    cfg = EvalConfig(
        out=str(tmp_path / "run"),
        methods=methods,
        policy_args={"behaviours": BEHAVIOURS, "bounds": BOUNDS},
        level_bounds=BOUNDS,
        budgets=[100],
        count=5,
        centroids=[20, 45, 90],
        **kw,
    )
    results = run_eval(cfg, progress=False)
    return {(c["method"], c["kind"]): c for c in results["cells"]}, read_records(
        tmp_path / "run" / "samples.jsonl"
    )


def test_greedy_knapsack_drops_level3_and_charges_both_passes(tmp_path):
    cells, rows = _run(tmp_path, ["base", "greedy-knapsack"])
    assert cells[("base", "hard")]["score"]["mean"] == 0
    for kind in ("easy", "medium", "hard"):
        cell = cells[("greedy-knapsack", kind)]
        assert cell["score"]["mean"] == 2 and cell["regret_tilde"] == 0
        assert cell["skip_rate"] == pytest.approx(1 / 3) and cell["level_accuracy"] == 1
        assert cell["skip_rate_by_tier"] == {"easy": 0.0, "medium": 0.0, "hard": 1.0}
    for row in (r for r in rows if r["method"] == "greedy-knapsack"):
        per_problem = sum(o["tokens"] for o in row["outcomes"])
        assert (
            per_problem == row["tokens_used"] <= row["budget"]
        )  # tag pass (4 per problem) + solve pass
        hard = [o for o in row["outcomes"] if o["status"] == "skipped"]
        assert len(hard) == 1 and hard[0]["predicted_level"] == 3 and hard[0]["tokens"] == 4


def test_greedy_keeps_nothing_when_tags_eat_the_budget(tmp_path):
    cfg = EvalConfig(
        out=str(tmp_path / "tiny"),
        methods=["greedy-knapsack"],
        policy_args={"behaviours": BEHAVIOURS, "bounds": BOUNDS},
        level_bounds=BOUNDS,
        budgets=[10],
        count=2,
        kinds=["easy"],
    )
    (cell,) = run_eval(cfg, progress=False)["cells"]
    assert cell["score"]["mean"] == 0 and cell["status_counts"]["skipped"] == 6


def test_planner_skips_what_the_profile_says_is_not_worth_it(tmp_path, profiles):
    cells, rows = _run(tmp_path, ["planner"], profiles=profiles)
    for kind in ("easy", "medium", "hard"):
        assert cells[("planner", kind)]["score"]["mean"] == 2
    assert all(r["tokens_used"] <= r["budget"] for r in rows)


def test_planner_without_profiles_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="planner method needs --profiles"):
        _run(tmp_path, ["planner"])


def test_roi_tag_pass_reads_each_problems_leading_tag_and_charges_only_it(tmp_path, profiles):
    """roi-greedy-knapsack / roi-planner: pass 1 is one roi-format prompt per problem, cut after
    the tag that opens the answer; the scripted model writes header + tag (4 tokens) first."""
    cells, rows = _run(tmp_path, ["roi-greedy-knapsack", "roi-planner"], profiles=profiles)
    for method in ("roi-greedy-knapsack", "roi-planner"):
        for kind in ("easy", "medium", "hard"):
            assert cells[(method, kind)]["score"]["mean"] == 2
        assert cells[(method, "easy")]["skip_rate_by_tier"]["hard"] == 1.0
    for row in rows:
        assert sum(o["tokens"] for o in row["outcomes"]) == row["tokens_used"] <= row["budget"]
        (hard,) = [o for o in row["outcomes"] if o["status"] == "skipped"]
        assert hard["predicted_level"] == 3 and hard["tokens"] == 4  # "## Problem 1\n" + tag
