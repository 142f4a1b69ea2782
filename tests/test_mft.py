"""Profiling → MFT data → SFT on a tiny model, all for real (scripted sampler, tiny Llama)."""

import json
from pathlib import Path

import pytest
import torch

from roi_reasoning.data import read_records
from roi_reasoning.formats import refusal
from roi_reasoning.parsing import split_segments, text_completion
from roi_reasoning.testing import check_mft_round_trip, tiny_causal_lm
from roi_reasoning.training.mft import MFTTrainConfig, sft_trainer, train
from roi_reasoning.training.mft_data import MFTBuildConfig, build_dataset, build_rows, solution_body
from roi_reasoning.training.profiling import ProfileConfig, run_profile, summarize

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
    rows = read_records(Path(profile.out))
    assert len(rows) == 3 * 4 * 3 and len({(r["problem_id"], r["sample"]) for r in rows}) == 36
    run_profile(profile, progress=False)  # rerun: nothing added
    assert len(read_records(Path(profile.out))) == 36
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


def test_hindsight_targets_are_tag_aligned_refuse_and_fit_budget(profile, tmp_path, chat_tokenizer):
    cfg = _mft_cfg(profile, tmp_path, max_na_share=1.0, budget_targets=True)
    rows = build_rows(cfg, chat_tokenizer)
    singles = [r for r in rows if r["n"] == 1]
    exams = [r for r in rows if r["n"] == 3]
    assert len(singles) == 12 and len(exams) == 6
    for r in rows:
        comp = text_completion(chat_tokenizer, r["completion"][0]["content"])  # EOS counted
        segs = split_segments(comp.text, comp.token_starts, r["n"], truncated=False, bounds=BOUNDS)
        assert [s.index for s in segs] == list(range(r["n"]))
        budget = int(r["prompt"][-1]["content"].split("total budget of ")[1].split()[0])
        assert comp.tokens <= budget
        for seg, level in zip(segs, r["levels"], strict=True):
            assert seg.predicted_level == level
            if level == 3:
                assert seg.answer == "NA"
            else:
                assert level == min(k for k, b in enumerate(BOUNDS + [10**9]) if seg.tokens <= b)
    hard_ids = {r["problem_id"] for r in read_records(Path(profile.out)) if r["tier"] == "hard"}
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
            model="unused",
            dataset=cfg.out,
            out=str(tmp_path / "sft"),
            max_steps=1,
            per_device_train_batch_size=2,
        ),
        model=tiny_causal_lm(chat_tokenizer),
        tokenizer=chat_tokenizer,
    )
    checked = cut = 0
    for ex in trainer.train_dataset:
        ids, labels = ex["input_ids"], ex["labels"]
        first = next(i for i, lab in enumerate(labels) if lab != -100)
        last = max(i for i, lab in enumerate(labels) if lab != -100)
        assert all(lab != -100 for lab in labels[first : last + 1])  # one learned span
        prompt = chat_tokenizer.decode(ids[:first])
        learned = chat_tokenizer.decode(ids[first : last + 1])
        after = chat_tokenizer.decode(ids[last + 1 :])
        assert "Answer the following" in prompt and "Answer the following" not in learned
        assert prompt.endswith("<|im_start|>assistant\n") and learned.startswith("## Problem 1\n")
        assert "<predicted_level>Level-" in learned
        checked += refusal(BOUNDS) in learned  # a refusal target is learned, tag and NA both
        if after:  # a target cut at its budget: the end of turn is there, not learned
            assert after == "<|im_end|>\n" and "<|im_end|>" not in learned
            cut += 1
        else:
            assert learned.endswith("<|im_end|>\n")
    assert checked > 0 and cut > 0


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
            per_device_train_batch_size=2,
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


