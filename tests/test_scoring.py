"""score_completions: statuses known without grading and graded answers in one batch, each
grade landing on its own problem across exams (docs/design.md §4 statuses)."""

from __future__ import annotations

import re

import pytest

from roi_reasoning.records import Completion, Exam, Problem
from roi_reasoning.scoring import score_completions

BOUNDS = (4, 8, 16)


def _exam(eid: str, golds: list[str]) -> Exam:
    problems = tuple(Problem(f"{eid}-p{i}", "q?", g, tier="t") for i, g in enumerate(golds))
    return Exam(eid, eid, "easy", 64, problems)


def _completion(text: str, truncated: bool = False) -> Completion:
    return Completion(text, tuple(m.start() for m in re.finditer(r"\S+\s*", text)), truncated)


CASES = [
    (  # correct, skipped (NA), unreached (no segment)
        _exam("a", ["4", "9", "7"]),
        _completion("## Problem 1\nstep \\boxed{4}\n## Problem 2\n\\boxed{NA}\n"),
        ["correct", "skipped", "unreached"],
    ),
    (  # wrong, malformed (no box, budget left), exhausted (cut inside an open box)
        _exam("b", ["5", "6", "8"]),
        _completion(
            "## Problem 1\n\\boxed{3}\n## Problem 2\nno box\n## Problem 3\nx \\boxed{8", True
        ),
        ["wrong", "malformed", "exhausted"],
    ),
    (_exam("c", ["2"]), _completion("## Problem 1\n\\boxed{2}"), ["correct"]),
]


def test_statuses_and_grades_land_on_their_problems():
    exams, comps, want = zip(*CASES, strict=True)
    results = score_completions(list(exams), list(comps), method="m", bounds=BOUNDS)
    assert [[o.status for o in r.outcomes] for r in results] == list(want)
    for exam, comp, res in zip(exams, comps, results, strict=True):
        assert (res.exam_id, res.method, res.tokens_used) == (exam.id, "m", comp.tokens)
        assert res.top_level == len(BOUNDS) and res.truncated == comp.truncated
        assert [o.problem_id for o in res.outcomes] == [p.id for p in exam.problems]
        for o in res.outcomes:
            graded = o.status in ("correct", "wrong")
            assert bool(o.grade_reason) == graded  # only graded answers carry a reason
            assert (o.actual_level is None) == (o.status == "unreached")
    a, b, _ = results
    assert [o.tokens for o in a.outcomes] == [5, 4, 0]  # whitespace tokens per segment
    assert a.outcomes[0].actual_level == 1 and a.outcomes[1].answer == "NA"
    assert b.outcomes[2].answer is None  # a box the cut left open is no answer


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="2 exams but 1 completions"):
        score_completions([CASES[0][0]] * 2, [CASES[0][1]], method="m")
