"""The ``roi`` command line. Heavy imports (torch, transformers, TRL) live inside handlers, so
``roi --help``, ``roi exams``, ``roi grade``, ``roi oracle`` and ``roi report`` work without them.

Run example: ``roi exams build --count 10 --budgets 512,1024 --out runs/exams.jsonl``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from roi_reasoning.data import DEFAULT_TIERS, DataError, parse_tier_arg, read_jsonl

Handler = Callable[[argparse.Namespace], int]


def _csv(kind: type) -> Callable[[str], list]:
    def parse(text: str) -> list:
        try:
            return [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind.__name__}s, got {text!r}"
            ) from None

    return parse


def _tiers(args: argparse.Namespace) -> dict:
    from roi_reasoning.data import load_tier

    specs = dict(parse_tier_arg(t) for t in args.tier) if args.tier else dict(DEFAULT_TIERS)
    return {name: load_tier(spec, name) for name, spec in specs.items()}


def cmd_exams_build(args: argparse.Namespace) -> int:
    from roi_reasoning.exams import build_exams, write_exams

    exams = build_exams(
        _tiers(args),
        composition=args.composition,
        n=args.n,
        kinds=args.kinds,
        budgets=args.budgets,
        count=args.count,
        seed=args.seed,
        points=args.points,
    )
    if args.out == "-":
        for exam in exams:
            print(json.dumps(exam.to_dict(), ensure_ascii=False))
    else:
        write_exams(exams, args.out)
        print(f"wrote {len(exams)} exams to {args.out}", file=sys.stderr)
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from roi_reasoning.grading import extract_answer, grade_many

    rows = []
    for lineno, row in read_jsonl(args.pairs):
        if not isinstance(row, dict) or not all(
            isinstance(row.get(k), str) for k in ("gold", "pred")
        ):
            raise DataError(
                args.pairs, lineno, "expected an object with string fields 'gold' and 'pred'"
            )
        rows.append(row)
    grades = grade_many(
        [(r["gold"], extract_answer(r["pred"])) for r in rows], timeout=args.timeout
    )
    for row, g in zip(rows, grades, strict=True):
        print(json.dumps({**row, "correct": g.correct, "reason": g.reason}, ensure_ascii=False))
    return 0


def cmd_oracle(args: argparse.Namespace) -> int:
    from roi_reasoning.knapsack import InstanceError, solve_instance

    try:
        with open(args.instance, encoding="utf-8") as fh:
            instance = json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataError(args.instance, exc.lineno, f"malformed JSON: {exc.msg}") from None
    try:
        print(json.dumps(solve_instance(instance)))
    except InstanceError as exc:
        raise DataError(args.instance, None, str(exc)) from None
    return 0


def _add_exam_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tier",
        action="append",
        metavar="NAME=SOURCE[#level>=K]",
        help="a tier (repeatable, easiest first); default: easy=GSM8K, "
        "medium=MATH-500 level>=3, hard=AIME 2024 from $ROI_DATA_DIR",
    )
    p.add_argument(
        "--composition", type=_csv(str), help="tier of each problem, e.g. easy,hard,hard"
    )
    p.add_argument("--n", type=int, help="problems per exam (tiers cycled) when no --composition")
    p.add_argument(
        "--kinds",
        type=_csv(str),
        default=["easy", "medium", "hard"],
        help="paper kinds: easy,medium,hard,composition",
    )
    p.add_argument("--budgets", type=_csv(int), default=[512, 1024], help="token budgets B")
    p.add_argument("--count", type=int, default=10, help="drawn problem sets (groups)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--points", type=_csv(float), help="points per composition position")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roi", description="Budget-aware LLM reasoning (ROI-Reasoning)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    exams = sub.add_parser("exams", help="build budgeted exams").add_subparsers(
        dest="action", required=True
    )
    build = exams.add_parser("build", help="draw problems from tiers and write exams JSONL")
    _add_exam_args(build)
    build.add_argument("--out", default="-", help="output JSONL (default: stdout)")
    build.set_defaults(handler=cmd_exams_build)

    grade = sub.add_parser("grade", help="grade {gold, pred} pairs from JSONL; results on stdout")
    grade.add_argument("pairs", help='JSONL, one {"gold": ..., "pred": ...} per line')
    grade.add_argument("--timeout", type=float, default=5.0, help="seconds per math-verify call")
    grade.set_defaults(handler=cmd_grade)

    oracle = sub.add_parser("oracle", help="solve a knapsack instance (hindsight, bellman, greedy)")
    oracle.add_argument("instance", help="instance JSON file")
    oracle.set_defaults(handler=cmd_oracle)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (DataError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # bad option values (unknown tier/kind, inconsistent points, ...)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `roi ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
