"""`roi demo --quick`: every stage of the pipeline runs for real, smoke-sized, and caches."""

import json

from roi_reasoning.cli import main


def test_quick_demo_end_to_end_and_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROI_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    report = (out / "report.md").read_text()
    for label in (
        "base",
        "plan-and-solve",
        "least-to-most",
        "greedy-knapsack",
        "planner",
        "roi (mft)",
        "roi (mft+rarl)",
        "Hard/24",
        "Easy/48",
    ):
        assert label in report
    assert len(list((out / "plots").glob("*.png"))) >= 2
    stages = json.loads((out / "timings.json").read_text())
    assert list(stages)[:5] == ["world model", "profile", "mft data", "mft train", "rarl train"]
    for name in ("base", "mft", "mft+rarl"):
        assert (out / "eval" / name / "results.json").exists()
    # a rerun finds every stage done: nothing is retrained or re-evaluated
    before = (out / "eval" / "base" / "samples.jsonl").read_text()
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    assert (out / "eval" / "base" / "samples.jsonl").read_text() == before
    assert "(cached)" in capsys.readouterr().err
