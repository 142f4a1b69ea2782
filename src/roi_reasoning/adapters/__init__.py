"""Adapters for other RL frameworks: verl (parquet rows + ``compute_score``) and OpenRLHF
(a remote/custom reward function), both scoring with our exam reward.

Run example: ``roi export verl --tokenizer runs/mft/final --out data/roi_exams.parquet``
"""

from __future__ import annotations

import functools
import json
from typing import Any

from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam
from roi_reasoning.rewards import score_texts


@functools.lru_cache(maxsize=4)
def _tokenizer(name: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)


def score_one(
    exam_json: str | dict, text: str, tokenizer: str, bounds=None, reward: str = "exam"
) -> float:
    """Our exam reward for one response given as text; ``tokenizer`` is a model folder / id."""
    exam = Exam.from_dict(json.loads(exam_json) if isinstance(exam_json, str) else exam_json)
    bounds = list(bounds or DEFAULT_LEVEL_BOUNDS)
    return score_texts(reward, [exam], [text], _tokenizer(tokenizer), bounds=bounds)[0]
