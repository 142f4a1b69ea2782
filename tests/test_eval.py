"""End to end with the scripted policy: the paper's ordering effect, resume after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roi_reasoning.cli import main
from roi_reasoning.data import read_records
from roi_reasoning.evaluation.evaluate import EvalConfig, run_eval
from roi_reasoning.policies.scripted import ScriptedPolicy

REPO = Path(__file__).resolve().parents[1]

# Problem "hard" costs the whole budget (B = 100 whitespace tokens) and is never right.
BASE_LIKE = {
    "easy": {"cost": [20, 30], "p_correct": 1.0},
    "medium": {"cost": [30, 40], "p_correct": 1.0},
    "hard": {"cost": [150, 200], "p_correct": 0.0},
}
SKIP_HARD = {**BASE_LIKE, "hard": {"skip": True}}


class SlowScripted(ScriptedPolicy):
    """Scripted policy that takes a while per batch, so a test can kill the run mid-way."""

    def generate(self, requests):
        time.sleep(0.15)
        return super().generate(requests)


def _cfg(out, behaviours, **kw):
    return EvalConfig(
        out=str(out),
        methods=["base", "roi"],
        policy_args={"behaviours": behaviours},
        budgets=[100],
        count=6,
        batch_size=4,
        **kw,
    )


def _cells(results):
    return {(c["method"], c["kind"], c["budget"]): c for c in results["cells"]}


def test_paper_phenomenon_in_miniature(tmp_path):
    base = _cells(run_eval(_cfg(tmp_path / "base", BASE_LIKE), progress=False))
    skip = _cells(run_eval(_cfg(tmp_path / "skip", SKIP_HARD), progress=False))
    easy, hard = base[("base", "easy", 100)], base[("base", "hard", 100)]
    assert easy["score"]["mean"] == 2 and hard["score"]["mean"] == 0
    assert hard["regret_tilde"] == 1 and hard["exhausted_exams"] == 1
    assert hard["status_counts"]["unreached"] == 12  # medium and easy never reached
    for method in ("base", "roi"):
        for kind in ("easy", "medium", "hard"):
            cell = skip[(method, kind, 100)]
            assert cell["score"]["mean"] == 2 and cell["regret_tilde"] == 0
    roi_hard = skip[("roi", "hard", 100)]
    assert roi_hard["level_accuracy"] == 1 and roi_hard["skip_rate"] == pytest.approx(1 / 3)
    # the scripted policy skips exactly the hard tier
    assert roi_hard["skip_rate_by_tier"] == {"easy": 0.0, "medium": 0.0, "hard": 1.0}
    assert base[("roi", "easy", 100)]["level_accuracy"] == 1  # tagged with its true level
    assert base[("base", "easy", 100)]["level_accuracy"] is None  # base writes no tags


def _run_cli(out, *extra):
    args = [
        sys.executable,
        "-m",
        "roi_reasoning.cli",
        "eval",
        "--policy",
        "test_eval:SlowScripted",
        "--policy-arg",
        f"behaviours={json.dumps(BASE_LIKE)}",
        "--methods",
        "base,roi",
        "--budgets",
        "100,150",
        "--count",
        "8",
        "--batch-size",
        "2",
        "--out",
        str(out),
        "--no-progress",
        "--no-plots",
        *extra,
    ]
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'tests'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _final(out):
    results = json.loads((out / "results.json").read_text())
    return [{k: v for k, v in c.items()} for c in results["cells"]]


def test_sigkill_mid_run_then_resume_matches_uninterrupted(tmp_path):
    whole = tmp_path / "whole"
    assert _run_cli(whole).wait(timeout=120) == 0
    killed = tmp_path / "killed"
    proc = _run_cli(killed)
    samples = killed / "samples.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not samples.exists() or samples.read_text().count("\n") < 10):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(read_records(samples, allow_torn_tail=True))  # the run may be mid-append
    assert 10 <= partial < 96 and not (killed / "results.json").exists()
    with open(samples, "a") as fh:  # a record torn by the crash
        fh.write('{"exam_id": "torn')
    assert _run_cli(killed).wait(timeout=120) == 0
    rows = read_records(samples)
    keys = [(r["method"], r["exam_id"]) for r in rows]
    assert len(keys) == len(set(keys)) == 2 * 8 * 3 * 2
    assert _final(killed) == _final(whole)
    whole_rows = {(r["method"], r["exam_id"]): r for r in read_records(whole / "samples.jsonl")}
    assert all(whole_rows[(r["method"], r["exam_id"])] == r for r in rows)


def test_rerun_with_other_settings_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    run_eval(_cfg(out, BASE_LIKE), progress=False)
    code = main(
        [
            "eval",
            "--out",
            str(out),
            "--budgets",
            "100",
            "--count",
            "7",
            "--no-progress",
            "--methods",
            "base,roi",
            "--policy-arg",
            f"behaviours={json.dumps(BASE_LIKE)}",
        ]
    )
    assert code == 2 and "different settings (count)" in capsys.readouterr().err


def test_cli_eval_writes_results_report_and_plots(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(
        [
            "eval",
            "--out",
            str(out),
            "--budgets",
            "512,1024",
            "--count",
            "4",
            "--methods",
            "base,roi",
            "--no-progress",
        ]
    )
    assert code == 0
    for name in ("results.json", "samples.jsonl", "report.md", "run.json"):
        assert (out / name).stat().st_size > 0
    pngs = list((out / "plots").glob("*.png"))
    assert len(pngs) >= 3 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert "Hard/512" in (out / "report.md").read_text()
    results = json.loads((out / "results.json").read_text())
    assert results["policy"]["name"] == "scripted" and "math-verify" in results["grader"]
    assert len(results["cells"]) == 2 * 3 * 2
    # results.json is exactly the schema runfolder types (and the report checks by)
    from roi_reasoning.runfolder import Cell, Results

    assert set(results) == set(Results.__annotations__)
    for cell in results["cells"]:
        assert set(cell) == set(Cell.__annotations__), sorted(set(cell) ^ set(Cell.__annotations__))


def test_cli_bad_input_exit_2(tmp_path, capsys):
    bad = tmp_path / "pairs.jsonl"
    bad.write_text('{"gold": "1", "pred": "1"}\n{"gold": 1}\n')
    assert main(["grade", str(bad)]) == 2
    assert f"{bad}:2:" in capsys.readouterr().err
    cfg = tmp_path / "c.yaml"
    cfg.write_text("budgets: [100]\nbudgte: 3\n")
    assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / "x")]) == 2
    assert "unknown key(s) ['budgte']" in capsys.readouterr().err
