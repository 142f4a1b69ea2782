"""The bad-input probe: every case must exit 2 with ONE ``error:`` line that names the file:line
or the setting, create nothing and modify no input. ``python tests/test_hardening.py`` prints
the per-command counts."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from roi_reasoning.cli import main

P = {"id": "p", "question": "1+1?", "answer": "2", "tier": "easy", "points": 1.0}
EXAM = {"id": "e1", "group": "g", "kind": "easy", "budget": 64, "problems": [P]}
ROW = {"problem_id": "p", "tier": "easy", "sample": 0, "tokens": 5, "correct": True, "text": "x"}


def _exam(**kw: object) -> str:
    return json.dumps({**EXAM, **kw}) + "\n"


def _problem(**kw: object) -> str:
    return _exam(problems=[{**P, **kw}])


def _row(**kw: object) -> str:
    return json.dumps({**ROW, **kw}) + "\n"


GOOD_EXAMS = _exam() + _exam(id="e2")
GOOD_PROFILE = _row() + _row(sample=1, correct=False)
TIER = "".join(
    json.dumps({"id": f"t{i}", "question": f"{i}+1?", "answer": str(i + 1)}) + "\n"
    for i in range(4)
)

FILES: dict[str, str | bytes] = {
    "easy.jsonl": TIER,
    "medium.jsonl": TIER.replace('"t', '"m'),
    "hard.jsonl": TIER.replace('"t', '"h'),
    "exams.jsonl": GOOD_EXAMS,
    "profile.jsonl": GOOD_PROFILE,
    "pairs.jsonl": '{"gold": "1", "pred": "1"}\n',
    "results.json": '{"run": "r", "cells": []}',
    "file": "not a folder\n",
    # exams files
    "ex_empty.jsonl": "",
    "ex_dup.jsonl": _exam() + _exam(),
    "ex_budget_str.jsonl": _exam(budget="64"),
    "ex_budget_float.jsonl": _exam(budget=64.9),
    "ex_budget_bool.jsonl": _exam(budget=True),
    "ex_budget_zero.jsonl": _exam(budget=0),
    "ex_budget_huge.jsonl": _exam(budget=10**12),
    "ex_answer_list.jsonl": _problem(answer=["2"]),
    "ex_answer_dict.jsonl": _problem(answer={"a": 2}),
    "ex_answer_int.jsonl": _problem(answer=2),
    "ex_answer_null.jsonl": _problem(answer=None),
    "ex_points_str.jsonl": _problem(points="two"),
    "ex_points_neg.jsonl": _problem(points=-1),
    "ex_points_nan.jsonl": _exam().replace('"points": 1.0', '"points": NaN'),
    "ex_problems_str.jsonl": _exam(problems="abc"),
    "ex_problems_empty.jsonl": _exam(problems=[]),
    "ex_torn.jsonl": _exam() + '{"id": "e2", "gro',
    "ex_latin1.jsonl": b'{"id": "\xe9"}\n',
    "ex_no_kind.jsonl": json.dumps({k: v for k, v in EXAM.items() if k != "kind"}) + "\n",
    # profiles
    "pr_correct_str.jsonl": _row() + _row(sample=1, correct="no"),
    "pr_correct_int.jsonl": _row(correct=2),
    "pr_tokens_neg.jsonl": _row(tokens=-5),
    "pr_tokens_float.jsonl": _row(tokens=3.5),
    "pr_id_int.jsonl": _row(problem_id=7),
    "pr_no_correct.jsonl": json.dumps({k: v for k, v in ROW.items() if k != "correct"}) + "\n",
    "pr_torn.jsonl": GOOD_PROFILE + '{"problem_id": "p", "tok',
    "pr_dup.jsonl": _row() + _row(),
    "pr_empty.jsonl": "",
    # configs
    "c_budgets_str.yaml": 'budgets: "512"\n',
    "c_methods_str.yaml": "methods: base\n",
    "c_count_str.yaml": "count: two\n",
    "c_budget_float.yaml": "budgets: [64.9]\n",
    "c_budget_bool.yaml": "budgets: [true]\n",
    "c_tier_key.yaml": "tiers:\n  easy: {source: in/easy.jsonl, min_levle: 2}\n",
    "c_tier_source.yaml": "tiers:\n  easy: {source: 5}\n",
    "c_tier_list.yaml": "tiers: [in/easy.jsonl]\n",
    "c_latin1.yaml": b"methods: [b\xe9se]\n",
    "c_unknown.yaml": "budgte: 3\n",
    "c_list.yaml": "- a\n- b\n",
    "c_bad.yaml": "budgets: [unclosed\n",
    "c_bounds.yaml": "level_bounds: [512, 256]\n",
    "c_batch.yaml": "batch_size: 0\n",
    "c_share.yaml": "max_na_share: 2\n",
    # oracle instances
    "o_bellman_huge.json": json.dumps(
        {
            "mode": "bellman",
            "budget": 10**9,
            "problems": [{"options": {"a": [{"tokens": 5, "correct": 1}]}}],
        }
    ),
    "o_hindsight_huge.json": json.dumps(
        {"budget": 10**12, "problems": [{"attempts": [{"tokens": 5, "correct": 1}]}]}
    ),
    "o_bad.json": '{"budget": 5,',
    "o_latin1.json": b'{"budget": "\xe9"}',
    "o_neg.json": json.dumps({"budget": -1, "problems": []}),
    "o_str.json": json.dumps({"budget": "5", "problems": []}),
    # grade pairs / results
    "g_bad.jsonl": '{"gold": "1", "pred": "1"}\n{"gold": 1}\n',
    "r_bad.json": '{"run": "r", "cells": [',
    "r_nocells.json": '{"run": "r"}',
}

TIERS = [
    "--tier",
    "easy=in/easy.jsonl",
    "--tier",
    "medium=in/medium.jsonl",
    "--tier",
    "hard=in/hard.jsonl",
]
EVAL0 = [
    "eval",
    "--out",
    "out/run",
    "--no-progress",
    "--no-plots",
    "--count",
    "1",
    "--budgets",
    "64",
]
EVAL = [*EVAL0, *TIERS]
EXB = ["exams", "build", "--out", "out/exams.jsonl", "--count", "1", *TIERS]
PROF = [
    "profile",
    "--out",
    "out/p.jsonl",
    "--policy",
    "scripted",
    "--k",
    "1",
    "--per-tier",
    "1",
    "--no-progress",
    *TIERS,
]
MFT = [
    "mft",
    "build",
    "--profile",
    "in/profile.jsonl",
    "--tokenizer",
    "none",
    "--out",
    "out/mft",
    *TIERS,
]
VERL = ["export", "verl", "--out", "out/v.parquet", "--tokenizer", "none", "--count", "1", *TIERS]

# (id, argv, what the one error line must name)
CASES: list[tuple[str, list[str], str]] = [
    # ---- exams build
    ("exams-count-0", [*EXB, "--count", "0"], "count"),
    ("exams-count-huge", [*EXB, "--count", "100000000"], "count"),
    ("exams-n-neg", [*EXB, "--n", "-1"], "n:"),
    ("exams-n-0", [*EXB, "--n", "0"], "n:"),
    ("exams-kinds-empty", [*EXB, "--kinds", ","], "--kinds"),
    ("exams-budgets-empty", [*EXB, "--budgets", ","], "--budgets"),
    ("exams-budget-0", [*EXB, "--budgets", "0"], "budgets[0]"),
    ("exams-budget-huge", [*EXB, "--budgets", "2000000"], "budgets[0]"),
    ("exams-budget-float", [*EXB, "--budgets", "64.9"], "--budgets"),
    ("exams-budget-dup", [*EXB, "--budgets", "64,64"], "budgets"),
    ("exams-kind-bad", [*EXB, "--kinds", "weird"], "kinds[0]"),
    ("exams-points-neg", [*EXB, "--points=-1,1,1"], "points[0]"),
    ("exams-points-nan", [*EXB, "--points", "nan,1,1"], "points[0]"),
    ("exams-points-count", [*EXB, "--points", "1,2"], "points"),
    ("exams-composition", [*EXB, "--composition", "easy,expert"], "composition"),
    ("exams-tier-spec", [*EXB[:6], "--tier", "nonsense"], "bad tier"),
    ("exams-tier-dir", [*EXB[:6], "--tier", "easy=in/dir"], "in/dir"),
    ("exams-tier-missing", [*EXB[:6], "--tier", "easy=in/nope.jsonl"], "nope.jsonl"),
    ("exams-out-dir", [*EXB, "--out", "in/dir"], "in/dir"),
    ("exams-out-under-file", [*EXB, "--out", "in/file/x.jsonl"], "in/file"),
    ("exams-out-readonly", [*EXB, "--out", "ro/x.jsonl"], "ro"),
    ("exams-seed-str", [*EXB, "--seed", "x"], "--seed"),
    # ---- eval: flags
    ("eval-budget-0", [*EVAL, "--budgets", "0"], "budgets[0]"),
    ("eval-budgets-empty", [*EVAL, "--budgets", ","], "--budgets"),
    ("eval-budget-huge", [*EVAL, "--budgets", "2000000"], "budgets[0]"),
    ("eval-kinds-empty", [*EVAL, "--kinds", ","], "--kinds"),
    ("eval-kind-bad", [*EVAL, "--kinds", "weird"], "kinds[0]"),
    ("eval-n-neg", [*EVAL, "--n", "-1"], "n:"),
    ("eval-n-0", [*EVAL, "--n", "0"], "n:"),
    ("eval-count-0", [*EVAL, "--count", "0"], "count"),
    ("eval-count-huge", [*EVAL, "--count", "100000000"], "count"),
    ("eval-batch-0", [*EVAL, "--batch-size", "0"], "batch_size"),
    ("eval-batch-neg", [*EVAL, "--batch-size", "-3"], "batch_size"),
    ("eval-bounds-desc", [*EVAL, "--level-bounds", "512,256"], "level_bounds"),
    ("eval-bounds-neg", [*EVAL, "--level-bounds=-1,2,3"], "level_bounds[0]"),
    ("eval-centroids-neg", [*EVAL, "--centroids=-1,2,3"], "centroids[0]"),
    ("eval-centroids-desc", [*EVAL, "--centroids", "3,2,1"], "centroids"),
    (
        "eval-centroids-len",
        [*EVAL, "--methods", "greedy-knapsack", "--centroids", "1,2"],
        "centroids",
    ),
    ("eval-method-bad", [*EVAL, "--methods", "nope"], "methods[0]"),
    ("eval-planner-no-profiles", [*EVAL, "--methods", "planner"], "methods"),
    ("eval-timeout-0", [*EVAL, "--timeout", "0"], "grade_timeout"),
    ("eval-timeout-nan", [*EVAL, "--timeout", "nan"], "grade_timeout"),
    ("eval-policy-bad", [*EVAL, "--policy", "nosuch"], "nosuch"),
    ("eval-policy-module", [*EVAL, "--policy", "json:NoSuchClass"], "NoSuchClass"),
    ("eval-policy-arg", [*EVAL, "--policy-arg", "novalue"], "--policy-arg"),
    ("eval-composition", [*EVAL, "--composition", "easy,expert"], "composition"),
    ("eval-tier-dir", [*EVAL0, "--tier", "easy=in/dir"], "in/dir"),
    ("eval-tier-missing", [*EVAL0, "--tier", "easy=in/nope.jsonl"], "nope.jsonl"),
    ("eval-out-file", [*EVAL, "--out", "in/file"], "in/file"),
    ("eval-out-under-file", [*EVAL, "--out", "in/file/run"], "in/file"),
    ("eval-out-readonly", [*EVAL, "--out", "ro/run"], "ro/run"),
    ("eval-profiles-dir", [*EVAL, "--profiles", "in/dir"], "in/dir"),
    ("eval-profiles-missing", [*EVAL, "--profiles", "in/nope.jsonl"], "in/nope.jsonl"),
    ("eval-config-missing", [*EVAL, "--config", "in/nope.yaml"], "in/nope.yaml"),
    ("eval-config-dir", [*EVAL, "--config", "in/dir"], "in/dir"),
    ("eval-exams-dir", [*EVAL, "--exams", "in/dir"], "in/dir"),
    ("eval-exams-missing", [*EVAL, "--exams", "in/nope.jsonl"], "in/nope.jsonl"),
    # ---- eval: bad exams files (file:line)
    ("eval-exams-empty", [*EVAL, "--exams", "in/ex_empty.jsonl"], "in/ex_empty.jsonl: no exams"),
    ("eval-exams-dup", [*EVAL, "--exams", "in/ex_dup.jsonl"], "in/ex_dup.jsonl:2:"),
    ("eval-exams-torn", [*EVAL, "--exams", "in/ex_torn.jsonl"], "in/ex_torn.jsonl:2:"),
    ("eval-exams-latin1", [*EVAL, "--exams", "in/ex_latin1.jsonl"], "in/ex_latin1.jsonl:1:"),
    ("eval-exams-no-kind", [*EVAL, "--exams", "in/ex_no_kind.jsonl"], "in/ex_no_kind.jsonl:1:"),
    *[
        (f"eval-exams-{name}", [*EVAL, "--exams", f"in/ex_{name}.jsonl"], f"in/ex_{name}.jsonl:1:")
        for name in (
            "budget_str",
            "budget_float",
            "budget_bool",
            "budget_zero",
            "budget_huge",
            "answer_list",
            "answer_dict",
            "answer_int",
            "answer_null",
            "points_str",
            "points_neg",
            "points_nan",
            "problems_str",
            "problems_empty",
        )
    ],
    # ---- eval: bad profiles (file:line)
    *[
        (
            f"eval-profiles-{name}",
            [*EVAL, "--profiles", f"in/pr_{name}.jsonl"],
            f"in/pr_{name}.jsonl:{line}:",
        )
        for name, line in (
            ("correct_str", 2),
            ("correct_int", 1),
            ("tokens_neg", 1),
            ("tokens_float", 1),
            ("id_int", 1),
            ("no_correct", 1),
            ("torn", 3),
            ("dup", 2),
        )
    ],
    (
        "eval-profiles-empty",
        [*EVAL, "--profiles", "in/pr_empty.jsonl"],
        "in/pr_empty.jsonl: no profile",
    ),
    # ---- eval: bad YAML configs (file + key)
    (
        "eval-yaml-budgets-str",
        [*EVAL0, "--config", "in/c_budgets_str.yaml"],
        "c_budgets_str.yaml: budgets",
    ),
    (
        "eval-yaml-methods-str",
        [*EVAL0, "--config", "in/c_methods_str.yaml"],
        "c_methods_str.yaml: methods",
    ),
    ("eval-yaml-count-str", [*EVAL0, "--config", "in/c_count_str.yaml"], "c_count_str.yaml: count"),
    ("eval-yaml-budget-float", [*EVAL0, "--config", "in/c_budget_float.yaml"], "budgets[0]"),
    ("eval-yaml-budget-bool", [*EVAL0, "--config", "in/c_budget_bool.yaml"], "budgets[0]"),
    ("eval-yaml-tier-key", [*EVAL0, "--config", "in/c_tier_key.yaml"], "tiers.easy"),
    ("eval-yaml-tier-source", [*EVAL0, "--config", "in/c_tier_source.yaml"], "tiers.easy.source"),
    ("eval-yaml-tier-list", [*EVAL0, "--config", "in/c_tier_list.yaml"], "tiers"),
    ("eval-yaml-latin1", [*EVAL0, "--config", "in/c_latin1.yaml"], "in/c_latin1.yaml"),
    ("eval-yaml-unknown", [*EVAL0, "--config", "in/c_unknown.yaml"], "budgte"),
    ("eval-yaml-list", [*EVAL0, "--config", "in/c_list.yaml"], "in/c_list.yaml"),
    ("eval-yaml-bad", [*EVAL0, "--config", "in/c_bad.yaml"], "in/c_bad.yaml:"),
    ("eval-yaml-bounds", [*EVAL0, "--config", "in/c_bounds.yaml"], "level_bounds"),
    ("eval-yaml-batch", [*EVAL0, "--config", "in/c_batch.yaml"], "batch_size"),
    # ---- profile
    ("profile-k-0", [*PROF, "--k", "0"], "k:"),
    ("profile-per-tier-0", [*PROF, "--per-tier", "0"], "per_tier"),
    ("profile-per-tier-neg", [*PROF, "--per-tier", "-2"], "per_tier"),
    ("profile-max-tokens-neg", [*PROF, "--max-tokens", "-5"], "max_tokens"),
    ("profile-batch-0", [*PROF, "--batch-size", "0"], "batch_size"),
    ("profile-bounds-desc", [*PROF, "--level-bounds", "3,2"], "level_bounds"),
    ("profile-k-huge", [*PROF, "--k", "100000000"], "k:"),
    ("profile-out-dir", [*PROF, "--out", "in/dir"], "in/dir"),
    ("profile-out-under-file", [*PROF, "--out", "in/file/p.jsonl"], "in/file"),
    ("profile-out-readonly", [*PROF, "--out", "ro/p.jsonl"], "ro"),
    (
        "profile-resume-bad-rows",
        [*PROF, "--out", "in/pr_correct_str.jsonl"],
        "in/pr_correct_str.jsonl:2:",
    ),
    ("profile-tier-dir", [*PROF[:9], "--tier", "easy=in/dir"], "in/dir"),
    ("profile-yaml-tier-key", [*PROF, "--config", "in/c_tier_key.yaml"], "tiers.easy"),
    # ---- mft build
    ("mft-na-share-2", [*MFT, "--max-na-share", "2"], "max_na_share"),
    ("mft-na-share-neg", [*MFT, "--max-na-share", "-0.1"], "max_na_share"),
    ("mft-exams-neg", [*MFT, "--exams", "-1"], "exams"),
    ("mft-n-0", [*MFT, "--n", "0"], "n:"),
    ("mft-budgets-0", [*MFT, "--budgets", "0"], "budgets[0]"),
    ("mft-bounds-desc", [*MFT, "--level-bounds", "3,2"], "level_bounds"),
    ("mft-yaml-share", [*MFT, "--config", "in/c_share.yaml"], "max_na_share"),
    (
        "mft-profile-correct-str",
        [*MFT, "--profile", "in/pr_correct_str.jsonl"],
        "in/pr_correct_str.jsonl:2:",
    ),
    ("mft-profile-torn", [*MFT, "--profile", "in/pr_torn.jsonl"], "in/pr_torn.jsonl:3:"),
    (
        "mft-profile-tokens-neg",
        [*MFT, "--profile", "in/pr_tokens_neg.jsonl"],
        "in/pr_tokens_neg.jsonl:1:",
    ),
    ("mft-profile-dir", [*MFT, "--profile", "in/dir"], "in/dir"),
    ("mft-profile-missing", [*MFT, "--profile", "in/nope.jsonl"], "in/nope.jsonl"),
    ("mft-out-file", [*MFT, "--out", "in/file"], "in/file"),
    ("mft-out-under-file", [*MFT, "--out", "in/file/mft"], "in/file"),
    ("mft-out-readonly", [*MFT, "--out", "ro/mft"], "ro"),
    # ---- export verl
    ("verl-out-dir", [*VERL, "--out", "in/dir"], "in/dir"),
    ("verl-out-under-file", [*VERL, "--out", "in/file/v.parquet"], "in/file"),
    ("verl-out-readonly", [*VERL, "--out", "ro/v.parquet"], "ro"),
    ("verl-bounds-desc", [*VERL, "--level-bounds", "3,2"], "--level-bounds"),
    ("verl-count-0", [*VERL, "--count", "0"], "count"),
    ("verl-kinds-empty", [*VERL, "--kinds", ","], "--kinds"),
    # ---- report
    ("report-missing", ["report", "in/nope"], "in/nope"),
    ("report-bad-json", ["report", "in/r_bad.json"], "in/r_bad.json:1:"),
    ("report-no-cells", ["report", "in/r_nocells.json"], "in/r_nocells.json"),
    ("report-out-dir", ["report", "in/results.json", "--out", "in/dir"], "in/dir"),
    ("report-out-under-file", ["report", "in/results.json", "--out", "in/file/r.md"], "in/file"),
    ("report-out-readonly", ["report", "in/results.json", "--out", "ro/r.md"], "ro"),
    # ---- oracle
    ("oracle-bellman-huge", ["oracle", "in/o_bellman_huge.json"], "'budget'"),
    ("oracle-hindsight-huge", ["oracle", "in/o_hindsight_huge.json"], "'budget'"),
    ("oracle-bad-json", ["oracle", "in/o_bad.json"], "in/o_bad.json:1"),
    ("oracle-latin1", ["oracle", "in/o_latin1.json"], "in/o_latin1.json"),
    ("oracle-budget-neg", ["oracle", "in/o_neg.json"], "'budget'"),
    ("oracle-budget-str", ["oracle", "in/o_str.json"], "'budget'"),
    ("oracle-dir", ["oracle", "in/dir"], "in/dir"),
    ("oracle-missing", ["oracle", "in/nope.json"], "in/nope.json"),
    # ---- grade
    ("grade-bad-row", ["grade", "in/g_bad.jsonl"], "in/g_bad.jsonl:2:"),
    ("grade-dir", ["grade", "in/dir"], "in/dir"),
    ("grade-missing", ["grade", "in/nope.jsonl"], "in/nope.jsonl"),
    ("grade-timeout-neg", ["grade", "in/pairs.jsonl", "--timeout", "-1"], "--timeout"),
]


def make_inputs(root: Path) -> None:
    """The probe's input tree: good and bad files under in/, a folder, a 'read-only' folder."""
    (root / "in" / "dir").mkdir(parents=True)
    (root / "ro").mkdir()
    (root / "out").mkdir()
    for name, content in FILES.items():
        path = root / "in" / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` → sha256 of its bytes ('dir' for folders)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def probe_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    ro, real = str(tmp_path / "ro"), os.access
    # the tests may run as root, who may write anywhere: make ro/ read-only for the checks
    monkeypatch.setattr(
        os,
        "access",
        lambda p, m, **kw: (
            False if str(Path(p).absolute()) == ro and m & os.W_OK else real(p, m, **kw)
        ),
    )
    return tmp_path


@pytest.mark.parametrize(("argv", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_one_line_nothing_written(probe_dir, capsys, argv, expect):
    check_refused(probe_dir, capsys, argv, expect)


def check_refused(probe_dir: Path, capsys, argv: list[str], expect: str) -> None:
    """``roi argv`` exits 2 with one ``error:`` line holding ``expect``, creates nothing and
    modifies no input."""
    before = snapshot(probe_dir)
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expect in lines[0], lines[0]
    assert "Traceback" not in err
    assert snapshot(probe_dir) == before  # nothing created, no input modified


def count_by_command() -> dict[str, int]:
    counts: dict[str, int] = {}
    for case_id, _, _ in CASES:
        command = case_id.split("-")[0]
        counts[command] = counts.get(command, 0) + 1
    return counts


if __name__ == "__main__":
    print(json.dumps(count_by_command(), indent=2), f"total {len(CASES)}", file=sys.stdout)
