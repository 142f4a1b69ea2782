"""Outcome records: keyword-only constructors, and to_dict / from_dict round trips (also
through JSON, as results and samples files store them)."""

from __future__ import annotations

import json

import pytest

from roi_reasoning.records import Exam, ExamOutcome, Problem, ProblemOutcome


def _outcome() -> ExamOutcome:
    rows = (
        ProblemOutcome(
            problem_id="p1",
            position=0,
            status="correct",
            tokens=40,
            predicted_level=0,
            actual_level=0,
            answer="4",
            points=2.0,
            grade_reason="exact",
            tier="easy",
        ),
        ProblemOutcome(
            problem_id="p2",
            position=1,
            status="unreached",
            tokens=0,
            predicted_level=None,
            actual_level=None,
            answer=None,
        ),
    )
    return ExamOutcome(
        exam_id="e1",
        group="g1",
        kind="hard",
        budget=512,
        method="roi",
        outcomes=rows,
        tokens_used=40,
        completion="## Problem 1\n\\boxed{4}",
        truncated=True,
        extra={"finish_reason": "length"},
        top_level=4,
    )


def test_outcome_constructors_are_keyword_only():
    with pytest.raises(TypeError):
        ProblemOutcome("p1", 0, "correct", 1, None, 0, "4")  # type: ignore[misc]
    with pytest.raises(TypeError):
        ExamOutcome("e", "g", "easy", 512, "base", (), 0)  # type: ignore[misc]


def test_exam_outcome_round_trips_through_dict_and_json():
    outcome = _outcome()
    row = outcome.to_dict()
    assert row["score"] == 2.0  # derived, written for readers; from_dict ignores it
    assert ExamOutcome.from_dict(row) == outcome
    assert ExamOutcome.from_dict(json.loads(json.dumps(row))) == outcome


def test_from_dict_fills_defaults_and_ignores_unknown_keys():
    row = _outcome().to_dict()
    for key in ("completion", "truncated", "extra", "top_level"):
        del row[key]
    row["outcomes"][0]["not_a_field"] = 1
    back = ExamOutcome.from_dict(row)
    assert (back.completion, back.truncated, back.extra, back.top_level) == ("", False, {}, 3)
    assert back.outcomes == _outcome().outcomes


def test_exam_round_trips():
    exam = Exam("e", "g", "easy", 64, (Problem("p", "1+1?", "2", tier="easy", points=3.0),))
    assert Exam.from_dict(json.loads(json.dumps(exam.to_dict()))) == exam
