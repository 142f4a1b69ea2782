"""training.curve's row format and validation metrics, the within-group reward std, and the report's
curve summary and plot on old-format (rewards only) and new-format ``curve.jsonl`` files.
Offline, CPU, no model: TRL-like log dicts and hand-made exam outcomes."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
import torch

from roi_reasoning.records import ExamOutcome, ProblemOutcome
from roi_reasoning.report.curve import curve_summary
from roi_reasoning.training.curve import curve_row, refused, skip_rate_by_budget, validation_metrics
from roi_reasoning.training.rarl_trainer import GROUP_STD, group_reward_std

TOP = 3  # three level bounds: Level-3 is the skip level


def problem(i: int, tier: str, status: str, level: int | None, actual: int | None = 0):
    return ProblemOutcome(
        problem_id=f"{tier}{i}",
        position=i,
        status=status,
        tokens=10,
        predicted_level=level,
        actual_level=actual,
        answer=None if status in ("skipped", "unreached") else "2",
        tier=tier,
    )


def exam(eid: str, budget: int, *problems: ProblemOutcome) -> ExamOutcome:
    return ExamOutcome(
        exam_id=eid,
        group=eid,
        kind="easy",
        budget=budget,
        method="roi",
        outcomes=problems,
        tokens_used=30,
        top_level=TOP,
    )


def validation_outcomes() -> list[ExamOutcome]:
    """Two problem sets at B=128 and B=512, each an easy and two hard problems. At 128 three of
    four hard problems are refused (NA, a skip tag then a guess, NA); at 512 one (a skip tag then
    NA) and one is unreached, which counts in the denominator but is no refusal."""
    return [
        exam(
            "a128",
            128,
            problem(0, "easy", "correct", 0),
            problem(1, "hard", "skipped", TOP, None),
            problem(2, "hard", "wrong", TOP),
        ),
        exam(
            "b128",
            128,
            problem(0, "easy", "correct", 1),
            problem(1, "hard", "correct", 0),
            problem(2, "hard", "skipped", None, None),
        ),
        exam(
            "a512",
            512,
            problem(0, "easy", "correct", 0),
            problem(1, "hard", "wrong", 1, 1),
            problem(2, "hard", "unreached", None, None),
        ),
        exam(
            "b512",
            512,
            problem(0, "easy", "correct", 0),
            problem(1, "hard", "correct", 2, 2),
            problem(2, "hard", "skipped", TOP, None),
        ),
    ]


def test_refusal_is_na_or_the_skip_tag():
    assert refused(problem(0, "hard", "skipped", None), TOP)  # \boxed{NA} without a tag
    assert refused(problem(0, "hard", "wrong", TOP), TOP)  # skip tag, then a guess
    assert not refused(problem(0, "hard", "wrong", TOP - 1), TOP)
    assert not refused(problem(0, "hard", "unreached", None, None), TOP)


def test_hardest_tier_skip_rate_per_budget_from_the_same_outcomes():
    outcomes = validation_outcomes()
    assert skip_rate_by_budget(outcomes, "hard") == {128: 0.75, 512: 0.25}
    assert skip_rate_by_budget(outcomes, "easy") == {128: 0.0, 512: 0.0}
    assert skip_rate_by_budget(outcomes, "nope") == {}
    metrics = validation_metrics(outcomes, hardest_tier="hard")
    assert metrics["val/skip_hard_B128"] == 0.75 and metrics["val/skip_hard_B512"] == 0.25
    # exam reward: correct with the right level (a skip tag never pays): a128 1, b128 1 (its
    # easy problem is tagged Level-1 but took Level-0 tokens), a512 1, b512 1 + 1
    assert metrics["val/reward_B128"] == pytest.approx(1.0)
    assert metrics["val/reward_B512"] == pytest.approx(1.5)
    assert metrics["val/reward"] == pytest.approx(1.25)
    # level accuracy over tagged, finished, not-skipped problems: 6 of the 8 tagged answers
    # (a128's skip-tagged guess predicted Level-3 for Level 0, b128's easy Level-1 for Level 0)
    assert metrics["val/level_accuracy"] == pytest.approx(6 / 8)
    assert not any(k.startswith("val/skip") for k in validation_metrics(outcomes))


def test_curve_row_keeps_trl_spread_kl_and_the_validation_refusals():
    logs = {
        "loss": 0.1,
        "reward": 0.5,
        "reward_std": 0.4,
        "frac_reward_zero_std": 0.25,
        "kl": 0.003,
        GROUP_STD: 0.3,
        "rewards/exam/mean": 0.5,
        "entropy": 1.2,
        "val/reward": 0.75,
        "val/reward_B128": 0.5,
        "val/reward_B512": 1.0,
        "val/level_accuracy": 0.6,
        "val/skip_tier_B2_B128": 0.9,  # a tier named "tier_B2": the budget follows the last _B
        "val/skip_tier_B2_B512": 0.2,
    }
    assert curve_row(4, logs) == {
        "step": 4,
        "train_reward": 0.5,
        "train_reward_std": 0.4,
        "train_reward_group_std": 0.3,
        "frac_zero_std": 0.25,
        "kl": 0.003,
        "val_reward": 0.75,
        "val_reward_by_budget": {"128": 0.5, "512": 1.0},
        "val_level_accuracy": 0.6,
        "hardest_tier": "tier_B2",
        "val_skip_hardest_by_budget": {"128": 0.9, "512": 0.2},
    }
    row = curve_row(5, {"reward": 0.5, "reward_std": 0.1, "frac_reward_zero_std": 1.0})
    assert row["kl"] is None and row["val_reward"] is None and row["hardest_tier"] is None
    assert row["val_skip_hardest_by_budget"] == {} and row["frac_zero_std"] == 1.0


def test_group_reward_std_is_within_groups_not_over_the_batch():
    weights = torch.tensor([1.0])
    rewards = torch.tensor([[1.0], [1.0], [0.0], [2.0]])  # groups of 2: {1, 1} and {0, 2}
    assert group_reward_std(rewards, weights, 2) == pytest.approx(math.sqrt(2) / 2)
    assert group_reward_std(rewards, weights, 4) == pytest.approx(torch.std(rewards).item())
    # an unscored row (every function None -> NaN) drops out of its group, as in TRL: groups
    # {1, 1, -} (std 0) and {2, 3, 5} (Bessel-corrected variance 7/3)
    unscored = torch.tensor([[1.0], [1.0], [float("nan")], [2.0], [3.0], [5.0]])
    assert group_reward_std(unscored, weights, 3) == pytest.approx(math.sqrt(7 / 3) / 2)
    assert group_reward_std(rewards, weights, 1) == 0.0


OLD = [
    {"step": 0, "train_reward": None, "val_reward": 0.25, "val_reward_by_budget": {"128": 0.0}},
    {"step": 5, "train_reward": 0.5, "val_reward": None, "val_reward_by_budget": {}},
    {"step": 10, "train_reward": 1.25, "val_reward": 0.75, "val_reward_by_budget": {"128": 0.5}},
]


def new_rows() -> list[dict]:
    none = {"train_reward_std": None, "train_reward_group_std": None, "frac_zero_std": None}
    skips = [{"128": 0.5, "512": 0.0}, {}, {"128": 0.9, "512": 0.25}]
    spread = [
        none,
        {"train_reward_std": 0.6, "train_reward_group_std": 0.4, "frac_zero_std": 0.5},
        {"train_reward_std": 0.3, "train_reward_group_std": 0.2, "frac_zero_std": 0.75},
    ]
    rows = []
    for old, skip, more, kl in zip(OLD, skips, spread, (None, 0.0021, 0.0134), strict=True):
        val = old["val_reward"] is not None
        rows.append(
            {
                **old,
                **more,
                "kl": kl,
                "val_level_accuracy": 0.5 if val else None,
                "hardest_tier": "hard" if val else None,
                "val_skip_hardest_by_budget": skip,
            }
        )
    return rows


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_curve_summary_of_an_old_file_omits_the_new_values(tmp_path):
    assert curve_summary(write(tmp_path / "curve.jsonl", OLD)) == (
        "validation reward 0.25 → 0.75 (step 0 → 10); B=128 0.00 → 0.50 (step 0 → 10); "
        "train reward 0.50 → 1.25 (step 5 → 10)."
    )


def test_curve_summary_of_a_new_file_adds_spread_kl_and_skip_rates(tmp_path):
    assert curve_summary(write(tmp_path / "curve.jsonl", new_rows())) == (
        "validation reward 0.25 → 0.75 (step 0 → 10); B=128 0.00 → 0.50 (step 0 → 10); "
        "hard skip rate B=128 0.50 → 0.90 (step 0 → 10); "
        "hard skip rate B=512 0.00 → 0.25 (step 0 → 10); "
        "train reward 0.50 → 1.25 (step 5 → 10); train reward std 0.60 → 0.30 (step 5 → 10); "
        "within-group std 0.40 → 0.20 (step 5 → 10); "
        "zero-variance groups 0.50 → 0.75 (step 5 → 10); KL 0.0134 (step 10)."
    )


def png_height(path: Path) -> int:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", data[16:24])[1]  # IHDR: width, height


def test_plot_adds_the_share_panel_only_when_logged(tmp_path):
    pytest.importorskip("matplotlib")
    from roi_reasoning.report.plots import _share_series, plot_curve

    old = plot_curve(write(tmp_path / "old.jsonl", OLD), tmp_path / "old.png")
    new = plot_curve(write(tmp_path / "new.jsonl", new_rows()), tmp_path / "new.png")
    assert _share_series(OLD) == {}
    assert set(_share_series(new_rows())) == {
        "hard skipped (validation), B=128",
        "hard skipped (validation), B=512",
        "zero-variance groups (train)",
    }
    assert png_height(new) > 1.3 * png_height(old)  # a second panel below the rewards
