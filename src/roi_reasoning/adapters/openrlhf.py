"""OpenRLHF adapter: a ``reward_func(queries, prompts, labels)`` for ``--remote_rm_url`` files.

OpenRLHF passes the full query (prompt + response) and the dataset's label column; store the
exam JSON as the label (``rewards.exam_column``) and set ``ROI_TOKENIZER`` to the policy's model
folder so tokens are counted with its tokenizer (``ROI_LEVEL_BOUNDS``, e.g. "256,512,1024").

Run example: ``ROI_TOKENIZER=runs/mft/final openrlhf ... --remote_rm_url src/roi_reasoning/adapters/openrlhf.py``
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from roi_reasoning.adapters import score_one


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[str]):
    import torch

    tokenizer = os.environ.get("ROI_TOKENIZER")
    if not tokenizer:
        raise ValueError("set ROI_TOKENIZER to the policy's model folder or hub id")
    bounds = [int(b) for b in os.environ.get("ROI_LEVEL_BOUNDS", "256,512,1024").split(",")]
    rewards = [
        score_one(label, query[len(prompt) :], tokenizer, bounds)
        for query, prompt, label in zip(queries, prompts, labels, strict=True)
    ]
    return torch.tensor(rewards, dtype=torch.float32)
