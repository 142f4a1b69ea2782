"""report/sections.py: oracle, budget conditioning, paired differences and the learning curve,
through ``render_report`` / ``write_report`` on run directories written like ``roi eval``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from test_report import PNG_SIGNATURE, section, table_rows

from roi_reasoning.errors import DataError
from roi_reasoning.metrics import compute_cells
from roi_reasoning.records import ExamOutcome, ProblemOutcome
from roi_reasoning.report.curve import curve_summary, find_curves
from roi_reasoning.report.sections import load_samples, pooled_diff
from roi_reasoning.report.writer import load_results, render_report, write_report

BOUNDS = (10, 20, 40)
TIERS = ("easy", "medium", "hard")
PROFILES = {f"p{i}{t}": [(5, True), (30, False)] for i in range(4) for t in "emh"}


def exam(eid: str, budget: int, method: str, correct: int, skip_hard: bool) -> ExamOutcome:
    """Easy paper of three problems (easy, medium, hard tiers); the first ``correct`` right."""
    problems = []
    for pos, tier in enumerate(TIERS):
        status = "correct" if pos < correct else "wrong"
        if skip_hard and tier == "hard":
            status = "skipped"
        pid = f"{eid}{tier[0]}"
        problems.append(
            ProblemOutcome(
                problem_id=pid,
                position=pos,
                status=status,
                tokens=2,
                predicted_level=0,
                actual_level=0,
                answer=None,
                points=1.0,
                grade_reason="",
                tier=tier,
            )
        )
    return ExamOutcome(
        exam_id=eid,
        group=eid,
        kind="easy",
        budget=budget,
        method=method,
        outcomes=tuple(problems),
        tokens_used=6,
    )


def outcomes(shift: int) -> list[ExamOutcome]:
    """Four exams per budget; ``shift`` more right answers and skips of hard at B=8 when > 0."""
    rows = []
    for budget in (8, 64):
        for i, base in enumerate((0, 1, 1, 0)):
            rows.append(exam(f"p{i}", budget, "roi", base + shift, shift > 0 and budget == 8))
    return rows


def write_run(root: Path, name: str, rows: list[ExamOutcome], curve: bool = False) -> Path:
    run = root / name
    run.mkdir(parents=True)
    cells = compute_cells(rows, BOUNDS, profiles=PROFILES)
    results = {"run": name, "level_bounds": list(BOUNDS), "cells": cells}
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    lines = "".join(json.dumps(r.to_dict()) + "\n" for r in rows)
    (run / "samples.jsonl").write_text(lines, encoding="utf-8")
    if curve:
        (run / "curve.jsonl").write_text(CURVE, encoding="utf-8")
    return run


CURVE = "".join(
    json.dumps(r) + "\n"
    for r in (
        {"step": 0, "train_reward": None, "val_reward": 0.25, "val_reward_by_budget": {"8": 0.0}},
        {"step": 5, "train_reward": 0.5, "val_reward": None, "val_reward_by_budget": {}},
        {
            "step": 10,
            "train_reward": 1.25,
            "val_reward": 0.75,
            "val_reward_by_budget": {"8": 0.5, "64": 1.0},
        },
    )
)


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    return write_run(tmp_path, "mft", outcomes(0)), write_run(tmp_path, "mft+rarl", outcomes(1))


def row_dicts(text: str) -> list[dict[str, str]]:
    rows = table_rows(text)
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_oracle_section_puts_both_oracles_beside_each_score(runs: tuple[Path, Path]) -> None:
    md = render_report([load_results(r) for r in runs])
    rows = row_dicts(section(md, "Exact OS-MCKP oracle"))
    # grouped by cell: both runs' roi rows side by side, paper order then budget
    assert [(r["Budget"], r["Method"]) for r in rows] == [
        ("8", "roi (mft)"),
        ("8", "roi (mft+rarl)"),
        ("64", "roi (mft)"),
        ("64", "roi (mft+rarl)"),
    ]
    # every problem: 5 tokens right or 30 wrong, half each; V_i(t) = Bellman value from problem
    # i with t tokens left. B=8: one 5-token attempt fits (V* = 1); V_2(t) = 0.5·1[t >= 5], a
    # success leaves 3 tokens (too few), a failure is cut at 8 leaving 0: V = 0.5.
    # B=64: V* = 3 (15 tokens); V_1(59) = 0.5·(1 + V_2(54)) + 0.5·V_2(29) = 1,
    # V_1(34) = 0.5·(1 + V_2(29)) + 0.5·V_2(4) = 0.75, V_0(64) = 0.5·(1 + 1) + 0.5·0.75 = 1.375.
    at8 = rows[1]
    assert (at8["V* (hindsight)"], at8["V_bellman"]) == ("1.00", "0.50")
    assert at8["Score"] == "1.50" and at8["Gap to V_bellman"] == "-2.00"
    assert at8["Score / V_bellman"] == "3.00" and at8["Gap to V*"] == "-0.50"
    assert rows[2]["V* (hindsight)"] == "3.00" and rows[2]["Score"] == "0.50"
    cell64 = next(c for c in load_results(runs[0])["cells"] if c["budget"] == 64)
    assert cell64["bellman_value"] == pytest.approx(1.375)
    assert rows[2]["V_bellman"] == f"{cell64['bellman_value']:.2f}"


def test_budget_conditioning_shows_skips_by_tier_and_budget_use(runs: tuple[Path, Path]) -> None:
    md = render_report([load_results(r) for r in runs])
    rows = row_dicts(section(md, "Budget conditioning"))
    assert list(rows[0])[3:7] == ["Skip easy", "Skip medium", "Skip hard", "Skip rate"]
    tight = {r["Method"]: r for r in rows if r["Budget"] == "8"}
    assert tight["roi (mft+rarl)"]["Skip hard"] == "1.00"
    assert tight["roi (mft+rarl)"]["Skip rate"] == f"{1 / 3:.2f}"
    assert tight["roi (mft)"]["Skip hard"] == "0.00"
    loose = {r["Method"]: r for r in rows if r["Budget"] == "64"}
    assert loose["roi (mft+rarl)"]["Skip hard"] == "0.00"
    # tokens_used = 6 per exam: 6/8 and 6/64 of the budget
    assert tight["roi (mft)"]["Budget util."] == "0.75"
    assert loose["roi (mft)"]["Budget util."] == f"{6 / 64:.2f}"
    assert loose["roi (mft)"]["Mean tokens"] == "6.0"


def test_paired_difference_of_a_constant_shift(tmp_path: Path, runs: tuple[Path, Path]) -> None:
    out = write_report(runs, tmp_path / "report.md", pairs=[("roi (mft+rarl)", "roi (mft)")])
    rows = row_dicts(section(out.read_text(encoding="utf-8"), "Paired differences"))
    assert [(r["Budget"], r["Paired exams"], r["Mean diff"], r["95% CI"]) for r in rows] == [
        ("8", "4", "1.00", "[1.00, 1.00]"),
        ("64", "4", "1.00", "[1.00, 1.00]"),
        ("–", "8", "1.00", "[1.00, 1.00]"),  # pooled over the cells
    ]
    assert {r["A − B"] for r in rows} == {"roi (mft+rarl) − roi (mft)"}
    assert [r["Paper"] for r in rows] == ["easy", "easy", "all cells"]
    same = write_report(
        [runs[0], runs[0]], tmp_path / "same.md", pairs=[("roi (mft)", "roi (mft#2)")]
    )
    rows = row_dicts(section(same.read_text(encoding="utf-8"), "Paired differences"))
    assert {(r["Mean diff"], r["95% CI"]) for r in rows} == {("0.00", "[0.00, 0.00]")}


def test_paired_pairs_only_shared_exams(tmp_path: Path) -> None:
    a = write_run(tmp_path, "a", outcomes(1))
    b = write_run(tmp_path, "b", [e for e in outcomes(0) if e.exam_id != "p3"])
    results = [load_results(a), load_results(b)]
    md = render_report(
        results, samples=[load_samples(a), load_samples(b)], pairs=[("roi (a)", "roi (b)")]
    )
    rows = row_dicts(section(md, "Paired differences"))
    assert [r["Paired exams"] for r in rows] == ["3", "3", "6"]
    assert "No cell is shared" not in md


def test_paired_errors(runs: tuple[Path, Path]) -> None:
    results = [load_results(r) for r in runs]
    with pytest.raises(ValueError, match="need the runs' samples"):
        render_report(results, pairs=[("roi (mft)", "roi (mft+rarl)")])
    samples = [load_samples(r) for r in runs]
    with pytest.raises(ValueError, match=r"unknown method label 'roi'.*'roi \(mft\)'"):
        render_report(results, samples=samples, pairs=[("roi", "roi (mft)")])
    with pytest.raises(ValueError, match=r"unknown method label 'nope'"):
        render_report(results, samples=samples, pairs=[("roi (mft)", ("roi (mft+rarl)", "nope"))])
    with pytest.raises(ValueError, match=r"no B label paired with 'roi \(mft\)'"):
        render_report(results, samples=samples, pairs=[("roi (mft)", ())])


def method_exams(method: str, correct: dict[int, int], ids: str = "0123") -> list[ExamOutcome]:
    """Exams p<i> of ``method`` with ``correct[budget]`` right answers (no skips) per budget."""
    return [exam(f"p{i}", b, method, k, False) for b, k in correct.items() for i in ids]


@pytest.fixture
def best_of_runs(tmp_path: Path) -> tuple[list[dict], list[list[ExamOutcome]]]:
    """Run "a": roi scores 2 everywhere, p3 missing at B=8. Run "b": Greedy Knapsack scores
    0 at B=8 and 1 at B=64, the planner 3 and 0 (best at B=8 only), "twin" a copy of Greedy
    Knapsack, "only8" has no B=64 cell."""
    a = method_exams("roi", {8: 2}, "012") + method_exams("roi", {64: 2})
    b = method_exams("roi-greedy-knapsack", {8: 0, 64: 1})
    b += method_exams("roi-planner", {8: 3, 64: 0}) + method_exams("twin", {8: 0, 64: 1})
    b += method_exams("only8", {8: 1})
    dirs = [write_run(tmp_path, "a", a), write_run(tmp_path, "b", b)]
    return [load_results(d) for d in dirs], [load_samples(d) for d in dirs]


def test_paired_best_of_several_picks_per_cell_and_names_it(best_of_runs) -> None:
    results, samples = best_of_runs
    pairs = [("roi", ("roi-greedy-knapsack", "roi-planner"))]
    rows = row_dicts(section(render_report(results, samples=samples, pairs=pairs), "Paired"))
    assert [(r["A − B"], r["Budget"], r["Paired exams"], r["Mean diff"]) for r in rows] == [
        ("roi − roi-planner (best of roi-greedy-knapsack, roi-planner)", "8", "3", "-1.00"),
        ("roi − roi-greedy-knapsack (best of roi-greedy-knapsack, roi-planner)", "64", "4", "1.00"),
        # mean of the per-cell means (0), not of the 7 exams' differences (1/7)
        ("roi − best of roi-greedy-knapsack, roi-planner", "–", "7", "0.00"),
    ]
    assert rows[-1]["Paper"] == "all cells" and rows[-1]["95% CI"] == "[0.00, 0.00]"


def test_paired_best_of_ties_and_missing_cells(best_of_runs) -> None:
    results, samples = best_of_runs
    names = ["roi-greedy-knapsack", "twin"]
    for order in (names, names[::-1]):  # a tie in every cell: the first listed
        pair = [("roi", tuple(order))]
        rows = row_dicts(section(render_report(results, samples=samples, pairs=pair), "Paired"))
        name = f"roi − {order[0]} (best of {', '.join(order)})"
        assert [r["A − B"] for r in rows] == [name, name, f"roi − best of {', '.join(order)}"]
    # B=64 lacks "only8": that cell is left out, and one cell needs no pooled row
    pair = [("roi", ["roi-greedy-knapsack", "only8"])]
    rows = row_dicts(section(render_report(results, samples=samples, pairs=pair), "Paired"))
    assert [(r["A − B"], r["Budget"]) for r in rows] == [
        ("roi − only8 (best of roi-greedy-knapsack, only8)", "8")
    ]
    # one label in a tuple is a plain pair
    rows = row_dicts(
        section(render_report(results, samples=samples, pairs=[("roi", ("twin",))]), "Paired")
    )
    assert [r["A − B"] for r in rows] == ["roi − twin"] * 3


def test_pooled_diff_weighs_cells_equally_and_resamples_within_cells() -> None:
    pooled = pooled_diff([[1.0, 1.0, 1.0], [0.0], []])
    assert pooled == {"mean": 0.5, "lo": 0.5, "hi": 0.5, "n": 4}
    spread = pooled_diff([[0.0, 2.0], [1.0, 1.0]], seed=3)
    assert spread["mean"] == 1.0 and 0.5 <= spread["lo"] < 1.0 < spread["hi"] <= 1.5
    assert spread == pooled_diff([[0.0, 2.0], [1.0, 1.0]], seed=3)
    empty = pooled_diff([[], []])
    assert empty["n"] == 0 and math.isnan(empty["mean"])


def test_load_samples_accepts_run_dir_and_results_file(runs: tuple[Path, Path]) -> None:
    rows = load_samples(runs[0])
    assert rows == outcomes(0)
    assert load_samples(runs[0] / "results.json") == rows
    bad = runs[1] / "samples.jsonl"
    bad.write_text(bad.read_text().splitlines()[0] + '\n{"exam_id": "x"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"samples\.jsonl:2: not an exam outcome"):
        load_samples(runs[1])
    with pytest.raises(DataError, match="samples file not found"):
        load_samples(runs[0].parent / "nope")


def test_curve_summary_first_vs_last_validation(tmp_path: Path) -> None:
    path = tmp_path / "curve.jsonl"
    path.write_text(CURVE, encoding="utf-8")
    assert curve_summary(path) == (
        "validation reward 0.25 → 0.75 (step 0 → 10); B=8 0.00 → 0.50 (step 0 → 10); "
        "B=64 1.00 → 1.00 (step 10 → 10); train reward 0.50 → 1.25 (step 5 → 10)."
    )
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="no learning-curve rows"):
        curve_summary(path)


def test_report_finds_embeds_and_plots_the_curve(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    run = write_run(tmp_path, "mft+rarl", outcomes(1), curve=True)
    assert find_curves([run / "results.json"], tmp_path) == [run / "curve.jsonl"]
    out = write_report([run], tmp_path / "report.md", plots=True)
    text = section(out.read_text(encoding="utf-8"), "RARL learning curve")
    assert "validation reward 0.25 → 0.75" in text
    assert "![RARL learning curve 1](plots/learning_curve_1.png)" in text
    png = tmp_path / "plots" / "learning_curve_1.png"
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    assert (tmp_path / "plots" / "score_vs_budget.png").exists()
    plain = write_report([run], tmp_path / "plain.md", curves=[])
    assert "learning curve" not in plain.read_text(encoding="utf-8").lower()


def test_explicit_curve_without_plots_has_no_image(tmp_path: Path, runs: tuple[Path, Path]) -> None:
    curve = tmp_path / "rarl" / "curve.jsonl"
    curve.parent.mkdir()
    curve.write_text(CURVE, encoding="utf-8")
    out = write_report(runs, tmp_path / "r.md", curves=[curve])
    text = section(out.read_text(encoding="utf-8"), "RARL learning curve")
    assert f"`{curve}`: validation reward 0.25 → 0.75" in text and "![" not in text
    assert find_curves(runs, tmp_path) == [curve]  # the demo's <out>/rarl/curve.jsonl
