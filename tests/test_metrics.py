import dataclasses

import numpy as np
import pytest

from roi_reasoning.metrics import bootstrap_ci, compute_cells
from roi_reasoning.records import ExamOutcome, ProblemOutcome

BOUNDS = (10, 20, 40)


def outcome(pid, pos, status, tokens=5, pred=None, actual=0, points=1.0):
    return ProblemOutcome(
        problem_id=pid,
        position=pos,
        status=status,
        tokens=tokens,
        predicted_level=pred,
        actual_level=actual if status != "unreached" else None,
        answer=None,
        points=points,
    )


def exam(group, kind, method, problems, budget=60, used=None, truncated=False):
    used = sum(p.tokens for p in problems) if used is None else used
    return ExamOutcome(
        exam_id=f"{group}-{kind}",
        group=group,
        kind=kind,
        budget=budget,
        method=method,
        outcomes=tuple(problems),
        tokens_used=used,
        completion="",
        truncated=truncated,
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
        ExamOutcome(
            exam_id="g-easy-2",
            group="g",
            kind="easy",
            budget=60,
            method="m",
            outcomes=(outcome("a", 0, "wrong"),),
            tokens_used=5,
        ),
        exam("g", "hard", "m", [outcome("b", 0, "correct"), outcome("a", 1, "wrong")]),
    ]
    cells = {c["kind"]: c for c in compute_cells(rows, BOUNDS)}
    assert cells["hard"]["regret_tilde"] == pytest.approx((1 - 1) / 1)  # S_easy(g) = (2+0)/2
    rows[1] = ExamOutcome(
        exam_id="g-easy-2",
        group="g",
        kind="easy",
        budget=60,
        method="m",
        outcomes=(outcome("a", 0, "correct"),),
        tokens_used=5,
    )
    cells = {c["kind"]: c for c in compute_cells(rows, BOUNDS)}
    assert cells["hard"]["regret_tilde"] == pytest.approx((1.5 - 1) / 1.5)


# ----------------------------------------------------------------- Bellman oracle, paired diffs

# a: half the time 4 tokens and right, else 8 and wrong; b: 6 right or 20 wrong; c: 7 tokens,
# right half the time (values by hand below)
PROFILES = {
    "a": [(4, True), (8, False)],
    "b": [(6, True), (20, False)],
    "c": [(7, True), (7, False)],
}


def two_problem_exam(eid, order, budget, correct, method="m", kind="easy"):
    problems = [
        outcome(pid, pos, "correct" if pid in correct else "wrong", 5)
        for pos, pid in enumerate(order)
    ]
    return ExamOutcome(
        exam_id=eid,
        group=eid,
        kind=kind,
        budget=budget,
        method=method,
        outcomes=tuple(problems),
        tokens_used=10,
    )


def test_bellman_value_gap_and_share_by_hand():
    rows = [
        two_problem_exam("e1", "ab", 10, correct="a"),  # score 1
        two_problem_exam("e2", "ac", 10, correct=""),  # score 0
    ]
    (cell,) = compute_cells(rows, BOUNDS, profiles=PROFILES)
    # e1 (a then b, B=10): V(b | t left) = 0.5·1[t >= 6]; solving a: 1/2·(1 + V(6)) + 1/2·V(2)
    #   = 0.75 > skip V(10) = 0.5.  Hindsight: a(4) + b(6) = 10 <= 10 -> 2.
    # e2 (a then c, B=10): V(c | t) = 0.5·1[t >= 7]; solving a: 1/2·(1 + V(6)) + 1/2·V(2) = 0.5
    #   = skip V(10).  Hindsight: a(4) + c(7) = 11 > 10, so one of them -> 1.
    assert cell["bellman_value"] == pytest.approx((0.75 + 0.5) / 2)
    assert cell["oracle_value"] == pytest.approx((2 + 1) / 2)
    assert cell["score"]["mean"] == 0.5
    assert cell["bellman_gap"] == pytest.approx((0.625 - 0.5) / 0.625)
    assert cell["bellman_share"] == pytest.approx(0.5 / 0.625)
    assert cell["oracle_gap"] == pytest.approx((1.5 - 0.5) / 1.5)