@pytest.mark.parametrize("hindsight", [False, True])
def test_mft_targets_round_trip_through_the_rarl_reward(
    profile, tmp_path, chat_tokenizer, hindsight
):
    """A real byte-level BPE tokenizer: every target is paid exactly its ``paid`` problems —
    all non-refused ones unless the paper's target was cut at its budget."""
    cfg = _mft_cfg(
        profile,
        tmp_path,
        max_na_share=1.0,
        exams=12,
        budgets=[90, 160, 400],
        budget_targets=hindsight,
    )
    build_dataset(cfg, tokenizer=chat_tokenizer)
    counts = check_mft_round_trip(Path(cfg.out) / "targets.jsonl", chat_tokenizer, BOUNDS)
    assert counts["rows"] >= 20 and 0 < counts["refused"] < counts["problems"]
    assert (counts["cut"] == 0) == hindsight  # the paper's targets at B=90 are cut


def test_paper_targets_are_the_per_problem_targets_cut_at_the_budget(
    profile, tmp_path, chat_tokenizer
):
    """No budget-driven refusal: the refusals of the paper's exam targets are exactly the
    problems without a target of their own; the completion is the uncut target's prefix of B
    tokens (EOS counted), and the uncut one is the same at every budget."""
    from roi_reasoning.training.mft_data import _targets

    cfg = _mft_cfg(profile, tmp_path, max_na_share=1.0, exams=12, budgets=[90, 100_000])
    own = _targets(cfg)
    rows = [r for r in build_rows(cfg, chat_tokenizer) if r["n"] == 3]
    full = {tuple(r["ids"]): r for r in rows if r["exam"]["budget"] == 100_000}
    cut = 0
    for r in rows:
        text = r["completion"][0]["content"]
        assert [lv == 3 for lv in r["levels"]] == [own[i] is None for i in r["ids"]]
        budget = r["exam"]["budget"]
        comp = text_completion(chat_tokenizer, text)
        if r["exam"]["budget"] == 90 and tuple(r["ids"]) in full:
            whole = full[tuple(r["ids"])]["completion"][0]["content"]
            assert whole.startswith(text) and r["levels"] == full[tuple(r["ids"])]["levels"]
        if comp.tokens > budget:  # cut: exactly B tokens of text, no room for EOS
            cut += 1
            assert text_completion(chat_tokenizer, text, finished=False).tokens == budget
            assert all(lv < 3 for lv, p in zip(r["levels"], r["paid"], strict=True) if p)
        else:
            assert r["paid"] == [lv < 3 for lv in r["levels"]]
    assert cut > 0


def _sample(text, correct=True, tokens=40, sample=0):
    return {"problem_id": "p", "sample": sample, "text": text, "correct": correct, "tokens": tokens}


def test_solution_body_keeps_a_header_line_answer_and_drops_tags():
    assert solution_body("## Problem 1: 2 + 3 = 5, so \\boxed{5}") == "2 + 3 = 5, so \\boxed{5}"
    assert solution_body(
        "## Problem 1\n<predicted_level>Level-0</predicted_level> x \\boxed{5}"
    ) == ("x \\boxed{5}")
    # no header (box fallback): the whole sample, every box of it
    text = "2+2 = \\boxed{4}, no: 2+3 = \\boxed{5}"
    assert solution_body(text) == text


def test_targets_reserve_room_for_refusals_and_eos(chat_tokenizer):
    """A body that would fit alone but not with the refusals after it is refused itself."""
    from roi_reasoning.training.mft_data import _Composer

    composer = _Composer(chat_tokenizer, BOUNDS)
    body = " ".join(["we add"] * 20) + " \\boxed{5}"
    alone = composer.compose([body], 10_000)
    assert alone is not None and alone[1][0] < 3
    need = text_completion(chat_tokenizer, alone[0]).tokens
    text, levels = composer.compose([body, None, None], need + 2)  # no room for two refusals
    assert levels == [3, 3, 3] and text_completion(chat_tokenizer, text).tokens <= need + 2
    text, levels = composer.compose([body, None, None], 10_000)
    assert levels[0] < 3 and levels[1:] == [3, 3]
    # a solution whose aligned level reaches the skip level becomes the refusal
    long_body = " ".join(["we add then carry"] * 200) + " \\boxed{5}"
    assert composer.compose([long_body], 10_000)[1] == [3]
