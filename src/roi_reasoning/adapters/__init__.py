"""Adapters for other RL frameworks: verl (parquet rows + ``compute_score``) and OpenRLHF
(a remote/custom reward function), both scoring with our exam reward.

Both engines hand the reward a *decoded* response, so tokens are re-counted with the policy's
tokenizer (``parsing.text_completion``): EOS is counted when the model finished by itself, and
the completion is cut at its exam's budget B like generation would be.

Run example: ``roi export verl --tokenizer runs/demo/mft/final --out data/roi_exams.parquet``
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from roi_reasoning.parsing import text_completion
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam
from roi_reasoning.rewards import get_reward
from roi_reasoning.scoring import score_completions

LAYER = "stages"  # read by tests/test_layering.py


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)


def check_tokenizer(name: str) -> None:
    """ConfigError naming ``--tokenizer`` unless ``name`` loads here (as the workers will)."""
    from roi_reasoning.errors import ConfigError

    if not name or not name.strip():
        raise ConfigError("--tokenizer", "must name a tokenizer (model folder or hub id)")
    try:
        load_tokenizer(name)
    except Exception as exc:  # transformers raises OSError, ValueError, HF hub errors, ...
        reason = " ".join(str(exc).split())[:200]
        raise ConfigError("--tokenizer", f"cannot load {name!r}: {reason}") from None


def score_one(
    exam_json: str | dict,
    text: str,
    tokenizer: str,
    bounds: Sequence[int] | None = None,
    reward: str = "exam",
    *,
    finished: bool = True,
) -> float:
    """Our exam reward for one response given as text (special tokens removed);
    ``tokenizer`` is a model folder / id; ``finished``: the model stopped with EOS (not cut by
    the engine's length limit), so EOS is one more generated token."""
    per_exam = get_reward(reward)
    exam = Exam.from_dict(json.loads(exam_json) if isinstance(exam_json, str) else exam_json)
    bounds = [int(b) for b in (DEFAULT_LEVEL_BOUNDS if bounds is None else bounds)]
    comp = text_completion(load_tokenizer(tokenizer), text, exam.budget, finished=finished)
    outcome = score_completions([exam], [comp], method="reward", bounds=bounds)[0]
    return per_exam(outcome)