def test_bellman_uses_points_and_needs_every_profile():
    rows = [two_problem_exam("e1", "ab", 10, correct="ab")]
    rows[0] = ExamOutcome(
        exam_id="e1",
        group="e1",
        kind="easy",
        budget=10,
        method="m",
        outcomes=(rows[0].outcomes[0], outcome("b", 1, "correct", points=2.0)),
        tokens_used=10,
    )
    (cell,) = compute_cells(rows, BOUNDS, profiles=PROFILES)
    # V(b | t) = 2·0.5·1[t >= 6] = 1 at t >= 6; solve a: 1/2·(1 + 1) + 1/2·0 = 1 = skip V(10)
    assert cell["bellman_value"] == pytest.approx(1.0) and cell["oracle_value"] == 3
    assert cell["bellman_share"] == pytest.approx(3.0) and cell["bellman_gap"] == pytest.approx(-2)
    (lacking,) = compute_cells(rows, BOUNDS, profiles={"a": PROFILES["a"], "b": []})
    assert lacking["bellman_value"] is None and lacking["bellman_gap"] is None
    assert lacking["bellman_share"] is None and lacking["oracle_value"] is None


def test_bellman_is_solved_once_per_exam_and_budget(monkeypatch):
    from roi_reasoning import metrics

    calls = []
    real = metrics.bellman_plan

    def counting(budget, options):
        calls.append(budget)
        return real(budget, options)

    monkeypatch.setattr(metrics, "bellman_plan", counting)
    rows = [
        two_problem_exam("e1", "ab", 10, correct="a", method=m, kind=k)
        for m in ("m1", "m2")
        for k in ("easy", "hard")
    ] + [two_problem_exam("e2", "ab", 8, correct="a", method="m1")]
    cells = compute_cells(rows, BOUNDS, profiles=PROFILES)
    assert sorted(calls) == [8, 10]  # 5 exams, 2 distinct (problems, budget) keys
    values = {(c["method"], c["kind"], c["budget"]): c["bellman_value"] for c in cells}
    assert values[("m2", "hard", 10)] == pytest.approx(0.75)
    # B=8: V(b | t) = 0.5·1[t >= 6]; solving a: 1/2·(1 + V(4)) + 1/2·V(0) (8 tokens: all) = 0.5
    assert values[("m1", "easy", 8)] == pytest.approx(0.5)


def test_bellman_never_exceeds_hindsight():
    rng = np.random.default_rng(3)
    profiles = {
        p: [(int(rng.integers(1, 40)), bool(rng.random() < 0.5)) for _ in range(5)] for p in "abc"
    }
    rows = [
        ExamOutcome(
            exam_id=f"e{b}",
            group="g",
            kind="easy",
            budget=b,
            method="m",
            outcomes=tuple(outcome(p, i, "wrong") for i, p in enumerate("abc")),
            tokens_used=9,
        )
        for b in range(0, 90, 7)  # B=0 included: nothing fits
    ]
    for row in rows:
        (cell,) = compute_cells([row], BOUNDS, profiles=profiles)
        assert 0 <= cell["bellman_value"] <= cell["oracle_value"] + 1e-12


def scored(eid, score):
    """An exam of ``score`` correct problems (of 4)."""
    problems = [outcome(f"{eid}{i}", i, "correct" if i < score else "wrong") for i in range(4)]
    return ExamOutcome(
        exam_id=eid,
        group=eid,
        kind="easy",
        budget=60,
        method="m",
        outcomes=tuple(problems),
        tokens_used=20,
    )


def test_paired_diff_identical_runs_and_constant_shift():
    from roi_reasoning.metrics import paired_diff

    base = [scored(f"e{i}", s) for i, s in enumerate([0, 1, 3, 2, 1, 0])]
    same = paired_diff(base, list(reversed(base)))
    assert same == {"mean": 0.0, "lo": 0.0, "hi": 0.0, "n": 6}
    shifted = [scored(e.exam_id, e.score + 1) for e in base] + [scored("only-in-a", 4)]
    diff = paired_diff(shifted, base, seed=5)
    assert diff["n"] == 6  # the exam only A has is not paired
    assert diff["mean"] == diff["lo"] == diff["hi"] == 1.0
    assert paired_diff(base, shifted)["mean"] == -1.0


def test_paired_diff_interval_is_seeded_and_brackets_the_mean():
    from roi_reasoning.metrics import paired_diff

    a = [scored(f"e{i}", s) for i, s in enumerate([1, 0, 3, 4, 2, 2])]
    b = [scored(f"e{i}", s) for i, s in enumerate([0, 0, 4, 2, 2, 1])]  # diffs 1 0 -1 2 0 1
    diff = paired_diff(a, b, seed=1)
    assert diff["mean"] == pytest.approx(0.5) and diff["lo"] < 0.5 < diff["hi"]
    assert diff == paired_diff(a, b, seed=1) and diff["n"] == 6
    assert diff["lo"] >= -1 and diff["hi"] <= 2


