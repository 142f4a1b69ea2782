"""Profiling → MFT data → SFT on a tiny model, all for real (scripted sampler, tiny Llama)."""

import json
from pathlib import Path

import pytest
import torch

from conftest import tiny_causal_lm
from roi_reasoning.evaluate import read_samples
from roi_reasoning.formats import refusal
from roi_reasoning.mft import (
    MFTBuildConfig,
    MFTTrainConfig,
    build_dataset,
    build_rows,
    sft_trainer,
    train,
)
from roi_reasoning.parsing import split_segments
from roi_reasoning.profiling import ProfileConfig, run_profile, summarize

BOUNDS = [64, 128, 256]  # tokens of the test tokenizer
BEHAVIOURS = {
    "easy": {"cost": [10, 30], "p_correct": 0.9},
    "medium": {"cost": [30, 60], "p_correct": 0.5},
    "hard": {"cost": [90, 140], "p_correct": 0.0},
}


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    path = tmp_path_factory.mktemp("profile") / "profile.jsonl"
    cfg = ProfileConfig(
        out=str(path),
        policy="scripted",
        policy_args={"behaviours": BEHAVIOURS},
        per_tier=4,
        k=3,
        max_tokens=120,
        level_bounds=BOUNDS,
        batch_size=5,
    )
    run_profile(cfg, progress=False)
    return cfg


def test_profile_is_complete_resumable_and_summarised(profile):
    rows = read_samples(Path(profile.out))
    assert len(rows) == 3 * 4 * 3 and len({(r["problem_id"], r["sample"]) for r in rows}) == 36
    run_profile(profile, progress=False)  # rerun: nothing added
    assert len(read_samples(Path(profile.out))) == 36
    summary = summarize(rows, BOUNDS)
    assert summary["hard"]["accuracy"] == 0 and summary["easy"]["accuracy"] > 0.5
    assert summary["hard"]["shortest_correct_levels"] == [0, 0, 0, 4]
    # samples of one problem differ (seeded by sample index)
    costs = {r["tokens"] for r in rows if r["problem_id"] == rows[0]["problem_id"]}
    assert len(costs) > 1


def _mft_cfg(profile, tmp_path, **kw):
    settings = dict(
        profile=profile.out,
        tokenizer="unused",
        out=str(tmp_path / "mft"),
        tiers=profile.tiers,
        level_bounds=BOUNDS,
        budgets=[160, 400],
        exams=6,
    )
    return MFTBuildConfig(**{**settings, **kw})


def test_targets_are_tag_aligned_refuse_and_fit_budget(profile, tmp_path, chat_tokenizer):
    rows = build_rows(_mft_cfg(profile, tmp_path, max_na_share=1.0), chat_tokenizer)
    singles = [r for r in rows if r["n"] == 1]
    exams = [r for r in rows if r["n"] == 3]
    assert len(singles) == 12 and len(exams) == 6
    for r in rows:
        text = r["completion"][0]["content"]
        enc = chat_tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        starts = [s for s, _ in enc["offset_mapping"]]
        segs = split_segments(text, starts, r["n"], truncated=False, bounds=BOUNDS)
        assert [s.index for s in segs] == list(range(r["n"]))
        budget = int(r["prompt"][-1]["content"].split("total budget of ")[1].split()[0])
        assert len(starts) + 1 <= budget  # + end-of-sequence
        for seg, level in zip(segs, r["levels"], strict=True):
            assert seg.predicted_level == level
            if level == 3:
                assert seg.answer == "NA"
            else:
                assert level == min(k for k, b in enumerate(BOUNDS + [10**9]) if seg.tokens <= b)
    hard_ids = {r["problem_id"] for r in read_samples(Path(profile.out)) if r["tier"] == "hard"}
    hard_singles = [r for r in singles if r["ids"][0] in hard_ids]
    assert len(hard_singles) == 4 and all(r["levels"] == [3] for r in hard_singles)
    assert any(r["levels"] != [3] for r in singles)


def test_na_share_cap(profile, tmp_path, chat_tokenizer):
    rows = build_rows(_mft_cfg(profile, tmp_path, max_na_share=0.2, exams=0), chat_tokenizer)
    na = sum(r["levels"] == [3] for r in rows)
    assert 0 < na <= 0.2 * len(rows) + 1e-9


def test_loss_mask_covers_tag_and_na_not_prompt(profile, tmp_path, chat_tokenizer):
    cfg = _mft_cfg(profile, tmp_path, max_na_share=1.0)
    summary = build_dataset(cfg, tokenizer=chat_tokenizer)
    assert summary["rows"] == 18 and summary["level_histogram"][3] > 0
    trainer = sft_trainer(
        MFTTrainConfig(
            model="unused", dataset=cfg.out, out=str(tmp_path / "sft"), max_steps=1, batch_size=2
        ),
        model=tiny_causal_lm(chat_tokenizer),
        tokenizer=chat_tokenizer,
    )
    checked = 0
    for ex in trainer.train_dataset:
        ids, labels = ex["input_ids"], ex["labels"]
        learned = chat_tokenizer.decode(
            [t for t, lab in zip(ids, labels, strict=True) if lab != -100]
        )
        ignored = chat_tokenizer.decode(
            [t for t, lab in zip(ids, labels, strict=True) if lab == -100]
        )
        assert "Answer the following" in ignored and "Answer the following" not in learned
        assert ignored.endswith("<|im_start|>assistant\n") and learned.startswith("## Problem 1\n")
        assert "<predicted_level>Level-" in learned
        checked += refusal(BOUNDS) in learned  # a refusal target is learned, tag and NA both
    assert checked > 0


def test_sft_trains_for_real(profile, tmp_path, chat_tokenizer):
    cfg = _mft_cfg(profile, tmp_path, exams=2)
    build_dataset(cfg, tokenizer=chat_tokenizer)
    model = tiny_causal_lm(chat_tokenizer)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    final = train(
        MFTTrainConfig(
            model="unused",
            dataset=cfg.out,
            out=str(tmp_path / "sft"),
            max_steps=2,
            batch_size=2,
            learning_rate=1e-3,
            logging_steps=1,
            save_steps=1000,
        ),
        model=model,
        tokenizer=chat_tokenizer,
    )
    changed = [n for n, p in model.named_parameters() if not torch.equal(before[n], p.detach())]
    assert len(changed) == len(before)
    assert (final / "config.json").exists() and json.loads((final / "config.json").read_text())
