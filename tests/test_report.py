"""report.writer (results.json -> Markdown) and report.plots (PNG figures)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from roi_reasoning.errors import DataError, MissingExtra
from roi_reasoning.report.writer import load_results, render_report, write_report

KINDS = ("hard", "easy", "medium")  # deliberately not in column order
BUDGETS = (1024, 512)  # deliberately descending
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLUMNS = ["Easy/512", "Easy/1024", "Medium/512", "Medium/1024", "Hard/512", "Hard/1024"]


def make_cell(method: str, kind: str, budget: int, k: int) -> dict[str, Any]:
    """A cell with distinct, recognisable numbers; ``k`` makes them differ per cell."""
    mean = round(1.0 + 0.05 * k, 2)
    tagged = method == "roi"
    confusion = [[0] * 4 for _ in range(4)]
    if tagged:
        confusion[0][0], confusion[1][1], confusion[1][2], confusion[3][3] = 5, 3, 1 + k % 2, 2
    return {
        "method": method,
        "kind": kind,
        "budget": budget,
        "n_exams": 20,
        "score": {"mean": mean, "lo": round(mean - 0.2, 2), "hi": round(mean + 0.2, 2)},
        "regret_tilde": 0.0 if kind == "easy" else round(0.01 * k, 2),
        "oracle_value": None,
        "oracle_regret": None,
        "oracle_gap": None,
        "position_accuracy": [0.9, 0.5, round(0.01 * k, 2)],
        "position_tokens": [120.5, 300.0, 91.5 + k],
        "level_accuracy": 0.7 if tagged else None,
        "confusion": confusion,
        "skip_rate": 0.2 if tagged else 0.0,
        "skip_precision": 0.9 if tagged else None,
        "status_counts": {
            "correct": 24 + k,
            "wrong": 10,
            "skipped": 12,
            "exhausted": 8,
            "unreached": 6,
            "malformed": 0,
        },
        "exhausted_exams": 0.3,
        "budget_utilisation": 0.8,
        "tokens_mean": 410.0 + k,
    }


def make_results(run: str = "demo", methods: tuple[str, ...] = ("base", "roi")) -> dict[str, Any]:
    cells = []
    for method in methods:
        for kind in KINDS:
            for budget in BUDGETS:
                cells.append(make_cell(method, kind, budget, len(cells)))
    return {
        "run": run,
        "created": "2026-01-01T00:00:00",
        "git": None,
        "config": {"seed": 0},
        "versions": {"roi_reasoning": "0.1.0"},
        "grader": "roi-fast+math-verify==0.9.0",
        "policy": {"name": "scripted"},
        "level_bounds": [256, 512, 1024],
        "accounting": "budget counts generated tokens only",
        "cells": cells,
    }


def find_cell(results: dict[str, Any], method: str, kind: str, budget: int) -> dict[str, Any]:
    return next(
        c
        for c in results["cells"]
        if (c["method"], c["kind"], c["budget"]) == (method, kind, budget)
    )


def section(md: str, title: str) -> str:
    """The text of the ``## title`` section."""
    start = md.index(f"## {title}")
    end = md.find("\n## ", start + 1)
    return md[start : end if end != -1 else len(md)]


