"""verl parquet export + compute_score, and the OpenRLHF reward function, on real exams."""

import json

import pytest

from roi_reasoning.adapters.openrlhf import reward_func
from roi_reasoning.adapters.verl import compute_score, verl_rows, write_parquet
from roi_reasoning.data import DEFAULT_TIERS, load_tier
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import render_tag
from roi_reasoning.records import Exam

BOUNDS = [64, 128, 256]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, chat_tokenizer):
    folder = tmp_path_factory.mktemp("tok")
    chat_tokenizer.save_pretrained(folder)
    tiers = {name: load_tier(spec, name) for name, spec in DEFAULT_TIERS.items()}
    exams = build_exams(tiers, kinds=("hard",), budgets=(600,), count=2)
    return str(folder), exams


def _answers(exam: Exam, level: int = 0) -> str:
    return "".join(
        f"## Problem {i + 1}\n{render_tag(level)} \\boxed{{{p.answer}}}\n"
        for i, p in enumerate(exam.problems)
    )


def test_verl_parquet_rows_and_compute_score(setup, tmp_path):
    import datasets

    tokenizer, exams = setup
    path = tmp_path / "train.parquet"
    write_parquet(verl_rows(exams, tokenizer, BOUNDS), path)
    ds = datasets.load_dataset("parquet", data_files=str(path), split="train")
    assert len(ds) == 2 and ds[0]["data_source"] == "roi-reasoning"
    row = ds[0]
    assert (
        row["prompt"][-1]["role"] == "user" and "<predicted_level>" in row["prompt"][-1]["content"]
    )
    assert json.loads(row["reward_model"]["ground_truth"]) == [p.answer for p in exams[0].problems]
    exam = Exam.from_dict(json.loads(row["extra_info"]["exam"]))
    assert exam == exams[0]
    info = row["extra_info"]
    assert (
        compute_score(row["data_source"], _answers(exam), row["reward_model"]["ground_truth"], info)
        == 3
    )
    assert compute_score(row["data_source"], _answers(exam, 2), "", info) == 0  # wrong levels
    with pytest.raises(ValueError, match="extra_info"):
        compute_score("roi-reasoning", "x", "y", {})


def test_openrlhf_reward_func(setup, monkeypatch):
    tokenizer, exams = setup
    monkeypatch.setenv("ROI_TOKENIZER", tokenizer)
    monkeypatch.setenv("ROI_LEVEL_BOUNDS", ",".join(map(str, BOUNDS)))
    prompts = ["<prompt A>", "<prompt B>"]
    # OpenRLHF decodes the query with special tokens: a finished response ends with EOS
    queries = [prompts[0] + _answers(exams[0]) + "<|im_end|>", prompts[1] + "no answer at all"]
    labels = [json.dumps(e.to_dict()) for e in exams]
    out = reward_func(queries, prompts, labels)
    assert out["rewards"].tolist() == [3.0, 0.0] and out["scores"].tolist() == [3.0, 0.0]
    assert set(out["extra_logs"]) == {"roi_exam_reward"}


def test_openrlhf_label_is_verl_extra_info(setup, monkeypatch):
    """``--label_key extra_info`` on ``roi export verl`` rows: tokenizer and bounds travel along."""
    tokenizer, exams = setup
    monkeypatch.delenv("ROI_TOKENIZER", raising=False)
    monkeypatch.delenv("ROI_LEVEL_BOUNDS", raising=False)
    info = verl_rows(exams[:1], tokenizer, BOUNDS)[0]["extra_info"]
    query = "P" + _answers(exams[0]) + "<|im_end|>"
    assert reward_func([query], ["P"], [info])["rewards"].tolist() == [3.0]
    with pytest.raises(ValueError, match="ROI_TOKENIZER"):
        reward_func([query], ["P"], [json.dumps(exams[0].to_dict())])
    with pytest.raises(ValueError, match="prompt"):
        reward_func(["other" + query], ["P"], [info])
