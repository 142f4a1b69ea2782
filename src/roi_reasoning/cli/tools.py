"""``roi grade`` and ``roi oracle``: the grader and the knapsack solvers on JSON input, results
on stdout (no torch).

Run example: ``roi grade pairs.jsonl`` · ``roi oracle instance.json``
"""

from __future__ import annotations

import argparse
import json

from roi_reasoning.data import read_jsonl
from roi_reasoning.errors import DataError


def cmd_grade(args: argparse.Namespace) -> int:
    from roi_reasoning.grading import grade_many
    from roi_reasoning.validate import check_in_file, float_in

    float_in(args.timeout, "--timeout", 0.001, 3600.0)
    rows = []
    for lineno, row in read_jsonl(check_in_file(args.pairs)):
        if not isinstance(row, dict) or not all(
            isinstance(row.get(k), str) for k in ("gold", "pred")
        ):
            raise DataError(
                args.pairs, lineno, "expected an object with string fields 'gold' and 'pred'"
            )
        rows.append(row)
    grades = grade_many([(r["gold"], r["pred"]) for r in rows], timeout=args.timeout)
    for row, g in zip(rows, grades, strict=True):
        print(json.dumps({**row, "correct": g.correct, "reason": g.reason}, ensure_ascii=False))
    return 0


def cmd_oracle(args: argparse.Namespace) -> int:
    from roi_reasoning.inputs import read_json_file
    from roi_reasoning.knapsack import InstanceError
    from roi_reasoning.oracle import solve_instance
    from roi_reasoning.validate import check_in_file

    instance = read_json_file(check_in_file(args.instance), "a knapsack instance")
    try:
        print(json.dumps(solve_instance(instance)))
    except InstanceError as exc:
        raise DataError(args.instance, None, str(exc)) from None
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from roi_reasoning.knapsack import LIMITS_HELP

    grade = sub.add_parser("grade", help="grade {gold, pred} pairs from JSONL; results on stdout")
    grade.add_argument("pairs", help='JSONL, one {"gold": ..., "pred": ...} per line')
    grade.add_argument("--timeout", type=float, default=5.0, help="seconds per math-verify call")
    grade.set_defaults(handler=cmd_grade)

    oracle = sub.add_parser(
        "oracle",
        help="solve a knapsack instance (hindsight, bellman, greedy)",
        epilog=LIMITS_HELP,
    )
    oracle.add_argument("instance", help="instance JSON file")
    oracle.set_defaults(handler=cmd_oracle)
