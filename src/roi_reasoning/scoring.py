"""Turn completions into graded outcomes: parse segments, grade answers, assign statuses.

Statuses (DESIGN.md §4): ``correct``/``wrong`` (a closed box graded against gold), ``skipped``
(the answer is NA), ``exhausted`` (the budget ran out inside the segment before a usable box),
``unreached`` (no segment), ``malformed`` (a segment without an answer while budget remained).

Run example: ``python -c "from roi_reasoning.scoring import score_completions; help(score_completions)"``
"""

from __future__ import annotations

from collections.abc import Sequence

from roi_reasoning.grading import grade_many, is_na
from roi_reasoning.parsing import split_segments
from roi_reasoning.records import (
    DEFAULT_LEVEL_BOUNDS,
    Completion,
    Exam,
    ExamOutcome,
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
    parsed = []
    pairs: list[tuple[str, str]] = []
    for exam, comp in zip(exams, completions, strict=True):
        n = len(exam.problems)
        segs = split_segments(
            comp.text, comp.token_starts, n, truncated=comp.truncated, bounds=bounds
        )
        by_index: dict[int, Segment] = {s.index: s for s in segs}
        rows = []
        for i, problem in enumerate(exam.problems):
            seg = by_index.get(i)
            status = _status_without_grade(seg)
            if status is None:
                rows.append((i, seg, len(pairs)))
                pairs.append((problem.answer, seg.answer))
            else:
                rows.append((i, seg, status))
        parsed.append(rows)
    grades = grade_many(pairs, timeout=timeout) if pairs else []
    outcomes = []
    for exam, comp, rows in zip(exams, completions, parsed, strict=True):
        per_problem = []
        for i, seg, status in rows:
            reason = ""
            if isinstance(status, int):
                g = grades[status]
                status, reason = ("correct" if g.correct else "wrong"), g.reason
            problem = exam.problems[i]
            per_problem.append(
                ProblemOutcome(
                    problem_id=problem.id,
                    position=i,
                    status=status,
                    tokens=seg.tokens if seg else 0,
                    predicted_level=seg.predicted_level if seg else None,
                    actual_level=actual_level(seg.tokens, bounds) if seg else None,
                    answer=seg.answer if seg else None,
                    points=problem.points,
                    grade_reason=reason,
                    tier=problem.tier,
                )
            )
        outcomes.append(
            ExamOutcome(
                exam.id,
                exam.group,
                exam.kind,
                exam.budget,
                method,
                tuple(per_problem),
                comp.tokens,
                comp.text,
                comp.truncated,
                dict(comp.extra),
                top_level=len(bounds),
            )
        )
    return outcomes
