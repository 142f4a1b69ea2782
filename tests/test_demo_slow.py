"""The full `roi demo` on the default world (~5 minutes with the world model cached, ~8 without):
the paper's effect must show, not only the pipeline run."""

from __future__ import annotations

import json

import pytest

from roi_reasoning.demo.config import DemoConfig
from roi_reasoning.demo.pipeline import run_demo

pytestmark = pytest.mark.slow


def _cells(out, name):
    results = json.loads((out / "eval" / name / "results.json").read_text())
    return {(c["method"], c["kind"], c["budget"]): c for c in results["cells"]}


def test_full_demo_reproduces_the_effect(tmp_path):
    cfg = DemoConfig(out=str(tmp_path / "demo"))
    report = run_demo(cfg, progress=False)
    assert "roi (mft+rarl)" in report.read_text()
    out, tight = tmp_path / "demo", min(cfg.world.budgets)
    base, mft, rarl = _cells(out, "base"), _cells(out, "mft"), _cells(out, "mft+rarl")
    base_hard = base[("base", "hard", tight)]
    for cells in (mft, rarl):
        hard = cells[("roi", "hard", tight)]
        # the base model spends the tight budget on the hard problem; MFT skips it
        assert hard["score"]["mean"] >= base_hard["score"]["mean"] + 0.3
        assert hard["skip_rate_by_tier"]["hard"] >= 0.8
        assert hard["skip_rate_by_tier"]["hard"] > hard["skip_rate_by_tier"]["medium"]
        assert hard["regret_tilde"] < base_hard["regret_tilde"]
        assert cells[("roi", "easy", tight)]["level_accuracy"] >= 0.8
    for method in ("plan-and-solve", "least-to-most"):  # prompting alone changes little
        assert base[(method, "hard", tight)]["score"]["mean"] <= 0.2
