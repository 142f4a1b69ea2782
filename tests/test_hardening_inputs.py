"""The second bad-input probe (issue: "settings and inputs checked before work starts"): parse
bounds (digits, nesting, alias expansion, lone surrogates, non-finite numbers, non-string
keys), settings that used to be accepted and produce garbage (infinite learning rates, repeated
methods or tiers, negative seeds, an empty --out) and demo settings checked before any stage.
Every case: exit 2, ONE ``error:`` line naming the file:line or the key, nothing created, no
input modified (the same contract and fixture as ``test_hardening``)."""

from __future__ import annotations

import json

import pytest
from test_hardening import EVAL, EXB, PROF, VERL, check_refused, probe_dir

EXAM = {"id": "e1", "group": "g", "kind": "easy", "budget": 64}
P = {"id": "p", "question": "1+1?", "answer": "2", "tier": "easy"}


def _exam_line(text: str) -> str:
    """An exam record whose problem's answer is the raw JSON ``text``."""
    return json.dumps({**EXAM, "problems": [{**P, "answer": "X"}]}).replace('"X"', text) + "\n"


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)

FILES: dict[str, str | bytes] = {
    "x_digits.jsonl": _exam_line("1" * 5000),
    "x_digits_4000.jsonl": _exam_line("1" * 4000),
    "x_deep.jsonl": _exam_line("[" * 100_000 + "]" * 100_000),
    "x_deep_200.jsonl": _exam_line("[" * 200 + "]" * 200),
    "x_surrogate.jsonl": _exam_line('"\\ud800"'),
    "x_infinity.jsonl": _exam_line("Infinity"),
    "x_points_huge.jsonl": json.dumps({**EXAM, "problems": [{**P, "points": 1e308}]}) + "\n",
    "x_problems_dup.jsonl": json.dumps({**EXAM, "problems": [P, P]}) + "\n",
    "x_problems_many.jsonl": json.dumps(
        {**EXAM, "problems": [{**P, "id": f"p{i}"} for i in range(1001)]}
    )
    + "\n",
    "x_tier_surrogate.jsonl": '{"id": "t", "question": "\\udc00?", "answer": "1"}\n',
    "y_bomb.yaml": BOMB,
    "y_int_key.yaml": "1: 2\n",
    "y_deep.yaml": "budgets: " + "[" * 5000 + "]" * 5000 + "\n",
    "y_inf.yaml": "grade_timeout: .inf\n",
    "y_nan.yaml": "grade_timeout: .nan\n",
    "y_surrogate.yaml": 'policy: "\\ud800"\n',
    "r_score_str.json": json.dumps(
        {
            "run": "r",
            "cells": [{"method": "m", "kind": "easy", "budget": 8, "score": {"mean": "x"}}],
        }
    ),
    "r_skip_str.json": json.dumps(
        {
            "run": "r",
            "cells": [
                {
                    "method": "m",
                    "kind": "easy",
                    "budget": 8,
                    "score": {"mean": 1.0},
                    "skip_rate_by_tier": {"hard": "high"},
                }
            ],
        }
    ),
    "r_run_list.json": json.dumps({"run": [1], "cells": []}),
    "r_bounds_str.json": json.dumps({"run": "r", "cells": [], "level_bounds": "48,96"}),
    "r_nan.json": '{"run": "r", "cells": [{"method": "m", "kind": "easy", "budget": 8, '
    '"score": {"mean": NaN}}]}',
    "o_points_huge.json": json.dumps(
        {"budget": 10, "problems": [{"points": 1e308, "attempts": [{"tokens": 5, "correct": 1}]}]}
    ),
    "o_digits.json": '{"budget": ' + "9" * 5000 + ', "problems": []}',
}

QUICK = ["demo", "--quick", "--out", "out/demo", "--no-progress"]

