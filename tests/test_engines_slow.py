"""verl and OpenRLHF load our reward the way their trainers do, and agree with roi's reward.

verl pins transformers < 5.11, so it lives in its own venv: ``make test-verl`` builds
``.venv-verl`` (CPU torch, verl 0.9.1 and OpenRLHF 0.11.2 without their GPU dependencies) and
runs this file. Rows come from the ``roi export verl`` CLI; responses are tokenized with a
tokenizer built here and scored by verl's reward loop (custom reward function loaded by path,
``naive`` reward manager, a padded DataProto as the trainer builds it) and by OpenRLHF's
``SingleTurnAgentExecutor`` (``--remote_rm_url`` file loaded by path).

Run example: ``make test-verl``
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest

from roi_reasoning import adapters
from roi_reasoning.formats import refusal, render_tag
from roi_reasoning.records import Exam
from roi_reasoning.rewards import make_reward

pytestmark = pytest.mark.engines  # run by `make test-verl` in its own venv (.venv-verl)

ADAPTERS = Path(__file__).resolve().parents[1] / "src" / "roi_reasoning" / "adapters"
BOUNDS = [64, 128, 256]
BUDGET = 600
WRONG = "-987654321"  # no gold in the benchmark sets is this


def _answer(i: int, ans: str) -> str:
    return f"## Problem {i}\n{render_tag(0)} \\boxed{{{ans}}}\n"


def _require(module: str) -> None:
    """Engines live in their own venv; selected by `-m engines`, a missing one is a failure."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed here: run `make test-verl` (its own .venv-verl)")


def _skip(i: int) -> str:
    return f"## Problem {i}\n{refusal(BOUNDS)}\n"


def completions(exam: Exam, tokenizer) -> tuple[list[str], list[float]]:
    """Responses for a 3-problem exam and the points each must earn (sanity, not the check):
    short correct answers tagged Level-0 right after the header earn 1, NA and wrong earn 0;
    one is cut by the budget inside problem 2, so its problem 3 is never reached; the last two
    put problem 3 (EOS included) exactly at, then one token past, Level-0's bound."""
    a = [p.answer for p in exam.problems]
    filler = " step" * BUDGET  # >= BUDGET tokens: at least one per repeat
    texts = [
        _answer(1, a[0]) + _answer(2, a[1]) + _skip(3),
        _answer(1, a[0]) + _skip(2) + _answer(3, WRONG),
        _skip(1) + _answer(2, WRONG) + _answer(3, WRONG),
        _answer(1, a[0])
        + f"## Problem 2\n{render_tag(0)}{filler} \\boxed{{{a[1]}}}\n"
        + _answer(3, a[2]),
    ]
    return texts + at_the_bound(exam, tokenizer, a), [2.0, 1.0, 0.0, 1.0, 3.0, 2.0]


def at_the_bound(exam: Exam, tokenizer, a: list[str]) -> list[str]:
    """Problem 3 padded with k one-token words: the largest k roi still pays (its tokens plus
    EOS fit Level-0), and k + 1. An engine that drops or doubles EOS scores one of them wrong."""
    head = _answer(1, a[0]) + _answer(2, a[1]) + f"## Problem 3\n{render_tag(0)}"
    tail = f" \\boxed{{{a[2]}}}"
    unit = one_token_unit(tokenizer, head, tail, BOUNDS[0])
    texts = [head + unit * k + tail for k in range(BOUNDS[0])]
    paid = [r == 3.0 for r in roi_rewards(tokenizer, [exam] * len(texts), texts)[0]]
    assert paid[0] and not paid[-1], "problem 3 should fit Level-0 bare and not at the bound"
    k = max(i for i, ok in enumerate(paid) if ok)
    return texts[k : k + 2]