def table_rows(text: str) -> list[list[str]]:
    """Markdown table rows as lists of stripped cells (header included, separator dropped)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return rows


def test_main_table_columns_cells_and_nulls() -> None:
    results = make_results()
    find_cell(results, "base", "medium", 512)["regret_tilde"] = None
    find_cell(results, "roi", "hard", 1024)["score"].update(lo=None, hi=None)
    md = render_report([results])
    rows = table_rows(section(md, "Score by paper and budget"))
    assert rows[0] == [
        "Method",
        "Easy/512",
        "Easy/1024",
        "Medium/512",
        "Medium/1024",
        "Hard/512",
        "Hard/1024",
    ]
    assert [r[0] for r in rows[1:]] == ["base", "roi"]
    by_method = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    easy = find_cell(results, "roi", "easy", 512)
    mean = easy["score"]["mean"]
    assert by_method["roi"]["Easy/512"] == (
        f"{mean:.2f} [{mean - 0.2:.2f}, {mean + 0.2:.2f}] · R~ 0.00"
    )
    medium = find_cell(results, "base", "medium", 512)["score"]
    assert by_method["base"]["Medium/512"] == (
        f"{medium['mean']:.2f} [{medium['lo']:.2f}, {medium['hi']:.2f}] · R~ –"
    )
    hard = find_cell(results, "roi", "hard", 1024)
    assert by_method["roi"]["Hard/1024"] == (
        f"{hard['score']['mean']:.2f} [–, –] · R~ {hard['regret_tilde']:.2f}"
    )
    assert "None" not in md and "nan" not in md


def test_provenance_position_skip_tables() -> None:
    results = make_results()
    md = render_report([results])
    assert md.startswith("# ROI-Reasoning report: demo")
    assert "- **demo**: policy `scripted`, grader `roi-fast+math-verify==0.9.0`, git `–`" in md
    positions = table_rows(section(md, "Accuracy and mean generated tokens by position"))
    assert positions[0][:6] == ["Method", "Paper", "Budget", "P1 acc", "P2 acc", "P3 acc"]
    assert positions[0][6:] == ["P1 tokens", "P2 tokens", "P3 tokens"]
    # rows follow method order, then kind order, then budget
    assert [tuple(r[:3]) for r in positions[1:4]] == [
        ("base", "easy", "512"),
        ("base", "easy", "1024"),
        ("base", "medium", "512"),
    ]
    k = results["cells"].index(find_cell(results, "base", "easy", 512))
    assert positions[1][3:] == [
        "0.90",
        "0.50",
        f"{0.01 * k:.2f}",
        "120.5",
        "300.0",
        f"{91.5 + k:.1f}",
    ]
    skip = table_rows(section(md, "Skip precision and statuses"))
    assert skip[0][-6:] == ["correct", "wrong", "skipped", "exhausted", "unreached", "malformed"]
    base_row = dict(zip(skip[0], skip[1], strict=True))
    assert base_row["Skip precision"] == "–"  # null: no skips to be precise about
    assert base_row["correct"] == str(24 + k) and base_row["Exams"] == "20"
    roi_row = dict(zip(skip[0], skip[7], strict=True))
    assert (roi_row["Method"], roi_row["Skip rate"], roi_row["Skip precision"]) == (
        "roi",
        "0.20",
        "0.90",
    )


def test_oracle_table_only_when_values_exist() -> None:
    results = make_results()
    assert "oracle" not in render_report([results]).lower()
    find_cell(results, "roi", "hard", 512).update(
        oracle_value=1.8, bellman_value=1.5, attempt_all_value=0.9, all_but_hardest_value=1.2
    )
    rows = table_rows(section(render_report([results]), "Exact OS-MCKP oracle"))
    assert rows[0][3:] == [
        "Score",
        "V* (hindsight)",
        "Gap to V*",
        "V_bellman",
        "Gap to V_bellman",
        "Score / V_bellman",
        "Attempt all",
        "All but hardest",
    ]
    assert len(rows) == 2 and rows[1][:3] == ["hard", "512", "roi"]
    assert rows[1][4:] == ["1.80", "–", "1.50", "–", "–", "0.90", "1.20"]


def test_confusion_summed_over_kinds_and_budgets() -> None:
    results = make_results()
    md = section(render_report([results]), "Level prediction")
    assert "Methods without level tags: base." in md
    rows = table_rows(md[md.index("### roi") :])
    assert rows[0] == ["pred \\ actual", "L0 ≤256", "L1 ≤512", "L2 ≤1024", "L3 >1024"]
    roi_cells = [c for c in results["cells"] if c["method"] == "roi"]
    expected = [[sum(c["confusion"][i][j] for c in roi_cells) for j in range(4)] for i in range(4)]
    assert [[int(v) for v in r[1:]] for r in rows[1:]] == expected
    assert expected[0][0] == 30 and expected[1][2] == 9  # six cells, k parity alternates
    # the level-accuracy table: per cell, then pooled by counts over the summed matrix
    tagged = sum(map(sum, expected))
    diagonal = sum(expected[i][i] for i in range(4))
    acc = table_rows(md[: md.index("### roi")])
    assert acc[0] == ["Method", *COLUMNS, "Pooled", "Tagged problems"]
    assert acc[1:] == [["roi", *["0.70"] * 6, f"{diagonal / tagged:.2f}", str(tagged)]]
    assert (diagonal, tagged) == (60, 69)  # from the counts, not the mean of the cells' 0.70


def test_level_accuracy_pooled_by_counts_per_method() -> None:
    results = make_results(methods=("base", "roi", "roi-planner"))
    for cell in results["cells"]:
        if cell["method"] == "roi-planner":  # accuracy 1/2 at 512 (2 tags), 9/10 at 1024
            right, wrong = (1, 1) if cell["budget"] == 512 else (9, 1)
            cell["confusion"] = [[right, wrong], [0, 0]]
            cell["level_accuracy"] = right / (right + wrong)
        if (cell["method"], cell["kind"], cell["budget"]) == ("roi", "medium", 512):
            dropped = sum(map(sum, cell["confusion"]))
            cell["level_accuracy"], cell["confusion"] = None, [[0] * 4 for _ in range(4)]
    md = section(render_report([results]), "Level prediction")
    rows = {r[0]: r[1:] for r in table_rows(md[: md.index("### roi")])[1:]}
    assert list(rows) == ["roi", "roi-planner"]  # base has no tags
    # (3·1 + 3·9) / (3·2 + 3·10)
    assert rows["roi-planner"] == ["0.50", "0.90"] * 3 + [f"{30 / 36:.2f}", "36"]
    assert rows["roi"][2:4] == ["–", "0.70"] and rows["roi"][-1] == str(69 - dropped)


def test_run_without_cells() -> None:
    md = render_report([{"run": "empty", "cells": []}])
    assert "policy `–`" in md and md.rstrip().endswith("No result cells.")


def test_unknown_kinds_sorted_after_known() -> None:
    results = make_results(methods=("roi",))
    for kind in ("zeta", "composition", "alpha"):
        results["cells"].append(make_cell("roi", kind, 512, 1))
    header = table_rows(section(render_report([results]), "Score by paper and budget"))[0]
    assert header[-3:] == ["Composition/512", "Alpha/512", "Zeta/512"]
    assert header[1] == "Easy/512"


def test_same_cells_in_two_runs_are_both_kept() -> None:
    first = make_results("run-a", methods=("base", "roi"))
    second = make_results("run-b", methods=("base", "greedy"))
    find_cell(second, "base", "easy", 512)["score"]["mean"] = 2.5
    rows = table_rows(section(render_report([first, second]), "Score by paper and budget"))
    labels = [r[0] for r in rows[1:]]
    # base clashes -> run names appended; roi/greedy are unique -> plain; first-seen order
    assert labels == ["base (run-a)", "base (run-b)", "roi", "greedy"]
    assert rows[2][1].startswith("2.50 [")
    assert rows[1][1].startswith(f"{find_cell(first, 'base', 'easy', 512)['score']['mean']:.2f}")
    same = render_report([first, copy.deepcopy(first)])
    assert "base (run-a#2)" in same and "roi (run-a)" in same


def test_load_results_accepts_dir_and_file(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "demo"
    run_dir.mkdir(parents=True)
    results = make_results()
    (run_dir / "results.json").write_text(json.dumps(results), encoding="utf-8")
    assert load_results(run_dir) == results
    assert load_results(run_dir / "results.json") == results


def test_load_results_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DataError, match="nope"):
        load_results(missing)
    bad = tmp_path / "results.json"
    bad.write_text('{\n  "run": "demo",\n  "cells": [,]\n}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"results\.json:3: .*malformed JSON"):
        load_results(bad)
    bad.write_text(json.dumps({"run": "demo"}), encoding="utf-8")
    with pytest.raises(DataError, match=r"results\.json: missing key\(s\): cells"):
        load_results(bad)
    broken = make_results()
    del broken["cells"][2]["score"]
    bad.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(DataError, match=r"cells\[2\] missing key\(s\): score"):
        load_results(tmp_path)
    broken = make_results()
    broken["cells"].append(dict(broken["cells"][0]))
    bad.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(DataError, match="repeats"):
        load_results(bad)


def test_write_report(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(make_results(name)))
    out = write_report([tmp_path / "a", tmp_path / "b" / "results.json"], tmp_path / "r" / "x.md")
    text = out.read_text(encoding="utf-8")
    assert out == tmp_path / "r" / "x.md" and "base (a)" in text and "roi (b)" in text
    assert list((tmp_path / "r").iterdir()) == [out]  # no temporary left behind


def test_report_module_is_pure() -> None:
    code = (
        "import sys, roi_reasoning.report.writer; "
        "bad = {'torch', 'transformers', 'matplotlib'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_write_plots_writes_readable_pngs(tmp_path: Path) -> None:
    image = pytest.importorskip("matplotlib.image")
    from roi_reasoning.report.plots import write_plots

    first, second = make_results("a"), make_results("b", methods=("roi", "odd/name"))
    paths = write_plots([first, second], tmp_path / "plots")
    names = [p.name for p in paths]
    assert names[:2] == ["score_vs_budget.png", "tokens_per_position.png"]
    # base writes no tags (all-zero confusion) -> no figure; clashing roi -> one per run
    assert sorted(names[2:]) == ["confusion_roi_a.png", "confusion_roi_b.png"]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
        pixels = image.imread(path)
        assert pixels.ndim == 3 and pixels.shape[0] > 0 and pixels.shape[1] > 0


def test_plots_without_matplotlib_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from roi_reasoning.report import plots

    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtra, match=r"pip install 'roi-reasoning\[plots\]'"):
        plots.write_plots([make_results()], "unused")


def test_cli_paired_takes_a_best_of_side():
    import argparse

    import pytest

    from roi_reasoning.cli.evaluation import pair

    assert pair("roi (mft+rarl), roi (mft)") == ("roi (mft+rarl)", "roi (mft)")
    assert pair("a,b|c") == ("a", ("b", "c"))
    for bad in ("a", "a,", ",b", "a,b|"):
        with pytest.raises(argparse.ArgumentTypeError):
            pair(bad)
