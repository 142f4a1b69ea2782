"""Exam rewards with TRL's reward-function contract.

The paper's RARL reward (DESIGN.md §1): R = Σ_i p_i · 1[answer_i correct ∧ predicted level_i ==
actual level_i] (p_i = the problem's points, 1 by default); NA, unreached, exhausted and
malformed problems get 0. ``score`` is the plain exam score Σ_i p_i · 1[answer_i correct].

``make_reward(name, tokenizer)`` returns ``fn(prompts, completions, completion_ids, **columns)
-> list[float]`` for ``trl.GRPOTrainer(reward_funcs=...)``. The dataset must carry an ``exam``
column (the exam as a JSON string, see ``exam_column``). Tokens are counted from
``completion_ids`` with the policy's tokenizer; a completion of ``budget`` tokens or more is
treated as cut at the budget.

Run example: ``python -c "from roi_reasoning.rewards import REWARDS; print(sorted(REWARDS))"``
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from roi_reasoning.parsing import decode_with_offsets
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Completion, Exam, ExamOutcome
from roi_reasoning.scoring import score_completions


def exam_points(outcome: ExamOutcome) -> float:
    """Paper's exam reward: correct AND the predicted level equals the actual level."""
    return float(
        sum(o.points for o in outcome.outcomes if o.correct and o.predicted_level == o.actual_level)
    )


def score_points(outcome: ExamOutcome) -> float:
    """Score-only reward: points of correct answers, tags ignored."""
    return float(outcome.score)


REWARDS: dict[str, Callable[[ExamOutcome], float]] = {"exam": exam_points, "score": score_points}


def exam_column(exam: Exam) -> str:
    """The dataset column value the reward functions read."""
    return json.dumps(exam.to_dict(), ensure_ascii=False)


def _text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content", "") for m in completion if m.get("role") == "assistant")


def text_completion(tokenizer: Any, text: str, budget: int) -> Completion:
    """A completion known only as text: tokens re-counted with ``tokenizer`` (the generating
    engine's count may differ slightly), cut at ``budget`` tokens like generation would be."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    starts = [s for s, _ in enc["offset_mapping"]]
    if len(starts) > budget:
        text, starts = text[: starts[budget]], starts[:budget]
    return Completion(text, tuple(starts), truncated=len(starts) >= budget)


def score_texts(
    name: str,
    exams: Sequence[Exam],
    texts: Sequence[str],
    tokenizer: Any,
    *,
    bounds: Sequence[int] = DEFAULT_LEVEL_BOUNDS,
    timeout: float = 5.0,
) -> list[float]:
    """``REWARDS[name]`` for completions given as text (verl / OpenRLHF adapters)."""
    comps = [text_completion(tokenizer, t, e.budget) for e, t in zip(exams, texts, strict=True)]
    outcomes = score_completions(exams, comps, method="reward", bounds=bounds, timeout=timeout)
    return [REWARDS[name](o) for o in outcomes]


def make_reward(
    name: str,
    tokenizer: Any,
    *,
    bounds: Sequence[int] = DEFAULT_LEVEL_BOUNDS,
    timeout: float = 5.0,
) -> Callable[..., list[float]]:
    """A TRL reward function computing ``REWARDS[name]`` on each completion."""
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; valid: {', '.join(REWARDS)}")
    per_exam = REWARDS[name]

    def reward(
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]] | None = None,
        **columns: Any,
    ) -> list[float]:
        if "exam" not in columns:
            raise KeyError("reward needs an 'exam' dataset column (see rewards.exam_column)")
        exams = [
            Exam.from_dict(json.loads(e) if isinstance(e, str) else e) for e in columns["exam"]
        ]
        comps = []
        for i, exam in enumerate(exams):
            if completion_ids is not None:
                text, starts = decode_with_offsets(tokenizer, completion_ids[i])
                comps.append(Completion(text, tuple(starts), len(starts) >= exam.budget))
            else:  # text only: token accounting by re-tokenizing (may differ from generation)
                comps.append(text_completion(tokenizer, _text(completions[i]), exam.budget))
        outcomes = score_completions(exams, comps, method="reward", bounds=bounds, timeout=timeout)
        return [per_exam(o) for o in outcomes]

    reward.__name__ = f"roi_{name}_reward"
    return reward
