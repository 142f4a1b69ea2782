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
    # levels: skipped problems excluded, the budget-cut (exhausted) c censored, not counted:
    # easy has 1 of 2 finished segments right per exam, hard 2 of 2
    assert easy["level_accuracy"] == pytest.approx(1 / 2) and hard["level_accuracy"] == 1
    assert np.array(easy["confusion"]).sum() == 4 and easy["confusion"][0][1] == 2
    assert easy["level_censored"] == 2 and hard["level_censored"] == 0
    # the skipped problem c was only ever attempted and cut (exhausted): a cut attempt says
    # nothing about whether the method solves it, so the skip is not judged
    assert hard["skip_rate"] == pytest.approx(1 / 3) and hard["skip_precision"] is None
    assert easy["skip_precision"] is None
    assert hard["skip_tag_answered"] == 0 and easy["skip_tag_answered"] is None
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


def test_skip_precision_judges_finished_attempts_and_skip_tags_followed_by_answers():
    rows = [
        exam("g", "easy", "m", [outcome("a", 0, "wrong", 9), outcome("b", 1, "wrong", 9, pred=3)]),
        exam("g", "hard", "m", [outcome("b", 0, "correct"), outcome("a", 1, "skipped", pred=3)]),
    ]
    easy, hard = compute_cells(rows, BOUNDS)
    assert hard["skip_precision"] == 1  # a was tried and finished, wrong: a precise skip
    assert easy["skip_tag_answered"] == 1 and hard["skip_tag_answered"] == 0  # Level-3 + answer


def test_regret_tilde_averages_every_exam_of_a_group():
    """Two Easy exams in one group (pooled seeds): both count, not only the last one seen."""
    rows = [
        exam("g", "easy", "m", [outcome("a", 0, "correct"), outcome("b", 1, "correct")]),
        ExamOutcome("g-easy-2", "g", "easy", 60, "m", (outcome("a", 0, "wrong"),), 5),
        exam("g", "hard", "m", [outcome("b", 0, "correct"), outcome("a", 1, "wrong")]),
    ]
    cells = {c["kind"]: c for c in compute_cells(rows, BOUNDS)}
    assert cells["hard"]["regret_tilde"] == pytest.approx((1 - 1) / 1)  # S_easy(g) = (2+0)/2
    rows[1] = ExamOutcome("g-easy-2", "g", "easy", 60, "m", (outcome("a", 0, "correct"),), 5)
    cells = {c["kind"]: c for c in compute_cells(rows, BOUNDS)}
    assert cells["hard"]["regret_tilde"] == pytest.approx((1.5 - 1) / 1.5)
