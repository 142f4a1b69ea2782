"""verl adapter: exams as verl RL parquet rows, and ``compute_score`` with our exam reward.

Row: ``data_source`` ("roi-reasoning"), ``prompt`` (chat messages, ``roi`` format), ``ability``
("math"), ``reward_model`` ({"style": "rule", "ground_truth": the golds as JSON}),
``extra_info`` ({"exam": exam JSON, "tokenizer": model folder/id, "level_bounds": [...]}).
Point verl's ``reward.custom_reward_function.path`` (verl >= 0.9; ``custom_reward_function.path``
before) at this file and ``name`` at ``compute_score``; the ``naive`` reward manager decodes the
response without special tokens, so EOS is counted as finished. Keep
``data.max_response_length`` >= the largest exam budget: a response verl cuts earlier looks
finished here. Checked against verl 0.9.1 by ``tests/test_engines_slow.py`` (``make test-verl``).

Run example: ``roi export verl --tokenizer runs/demo/mft/final --budgets 512 --out data/train.parquet``
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from roi_reasoning.adapters import score_one
from roi_reasoning.formats import render_prompt
from roi_reasoning.records import Exam
from roi_reasoning.rewards import exam_column

DATA_SOURCE = "roi-reasoning"


def verl_rows(exams: Sequence[Exam], tokenizer: str, bounds: Sequence[int]) -> list[dict[str, Any]]:
    return [
        {
            "data_source": DATA_SOURCE,
            "prompt": render_prompt(e, "roi", bounds),
            "ability": "math",
            "reward_model": {
                "style": "rule",
                "ground_truth": json.dumps([p.answer for p in e.problems]),
            },
            "extra_info": {
                "exam": exam_column(e),
                "tokenizer": tokenizer,
                "level_bounds": list(bounds),
                "index": i,
            },
        }
        for i, e in enumerate(exams)
    ]


def write_parquet(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    import datasets

    datasets.Dataset.from_list(rows).to_parquet(str(path))


def compute_score(
    data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None
) -> float:
    """verl's custom reward signature; the exam (with golds) travels in ``extra_info``."""
    if not extra_info or "exam" not in extra_info:
        raise ValueError(
            "roi-reasoning rows carry the exam in extra_info['exam'] (roi export verl)"
        )
    return score_one(
        extra_info["exam"], solution_str, extra_info["tokenizer"], extra_info.get("level_bounds")
    )