def one_token_unit(tokenizer, head: str, tail: str, repeats: int) -> str:
    """A filler each repeat of which adds exactly one token between ``head`` and ``tail``."""

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    for unit in (" x", ".", "!", "\n"):
        counts = [count(head + unit * k + tail) for k in range(repeats + 1)]
        if all(b - a == 1 for a, b in zip(counts, counts[1:], strict=False)):
            return unit
    raise AssertionError("no one-token filler for this tokenizer")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, chat_tokenizer):
    """(tokenizer folder, parquet) written by the ``roi export verl`` command line."""
    _require("verl")
    root = tmp_path_factory.mktemp("engines")
    tok_dir = root / "tokenizer"
    chat_tokenizer.save_pretrained(tok_dir)
    parquet = root / "train.parquet"
    cmd = [sys.executable, "-m", "roi_reasoning.cli", "export", "verl", "--out", str(parquet)]
    cmd += ["--tokenizer", str(tok_dir), "--kinds", "easy,hard", "--budgets", str(BUDGET)]
    cmd += ["--count", "1", "--level-bounds", ",".join(map(str, BOUNDS))]
    subprocess.run(cmd, check=True)
    return tok_dir, parquet


def roi_rewards(tokenizer, exams: list[Exam], texts: list[str]) -> tuple[list, list]:
    """roi's own reward on the same responses: from generated ids (EOS kept) and from text."""
    eos = tokenizer.eos_token_id
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] + [eos] for t in texts]
    fn = make_reward("exam", tokenizer, bounds=BOUNDS)
    columns = [json.dumps(e.to_dict()) for e in exams]
    from_ids = fn(prompts=[""] * len(texts), completions=texts, completion_ids=ids, exam=columns)
    with mock.patch.object(adapters, "load_tokenizer", lambda name: tokenizer):
        from_text = [
            adapters.score_one(c, t, "tok", bounds=BOUNDS)
            for c, t in zip(columns, texts, strict=True)
        ]
    return from_ids, from_text


# --------------------------------------------------------------------------- verl


def verl_config(tok_dir: Path, parquet: Path):
    """verl's own ``ppo_trainer`` config (hydra) with the keys a user sets for roi."""
    import verl
    from hydra import compose, initialize_config_dir

    overrides = [
        f"data.train_files={parquet}",
        "data.max_prompt_length=16384",
        f"data.max_response_length={4 * BUDGET}",
        f"actor_rollout_ref.model.path={tok_dir}",
        f"reward.custom_reward_function.path={ADAPTERS / 'verl.py'}",
        "reward.custom_reward_function.name=compute_score",
        "reward.reward_manager.name=naive",
    ]
    config_dir = Path(verl.__file__).parent / "trainer" / "config"
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def _pad(rows: list[list[int]], pad: int, left: bool):
    import torch

    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        sl = slice(width - len(r), width) if left else slice(0, len(r))
        out[i, sl] = torch.tensor(r, dtype=torch.long)
        mask[i, sl] = 1
    return out, mask


def rollout(batch, tokenizer, texts: list[str]):
    """What verl's rollout hands back for each (repeated) prompt row and its response: prompts
    left-padded, responses right-padded and ending in the EOS the model generated."""
    import torch
    from verl import DataProto

    prompt_ids, response_ids = [], []
    for messages, text in zip(batch.non_tensor_batch["raw_prompt"], texts, strict=True):
        chat = tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True
        )
        prompt_ids.append(tokenizer(chat, add_special_tokens=False)["input_ids"])
        response_ids.append(
            tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        )
    prompts, prompt_mask = _pad(prompt_ids, tokenizer.pad_token_id, left=True)
    responses, response_mask = _pad(response_ids, tokenizer.pad_token_id, left=False)
    mask = torch.cat([prompt_mask, response_mask], dim=1)
    gen = DataProto.from_dict(
        tensors={
            "prompts": prompts,
            "responses": responses,
            "input_ids": torch.cat([prompts, responses], dim=1),
            "attention_mask": mask,
            "position_ids": (mask.cumsum(dim=1) - 1).clamp(min=0),
        }
    )
    return gen, [len(r) for r in response_ids]