def test_paired_diff_no_shared_exams_and_duplicates():
    from roi_reasoning.metrics import paired_diff

    none = paired_diff([scored("x", 1)], [scored("y", 1)])
    assert none["n"] == 0 and np.isnan(none["mean"]) and np.isnan(none["lo"])
    with pytest.raises(ValueError, match="'x' appears twice in a_outcomes"):
        paired_diff([scored("x", 1), scored("x", 2)], [scored("x", 1)])


# Hand-computed: A (easy) costs 4 and is right or 6 and wrong; B (medium) costs 5, always right;
# C (hard) costs 8 or 12, always right.
ALLOC_PROFILES = {"a": [(4, True), (6, False)], "b": [(5, True)], "c": [(8, True), (12, True)]}
ALLOC_PROBLEMS = [("a", 1.0, "easy"), ("b", 1.0, "medium"), ("c", 1.0, "hard")]


def test_allocation_values_by_hand_at_a_loose_budget():
    from roi_reasoning.metrics import allocation_values

    v = allocation_values(ALLOC_PROBLEMS, 20, ALLOC_PROFILES, hardest="hard")
    # attempt all: A right (4): B (9 used), C: 8 fits, 12 is cut -> 1 + 1 + 0.5;
    #              A wrong (6): B (11 used), C: 8 fits, 12 cut -> 0 + 1 + 0.5  => mean 2.0
    assert v["attempt_all_value"] == pytest.approx(2.0)
    # all but hardest: A then B, both always fit -> 0.5 + 1
    assert v["all_but_hardest_value"] == pytest.approx(1.5)
    # Bellman: skipping A leaves 20 for B (1) and C (8 or 12, both fit: 1) = 2.0 = attempting A
    # (2.0): the tie goes to skip, so A is never attempted, B and C always.
    assert v["bellman_value"] == pytest.approx(2.0)
    assert v["bellman_attempts"] == {"easy": 0.0, "medium": 1.0, "hard": 1.0}
    assert v["oracle_value"] == 3.0  # A(4) + B(5) + C(8) = 17 <= 20


def test_allocation_values_by_hand_at_a_tight_budget():
    from roi_reasoning.metrics import allocation_values

    v = allocation_values(ALLOC_PROBLEMS, 12, ALLOC_PROFILES, hardest="hard")
    # attempt all: A right (4): B (9 used), C cut -> 2; A wrong (6): B (11 used), C cut -> 1
    assert v["attempt_all_value"] == pytest.approx(1.5)
    assert v["all_but_hardest_value"] == pytest.approx(1.5)
    # Bellman: attempting A = 1/2·(1 + V_B(8)) + 1/2·V_B(6) = 1.5 > skipping A = V_B(12) = 1;
    # then B always (1 beats C's 0.5 or 0), and C with 3 or 1 tokens left is skipped.
    assert v["bellman_value"] == pytest.approx(1.5)
    assert v["bellman_attempts"] == {"easy": 1.0, "medium": 1.0, "hard": 0.0}
    assert allocation_values(ALLOC_PROBLEMS, 12, ALLOC_PROFILES)["all_but_hardest_value"] is None
    assert allocation_values(ALLOC_PROBLEMS, 12, {"a": [(4, True)]}) is None  # b, c unprofiled


def test_compute_cells_carries_the_reference_values():
    def tiered(pid, pos, tier):
        return dataclasses.replace(outcome(pid, pos, "correct"), tier=tier)

    row = exam("g", "easy", "m", [tiered(p, i, t) for i, (p, _, t) in enumerate(ALLOC_PROBLEMS)])
    row = dataclasses.replace(row, budget=20)
    (cell,) = compute_cells([row], BOUNDS, profiles=ALLOC_PROFILES, hardest="hard")
    assert cell["attempt_all_value"] == pytest.approx(2.0)
    assert cell["all_but_hardest_value"] == pytest.approx(1.5)
    assert cell["bellman_attempt_by_tier"] == {"easy": 0.0, "medium": 1.0, "hard": 1.0}
    (plain,) = compute_cells([row], BOUNDS, profiles=ALLOC_PROFILES)
    assert plain["all_but_hardest_value"] is None and plain["attempt_all_value"] == 2.0
