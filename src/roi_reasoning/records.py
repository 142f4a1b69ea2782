"""Frozen records every stage agrees on (docs/design.md §4): problems, exams, segments, outcomes.

Run example: ``python -c "from roi_reasoning.records import Problem; print(Problem('p1', '1+1?', '2'))"``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# Per-problem statuses (docs/design.md §4). Only "correct" scores.
STATUSES = ("correct", "wrong", "skipped", "exhausted", "unreached", "malformed")
Profiles = dict[str, list[tuple[int, bool]]]  # problem id -> measured (generated tokens, correct)
DEFAULT_LEVEL_BOUNDS = (256, 512, 1024)  # generated tokens; Level-3 = above the last bound / skip


def actual_level(tokens: int, bounds: Sequence[int] = DEFAULT_LEVEL_BOUNDS) -> int:
    """Level of a segment that used ``tokens`` generated tokens: first bound >= tokens, else len(bounds)."""
    for k, bound in enumerate(bounds):
        if tokens <= bound:
            return k
    return len(bounds)


class _Flat:
    """to_dict / from_dict for flat records; from_dict ignores keys that are not fields."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, row: dict[str, Any]):
        names = cls.__dataclass_fields__  # type: ignore[attr-defined]
        return cls(**{k: v for k, v in row.items() if k in names})


@dataclass(frozen=True)
class Problem(_Flat):
    id: str
    question: str
    answer: str
    tier: str = ""
    points: float = 1.0
    source: str = ""
    level: int | None = None
    solution: str = ""


@dataclass(frozen=True)
class Exam:
    """An ordered paper of problems answered under one hard budget of generated tokens."""

    id: str
    group: str  # papers built from the same drawn problems share a group (Regret~ pairs them)
    kind: str  # easy | medium | hard | composition
    budget: int  # tokens
    problems: tuple[Problem, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "kind": self.kind,
            "budget": self.budget,
            "problems": [p.to_dict() for p in self.problems],
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Exam:
        return cls(
            id=str(row["id"]),
            group=str(row["group"]),
            kind=str(row["kind"]),
            budget=int(row["budget"]),
            problems=tuple(Problem.from_dict(p) for p in row["problems"]),
        )


@dataclass(frozen=True)
class Segment:
    """The part of a completion that belongs to one problem; ``start``/``end`` are characters."""

    index: int  # 0-based problem position
    start: int
    end: int
    tokens: int  # generated tokens whose character span starts inside [start, end)
    predicted_level: int | None
    answer: str | None  # content of the last closed \boxed{} (None if none)
    truncated: bool  # the budget ran out inside this segment


@dataclass(frozen=True, kw_only=True)
class ProblemOutcome(_Flat):
    problem_id: str
    position: int
    status: str
    tokens: int
    predicted_level: int | None
    actual_level: int | None  # None when unreached
    answer: str | None
    points: float = 1.0
    grade_reason: str = ""
    tier: str = ""  # the problem's tier (per-tier skip rates)

    @property
    def correct(self) -> bool:
        return self.status == "correct"


@dataclass(frozen=True, kw_only=True)
class ExamOutcome:
    exam_id: str
    group: str
    kind: str
    budget: int
    method: str
    outcomes: tuple[ProblemOutcome, ...]
    tokens_used: int
    completion: str = ""
    truncated: bool = False  # generation was cut at the budget
    extra: dict[str, Any] = field(default_factory=dict)
    top_level: int = len(DEFAULT_LEVEL_BOUNDS)  # = len(level bounds): the skip level (Level-3)

    @property
    def score(self) -> float:
        """Points of correct answers (the paper's Score counts correct answers, levels aside)."""
        return sum(o.points for o in self.outcomes if o.correct)

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["score"] = self.score
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> ExamOutcome:
        return cls(
            exam_id=row["exam_id"],
            group=row["group"],
            kind=row["kind"],
            budget=int(row["budget"]),
            method=row["method"],
            outcomes=tuple(ProblemOutcome.from_dict(o) for o in row["outcomes"]),
            tokens_used=int(row["tokens_used"]),
            completion=row.get("completion", ""),
            truncated=bool(row.get("truncated", False)),
            extra=row.get("extra", {}),
            top_level=int(row.get("top_level", len(DEFAULT_LEVEL_BOUNDS))),
        )


@dataclass(frozen=True)
class Completion:
    """What a policy returns for one exam prompt.

    ``token_starts[i]`` is the character offset in ``text`` where generated token i begins (the
    parser's token accounting); ``truncated`` is True when generation stopped at the budget.
    """

    text: str
    token_starts: tuple[int, ...]
    truncated: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return len(self.token_starts)
