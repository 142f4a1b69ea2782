"""OpenRLHF adapter: a ``reward_func(queries, prompts, labels)`` for ``--reward.remote_url`` files
(``--remote_rm_url`` before OpenRLHF 0.11).

OpenRLHF (0.11: ``openrlhf.utils.agent.SingleTurnAgentExecutor``) imports this file by path,
calls ``reward_func`` with the query (prompt + response decoded *with* special tokens), the
prompt and the dataset's label, and reads ``{"rewards", "scores", "extra_logs"}`` from the
result. The label is the exam: its JSON (``rewards.exam_column``) or the ``extra_info`` dict of
``roi export verl`` rows (``--data.label_key extra_info``; ``--label_key`` before 0.11), which
also names the tokenizer and level bounds. ``ROI_TOKENIZER`` (the policy's model folder) and
``ROI_LEVEL_BOUNDS`` ("256,512,1024") override those. A response ending in the tokenizer's EOS
finished by itself (EOS is counted); one without was cut by the generation length limit
(``--rollout.max_new_tokens``; ``--generate_max_len`` before 0.11).

Run example: ``ROI_TOKENIZER=runs/demo/mft/final python -m openrlhf.cli.train_ppo_ray ... --reward.remote_url src/roi_reasoning/adapters/openrlhf.py``
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from roi_reasoning.adapters import load_tokenizer, score_one


def _exam_and_options(label: Any) -> tuple[Any, str | None, list[int] | None]:
    """(exam, tokenizer, bounds) from a label: exam JSON, an exam dict, or verl ``extra_info``."""
    if isinstance(label, str):
        label = json.loads(label)
    if isinstance(label, dict) and "exam" in label:
        bounds = label.get("level_bounds")
        return label["exam"], label.get("tokenizer"), None if bounds is None else list(bounds)
    return label, None, None


def _score(query: str, prompt: str, label: Any) -> float:
    exam, tokenizer, bounds = _exam_and_options(label)
    tokenizer = os.environ.get("ROI_TOKENIZER") or tokenizer
    if not tokenizer:
        raise ValueError("set ROI_TOKENIZER to the policy's model folder or hub id")
    if os.environ.get("ROI_LEVEL_BOUNDS"):
        bounds = [int(b) for b in os.environ["ROI_LEVEL_BOUNDS"].split(",")]
    if not query.startswith(prompt):
        raise ValueError("OpenRLHF query does not start with its prompt; cannot find the response")
    response = query[len(prompt) :]
    eos = load_tokenizer(tokenizer).eos_token
    finished = bool(eos) and response.endswith(eos)
    if finished:
        response = response[: -len(eos)]
    return score_one(exam, response, tokenizer, bounds, finished=finished)


def reward_func(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any]
) -> dict[str, Any]:
    import torch

    rewards = torch.tensor(
        [_score(q, p, lab) for q, p, lab in zip(queries, prompts, labels, strict=True)],
        dtype=torch.float32,
    )
    return {"rewards": rewards, "scores": rewards, "extra_logs": {"roi_exam_reward": rewards}}
