"""Turn completions into graded outcomes: parse segments, grade answers, assign statuses.

Statuses (docs/design.md §4): ``correct``/``wrong`` (a closed box graded against gold), ``skipped``
(the answer is NA), ``exhausted`` (the budget ran out inside the segment before a usable box),
``unreached`` (no segment), ``malformed`` (a segment without an answer while budget remained).

Run example: ``python -c "from roi_reasoning.scoring import score_completions; help(score_completions)"``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from roi_reasoning.grading import Grade, grade_many, is_na
from roi_reasoning.parsing import split_segments
from roi_reasoning.records import (
    DEFAULT_LEVEL_BOUNDS,
    Completion,
    Exam,
    ExamOutcome,
    Problem,
    ProblemOutcome,
    Segment,
    actual_level,
)


def _status_without_grade(seg: Segment | None) -> str | None:
    if seg is None:
        return "unreached"
    if seg.answer is None:
        return "exhausted" if seg.truncated else "malformed"
    if is_na(seg.answer):
        return "skipped"
    return None  # needs grading


@dataclass(frozen=True)
class _Pending:
    """One problem between parsing and grading: its segment (None: unreached) and either a
    status known without grading or the index of its (gold, answer) pair in the graded batch."""

    segment: Segment | None
    status: str | None = None
    grade_index: int | None = None

    def __post_init__(self) -> None:
        if (self.status is None) == (self.grade_index is None):
            raise ValueError("a pending problem has exactly one of a status and a grade index")


def _parse(
    exam: Exam, comp: Completion, bounds: Sequence[int], pairs: list[tuple[str, str]]
) -> list[_Pending]:
    """Each problem's segment; answers that need grading are appended to ``pairs``."""
    segs = split_segments(
        comp.text, comp.token_starts, len(exam.problems), truncated=comp.truncated, bounds=bounds
    )
    by_index: dict[int, Segment] = {s.index: s for s in segs}
    rows = []
    for i, problem in enumerate(exam.problems):
        seg = by_index.get(i)
        status = _status_without_grade(seg)
        if status is None and seg is not None and seg.answer is not None:
            rows.append(_Pending(seg, grade_index=len(pairs)))
            pairs.append((problem.answer, seg.answer))
        else:
            rows.append(_Pending(seg, status=status))
    return rows


def _problem_outcome(
    problem: Problem, position: int, row: _Pending, grades: Sequence[Grade], bounds: Sequence[int]
) -> ProblemOutcome:
    if row.grade_index is None:
        status, reason = str(row.status), ""  # known without grading (never None: __post_init__)
    else:
        g = grades[row.grade_index]
        status, reason = ("correct" if g.correct else "wrong"), g.reason
    seg = row.segment
    return ProblemOutcome(
        problem_id=problem.id,
        position=position,
        status=status,
        tokens=seg.tokens if seg else 0,
        predicted_level=seg.predicted_level if seg else None,
        actual_level=actual_level(seg.tokens, bounds) if seg else None,
        answer=seg.answer if seg else None,
        points=problem.points,
        grade_reason=reason,
        tier=problem.tier,
    )


def score_completions(
    exams: Sequence[Exam],
    completions: Sequence[Completion],
    *,
    method: str,
    bounds: Sequence[int] = DEFAULT_LEVEL_BOUNDS,
    timeout: float = 5.0,
) -> list[ExamOutcome]:
    """Outcomes for each (exam, completion) pair; all answers are graded in one parallel batch."""
    if len(exams) != len(completions):
        raise ValueError(f"{len(exams)} exams but {len(completions)} completions")
    pairs: list[tuple[str, str]] = []
    parsed = [_parse(e, c, bounds, pairs) for e, c in zip(exams, completions, strict=True)]
    grades = grade_many(pairs, timeout=timeout) if pairs else []
    return [
        ExamOutcome(
            exam_id=exam.id,
            group=exam.group,
            kind=exam.kind,
            budget=exam.budget,
            method=method,
            outcomes=tuple(
                _problem_outcome(p, i, row, grades, bounds)
                for i, (p, row) in enumerate(zip(exam.problems, rows, strict=True))
            ),
            tokens_used=comp.tokens,
            completion=comp.text,
            truncated=comp.truncated,
            extra=dict(comp.extra),
            top_level=len(bounds),
        )
        for exam, comp, rows in zip(exams, completions, parsed, strict=True)
    ]