CASES: list[tuple[str, list[str], str]] = [
    # ---- parse bounds, any JSONL input (here: an exams file)
    ("digits-5000", [*EVAL, "--exams", "in/x_digits.jsonl"], "in/x_digits.jsonl:1:"),
    ("digits-4000", [*EVAL, "--exams", "in/x_digits_4000.jsonl"], "in/x_digits_4000.jsonl:1:"),
    ("deep-100000", [*EVAL, "--exams", "in/x_deep.jsonl"], "in/x_deep.jsonl:1:"),
    ("deep-200", [*EVAL, "--exams", "in/x_deep_200.jsonl"], "in/x_deep_200.jsonl:1:"),
    ("surrogate", [*EVAL, "--exams", "in/x_surrogate.jsonl"], "in/x_surrogate.jsonl:1:"),
    ("infinity", [*EVAL, "--exams", "in/x_infinity.jsonl"], "in/x_infinity.jsonl:1:"),
    ("points-1e308", [*EVAL, "--exams", "in/x_points_huge.jsonl"], "in/x_points_huge.jsonl:1:"),
    ("problem-repeated", [*EVAL, "--exams", "in/x_problems_dup.jsonl"], "x_problems_dup.jsonl:1:"),
    ("problems-1001", [*EVAL, "--exams", "in/x_problems_many.jsonl"], "x_problems_many.jsonl:1:"),
    (
        "tier-surrogate",
        [*EXB[:6], "--tier", "easy=in/x_tier_surrogate.jsonl"],
        "in/x_tier_surrogate.jsonl:1:",
    ),
    # ---- YAML settings
    ("yaml-alias-bomb", [*EVAL, "--config", "in/y_bomb.yaml"], "in/y_bomb.yaml"),
    ("yaml-int-key", [*EVAL, "--config", "in/y_int_key.yaml"], "in/y_int_key.yaml"),
    ("yaml-deep", [*EVAL, "--config", "in/y_deep.yaml"], "in/y_deep.yaml"),
    ("yaml-inf", [*EVAL, "--config", "in/y_inf.yaml"], "in/y_inf.yaml"),
    ("yaml-nan", [*EVAL, "--config", "in/y_nan.yaml"], "in/y_nan.yaml"),
    ("yaml-surrogate", [*EVAL, "--config", "in/y_surrogate.yaml"], "in/y_surrogate.yaml"),
    # ---- settings that ran to garbage
    ("eval-methods-twice", [*EVAL, "--methods", "base,base"], "methods[1]"),
    ("eval-kinds-twice", [*EVAL, "--kinds", "easy,easy"], "kinds[1]"),
    ("eval-tier-twice", [*EVAL, "--tier", "easy=in/easy.jsonl"], "--tier"),
    ("eval-seed-neg", [*EVAL, "--seed", "-1"], "seed"),
    ("eval-out-empty", [*EVAL, "--out", ""], "out"),
    ("eval-policy-arg-nan", [*EVAL, "--policy-arg", "seed=NaN"], "seed"),
    ("eval-behaviour-cost", [*EVAL, "--policy-arg", 'behaviours={"easy": {"cost": 5}}'], "cost"),
    (
        "eval-behaviour-p",
        [*EVAL, "--policy-arg", 'behaviours={"easy": {"p_correct": 2}}'],
        "behaviours.easy.p_correct",
    ),
    ("eval-behaviour-list", [*EVAL, "--policy-arg", "behaviours=[1]"], "behaviours"),
    ("profile-seed-neg", [*PROF, "--seed", "-3"], "seed"),
    ("exams-points-huge", [*EXB, "--points", "1e308,1,1"], "points[0]"),
    ("verl-tokenizer-not-one", [*VERL, "--tokenizer", "in/dir"], "--tokenizer"),
    # ---- demo settings, all checked before any stage (and before the world)
    ("demo-lr-inf", [*QUICK, "--set", "rarl.learning_rate=.inf"], "rarl.learning_rate"),
    ("demo-lr-nan", [*QUICK, "--set", "mft.learning_rate=.nan"], "mft.learning_rate"),
    ("demo-eval-count-0", [*QUICK, "--set", "eval_count=0"], "eval_count"),
    ("demo-eval-count-big", [*QUICK, "--set", "eval_count=500"], "eval_count"),
    ("demo-profile-k-0", [*QUICK, "--set", "profile_k=0"], "profile_k"),
    ("demo-batch-0", [*QUICK, "--set", "batch_size=0"], "batch_size"),
    ("demo-generations-1", [*QUICK, "--set", "rarl.num_generations=1"], "rarl.num_generations"),
    ("demo-temperature-neg", [*QUICK, "--set", "rarl.temperature=-1"], "rarl.temperature"),
    ("demo-temperature-nan", [*QUICK, "--set", "rarl.temperature=.nan"], "rarl.temperature"),
    ("demo-seed-neg", [*QUICK, "--set", "seed=-1"], "seed"),
    ("demo-world-budget-0", [*QUICK, "--set", "world.budgets=[0]"], "world.budgets"),
    ("demo-world-bounds-equal", [*QUICK, "--set", "world.level_bounds=[8,8,32]"], "world.level"),
    ("demo-world-test-0", [*QUICK, "--set", "world.test_size=0"], "world.test_size"),
    ("demo-world-hidden-0", [*QUICK, "--set", "world.hidden_size=0"], "world.hidden_size"),
    ("demo-set-unparsable", [*QUICK, "--set", "eval_count=[1,"], "eval_count"),
    ("demo-set-bomb", [*QUICK, "--set", "world.extra={" + BOMB.replace("\n", ", ") + "}"], "world"),
    # ---- hand-edited results given to roi report
    ("report-score-str", ["report", "in/r_score_str.json"], "cells[0].score"),
    ("report-skip-str", ["report", "in/r_skip_str.json"], "cells[0].skip_rate_by_tier"),
    ("report-run-list", ["report", "in/r_run_list.json"], "'run'"),
    ("report-bounds-str", ["report", "in/r_bounds_str.json"], "'level_bounds'"),
    ("report-nan", ["report", "in/r_nan.json"], "in/r_nan.json: "),
    ("report-bad-curve", ["report", "in/results.json", "--curve", "in/r_nan.json"], "r_nan"),
    # ---- oracle
    ("oracle-points-huge", ["oracle", "in/o_points_huge.json"], "'points'"),
    ("oracle-digits", ["oracle", "in/o_digits.json"], "in/o_digits.json"),
]


__all__ = ["probe_dir"]  # the shared fixture, used through ``probe``


@pytest.fixture
def probe(probe_dir):
    for name, content in FILES.items():
        path = probe_dir / "in" / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return probe_dir


@pytest.mark.parametrize(("argv", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_one_line_nothing_written(probe, capsys, argv, expect):
    check_refused(probe, capsys, argv, expect)
