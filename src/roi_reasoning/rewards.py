"""Exam rewards with TRL's reward-function contract — a contract RL will probe for loopholes.

The paper's RARL reward (docs/design.md §1): R = Σ_i p_i · r_i with r_i = 1[answer_i correct ∧
predicted level_i = actual level_i ∧ predicted level_i < top] (p_i = the problem's points, 1 by
default). What that means exactly (``parsing`` states the token-accounting rules):

- the completion is first cut at *its own exam's* budget B (ids past B, or text whose tokens
  with EOS exceed B, are never seen), and EOS is counted on both paths (ids and text);
- a prediction is the tag that opens the problem's segment; a tag written after any reasoning
  is no prediction, so that problem earns 0 (hindsight is not paid);
- text before problem 1's header is problem 1's cost; text after problem N costs budget only;
- Level-top (Level-3) means skip: never paid, whatever follows the tag;
- NA, unreached, exhausted (cut before a closed box) and malformed problems earn 0.
``score`` is the plain exam score Σ_i p_i · 1[answer_i correct] (Score counts a correct answer
after a Level-3 tag: Score is plain correctness).

``make_reward(name, tokenizer)`` returns ``fn(prompts, completions, completion_ids, **columns)
-> list[float]`` for ``trl.GRPOTrainer(reward_funcs=...)``. The dataset must carry an ``exam``
column (the exam as a JSON string, see ``exam_column``).

``name`` is a key of ``REWARDS`` or ``package.module:function`` (``ExamOutcome -> float``).

Run example: ``python -c "from roi_reasoning.rewards import REWARDS; print(sorted(REWARDS))"``
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from roi_reasoning.parsing import ids_completion, text_completion
from roi_reasoning.plugins import resolve
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam, ExamOutcome
from roi_reasoning.scoring import score_completions


def exam_points(outcome: ExamOutcome) -> float:
    """Paper's exam reward: correct, the predicted level equals the actual level, and the
    prediction is not the skip level."""
    return float(
        sum(
            o.points
            for o in outcome.outcomes
            if o.correct
            and o.predicted_level is not None
            and o.predicted_level == o.actual_level
            and o.predicted_level < outcome.top_level
        )
    )


def score_points(outcome: ExamOutcome) -> float:
    """Score-only reward: points of correct answers, tags ignored."""
    return float(outcome.score)


REWARDS: dict[str, Callable[[ExamOutcome], float]] = {"exam": exam_points, "score": score_points}


def get_reward(name: str) -> Callable[[ExamOutcome], float]:
    """``REWARDS[name]``, or ``package.module:function`` (an ``ExamOutcome -> float`` of your
    own); an unknown name is a ConfigError listing the valid ones."""
    return resolve(REWARDS, name, "reward")


def exam_column(exam: Exam) -> str:
    """The dataset column value the reward functions read."""
    return json.dumps(exam.to_dict(), ensure_ascii=False)


def _text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content", "") for m in completion if m.get("role") == "assistant")


def make_reward(
    name: str,
    tokenizer: Any,
    *,
    bounds: Sequence[int] = DEFAULT_LEVEL_BOUNDS,
    timeout: float = 5.0,
) -> Callable[..., list[float]]:
    """A TRL reward function computing ``get_reward(name)`` on each completion."""
    per_exam = get_reward(name)

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
        if completion_ids is not None:  # ids as generated (TRL keeps the EOS id), cut at B_i
            comps = [
                ids_completion(tokenizer, completion_ids[i], e.budget) for i, e in enumerate(exams)
            ]
        else:  # text only: the policy's tokens re-counted, EOS included, cut at B_i
            comps = [
                text_completion(tokenizer, _text(c), e.budget)
                for c, e in zip(completions, exams, strict=True)
            ]
        outcomes = score_completions(exams, comps, method="reward", bounds=bounds, timeout=timeout)
        return [per_exam(o) for o in outcomes]

    reward.__name__ = f"roi_{name}_reward"
    return reward
