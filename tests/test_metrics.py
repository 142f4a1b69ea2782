import numpy as np
import pytest

from roi_reasoning.metrics import bootstrap_ci, compute_cells
from roi_reasoning.records import ExamOutcome, ProblemOutcome

BOUNDS = (10, 20, 40)


def outcome(pid, pos, status, tokens=5, pred=None, actual=0, points=1.0):
    return ProblemOutcome(
        pid, pos, status, tokens, pred, actual if status != "unreached" else None, None, points
    )


def exam(group, kind, method, problems, budget=60, used=None, truncated=False):
    used = sum(p.tokens for p in problems) if used is None else used
    return ExamOutcome(
        f"{group}-{kind}", group, kind, budget, method, tuple(problems), used, "", truncated
    )


def test_bootstrap_ci_brackets_the_mean_and_is_seeded():
    ci = bootstrap_ci([0, 1, 2, 3, 1, 2, 2, 1], seed=1)
    assert ci["lo"] < ci["mean"] < ci["hi"] and ci["mean"] == pytest.approx(1.5)
    assert ci == bootstrap_ci([0, 1, 2, 3, 1, 2, 2, 1], seed=1)
    assert bootstrap_ci([2, 2, 2])["lo"] == bootstrap_ci([2, 2, 2])["hi"] == 2


def test_cells_score_regret_positions_levels_and_skips():
    rows = []
    for g in ("g1", "g2"):
        rows.append(
            exam(
                g,
                "easy",
                "m",
                [
                    outcome(f"{g}a", 0, "correct", 5, pred=0, actual=0),
                    outcome(f"{g}b", 1, "correct", 15, pred=0, actual=1),
                    outcome(f"{g}c", 2, "exhausted", 40, pred=2, actual=2),
                ],
                truncated=True,
            )
        )
        rows.append(
            exam(
                g,
                "hard",
                "m",
                [
                    outcome(f"{g}c", 0, "skipped", 3, pred=3, actual=0),
                    outcome(f"{g}b", 1, "wrong", 15, pred=1, actual=1),
                    outcome(
                        f"{g}a", 2, "correct", 5, pred=0, actual=0, points=2.0 if g == "g1" else 1.0
                    ),
                ],
            )
        )
    cells = {c["kind"]: c for c in compute_cells(rows, BOUNDS)}
    easy, hard = cells["easy"], cells["hard"]
    assert easy["score"]["mean"] == 2 and hard["score"]["mean"] == 1.5
    assert easy["regret_tilde"] == 0 and hard["regret_tilde"] == pytest.approx(0.25)
    assert easy["position_accuracy"] == [1, 1, 0] and hard["position_accuracy"] == [0, 0, 1]
    assert easy["position_tokens"] == [5, 15, 40]
    # levels: skipped problems excluded; easy has 2 of 3 right per exam, hard 2 of 2
    assert easy["level_accuracy"] == pytest.approx(2 / 3) and hard["level_accuracy"] == 1
    assert np.array(easy["confusion"]).sum() == 6 and easy["confusion"][0][1] == 2
    # the skipped problem c was only ever attempted (exhausted) without success: precise skip
    assert hard["skip_rate"] == pytest.approx(1 / 3) and hard["skip_precision"] == 1
    assert easy["skip_precision"] is None
    assert easy["exhausted_exams"] == 1 and hard["exhausted_exams"] == 0
    assert easy["status_counts"]["exhausted"] == 2 and easy["budget_utilisation"] == pytest.approx(
        1
    )
    assert easy["oracle_value"] is None


def test_skip_precision_is_low_when_the_method_solves_it_elsewhere():
    rows = [
        exam("g", "easy", "m", [outcome("a", 0, "correct"), outcome("b", 1, "skipped")]),
        exam("g", "hard", "m", [outcome("b", 0, "correct"), outcome("a", 1, "skipped")]),
    ]
    cells = compute_cells(rows, BOUNDS)
    assert [c["skip_precision"] for c in cells] == [0, 0]


def test_oracle_from_profiles():
    rows = [
        exam(
            "g",
            "easy",
            "m",
            [outcome("a", 0, "correct", 5), outcome("b", 1, "wrong", 50)],
            budget=30,
        )
    ]
    profiles = {"a": [(5, True), (8, True)], "b": [(50, True), (20, True), (25, False)]}
    (cell,) = compute_cells(rows, BOUNDS, profiles=profiles)
    assert cell["oracle_value"] == 2  # 5 + 20 tokens <= 30
    assert cell["oracle_regret"] == 1 and cell["oracle_gap"] == 0.5
    (no_profile,) = compute_cells(rows, BOUNDS, profiles={"a": [(5, True)]})
    assert no_profile["oracle_value"] is None
