"""``roi exams build`` and ``roi export verl``: draw budgeted exams from tiers, write them.

Both draw with the same flags and defaults (``args.add_exam_args``).

Run example: ``roi exams build --count 10 --budgets 512,1024 --out runs/exams.jsonl``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from roi_reasoning.cli.args import LIMITS, add_exam_args, add_level_bounds, csv_of, tier_specs
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS


def draw_exams(args: argparse.Namespace, points: list[float] | None = None) -> list[Any]:
    """Exams from the exam-drawing flags, every argument checked before any tier is read."""
    from roi_reasoning.data import load_tiers
    from roi_reasoning.exams import build_exams, check_build_args

    specs = tier_specs(args)
    composition = getattr(args, "composition", None)
    check_build_args(list(specs), composition, args.n, args.kinds, args.budgets, args.count, points)
    return build_exams(
        load_tiers(specs),
        composition=composition,
        n=args.n,
        kinds=args.kinds,
        budgets=args.budgets,
        count=args.count,
        seed=args.seed,
        points=points,
    )


def cmd_exams_build(args: argparse.Namespace) -> int:
    from roi_reasoning.exams import write_exams
    from roi_reasoning.validate import check_out_file

    if args.out != "-":
        check_out_file(args.out)
    exams = draw_exams(args, args.points)
    if args.out == "-":
        for exam in exams:
            print(json.dumps(exam.to_dict(), ensure_ascii=False))
    else:
        write_exams(exams, args.out)
        print(f"wrote {len(exams)} exams to {args.out}", file=sys.stderr)
    return 0


def cmd_export_verl(args: argparse.Namespace) -> int:
    from roi_reasoning.adapters import check_tokenizer
    from roi_reasoning.adapters.verl import verl_rows, write_parquet
    from roi_reasoning.validate import MAX_BUDGET, check_out_file, int_list

    out = check_out_file(args.out)
    int_list(args.level_bounds, "--level-bounds", 1, MAX_BUDGET, ascending=True)
    exams = draw_exams(args)
    check_tokenizer(args.tokenizer)  # written into every row: the reward workers load it
    rows = verl_rows(exams, args.tokenizer, args.level_bounds)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:  # atomic: a kill mid-write never leaves a partial parquet at --out
        write_parquet(rows, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {len(exams)} verl rows to {args.out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    exams = sub.add_parser("exams", help="build budgeted exams").add_subparsers(
        dest="action", required=True
    )
    build = exams.add_parser(
        "build", help="draw problems from tiers and write exams JSONL", epilog=LIMITS
    )
    add_exam_args(build)
    build.add_argument("--points", type=csv_of(float), help="points per composition position")
    build.add_argument("--out", default="-", help="output JSONL (default: stdout)")
    build.set_defaults(handler=cmd_exams_build)

    export = sub.add_parser("export", help="exams for other RL frameworks").add_subparsers(
        dest="target", required=True
    )
    ve = export.add_parser(
        "verl", help="verl parquet rows scored by adapters.verl.compute_score", epilog=LIMITS
    )
    add_exam_args(ve)
    add_level_bounds(ve, list(DEFAULT_LEVEL_BOUNDS))
    ve.add_argument("--out", required=True, help="parquet path")
    ve.add_argument("--tokenizer", required=True, help="the policy's model folder / hub id")
    ve.set_defaults(handler=cmd_export_verl)