def test_verl_reward_loop_scores_like_roi(exported, chat_tokenizer):
    _require("verl")
    from verl import DataProto
    from verl.experimental.reward_loop import RewardLoopWorker
    from verl.trainer.ppo.utils import create_rl_dataset
    from verl.utils import hf_tokenizer
    from verl.utils.dataset.rl_dataset import collate_fn
    from verl.utils.ray_utils import get_event_loop

    tok_dir, parquet = exported
    config = verl_config(tok_dir, parquet)
    tokenizer = hf_tokenizer(str(tok_dir))
    dataset = create_rl_dataset(config.data.train_files, config.data, tokenizer, None)
    assert len(dataset) == 2
    batch = DataProto.from_single_dict(collate_fn([dataset[i] for i in range(len(dataset))]))
    exams = [
        Exam.from_dict(json.loads(info["exam"])) for info in batch.non_tensor_batch["extra_info"]
    ]
    per_row = [completions(e, chat_tokenizer) for e in exams]
    n = len(per_row[0][0])
    batch = batch.repeat(repeat_times=n, interleave=True)  # rollout.n responses per prompt
    flat_exams = [e for e in exams for _ in range(n)]
    flat_texts = [t for texts, _ in per_row for t in texts]
    gen, lengths = rollout(batch, tokenizer, flat_texts)
    batch = batch.union(gen)

    # verl's reward worker, minus the Ray actor around it: custom reward fn loaded by path
    worker = RewardLoopWorker(config)
    outputs = get_event_loop().run_until_complete(worker.compute_score_batch(batch))
    scores = [float(o["reward_score"]) for o in outputs]
    rm_scores = type(worker.reward_manager).assemble_rm_scores(batch, scores)
    for i, length in enumerate(lengths):  # the sequence reward sits on the last response token
        assert rm_scores[i, length - 1].item() == scores[i] == rm_scores[i].sum().item()

    from_ids, from_text = roi_rewards(chat_tokenizer, flat_exams, flat_texts)
    assert from_ids == [p for _, points in per_row for p in points]  # the responses are as meant
    assert scores == from_ids == from_text


# --------------------------------------------------------------------------- OpenRLHF


class FakeEngine:
    """Stands in for OpenRLHF's vLLM engine: returns the given ids for any prompt."""

    def __init__(self, ids: list[int], finish_reason: str):
        self.ids, self.finish_reason = ids, finish_reason

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        out = SimpleNamespace(token_ids=self.ids, finish_reason=self.finish_reason, logprobs=None)
        return SimpleNamespace(outputs=[out])


def test_openrlhf_executor_scores_like_roi(exported, chat_tokenizer, monkeypatch):
    _require("openrlhf")
    import datasets
    from openrlhf.datasets.prompts_dataset import preprocess_data
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    monkeypatch.delenv("ROI_TOKENIZER", raising=False)  # the label carries the tokenizer
    monkeypatch.delenv("ROI_LEVEL_BOUNDS", raising=False)
    tok_dir, parquet = exported
    executor = SingleTurnAgentExecutor(remote_rm_url=str(ADAPTERS / "openrlhf.py"))
    assert executor.reward_func is not None
    rows = datasets.load_dataset("parquet", data_files=str(parquet), split="train")
    params = SimpleNamespace(max_tokens=4 * BUDGET, logprobs=None)
    got, exams, texts, meant = [], [], [], []
    for row in rows:  # --input_key prompt --label_key extra_info --apply_chat_template
        prompt, label = preprocess_data(
            row, None, "prompt", "extra_info", chat_tokenizer.apply_chat_template
        )
        exam = Exam.from_dict(json.loads(label["exam"]))
        row_texts, points = completions(exam, chat_tokenizer)
        for text in row_texts:
            ids = chat_tokenizer(text, add_special_tokens=False)["input_ids"]
            engine = FakeEngine(ids + [chat_tokenizer.eos_token_id], "stop")
            out = asyncio.run(
                executor.execute(prompt, label, params, 16 * BUDGET, chat_tokenizer, engine)
            )
            assert out["reward"] is not None, "OpenRLHF swallowed a reward_func error"
            got.append(float(out["reward"]))
        exams += [exam] * len(row_texts)
        texts += row_texts
        meant += points
    from_ids, from_text = roi_rewards(chat_tokenizer, exams, texts)
    assert from_ids == meant
    assert got == from_ids == from_text
