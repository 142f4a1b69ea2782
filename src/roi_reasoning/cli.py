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
    from roi_reasoning.grading import grade_many

    rows = []
    for lineno, row in read_jsonl(args.pairs):
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


def _kv(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def cmd_eval(args: argparse.Namespace) -> int:

    from roi_reasoning.config import load_config
    from roi_reasoning.evaluate import EvalConfig, run_eval

    tiers = tier_overrides(args)
    overrides = {
        "out": args.out,
        "methods": args.methods,
        "policy": args.policy,
        "policy_args": dict(args.policy_arg) if args.policy_arg else None,
        "tiers": tiers,
        "exams": args.exams,
        "kinds": args.kinds,
        "budgets": args.budgets,
        "count": args.count,
        "n": args.n,
        "composition": args.composition,
        "seed": args.seed,
        "level_bounds": args.level_bounds,
        "batch_size": args.batch_size,
        "grade_timeout": args.timeout,
        "profiles": args.profiles,
        "centroids": args.centroids,
    }
    cfg = load_config(EvalConfig, args.config, overrides)
    results = run_eval(cfg, progress=not args.no_progress)
    _report([cfg.out], plots=not args.no_plots)
    print(f"{len(results['cells'])} cells written to {cfg.out}/results.json", file=sys.stderr)
    return 0


def _report(
    runs: Sequence[str], *, plots: bool, out: str | None = None, explicit_plots: bool = False
) -> None:
    from pathlib import Path

    from roi_reasoning.report import load_results, render_report

    results = [load_results(r) for r in runs]
    target = Path(out) if out else Path(runs[0]) / "report.md"
    text = render_report(results)
    target.write_text(text)
    print(text)
    if plots:
        from roi_reasoning.plots import write_plots

        try:
            written = write_plots(results, target.parent / "plots")
        except ImportError as exc:  # the core install has no matplotlib: the report still stands
            if explicit_plots:
                raise
            print(f"warning: no plots ({exc})", file=sys.stderr)
            return
        print(f"wrote {len(written)} plots to {target.parent / 'plots'}", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> int:
    _report(args.runs, plots=args.plots, out=args.out, explicit_plots=args.plots)
    return 0


def tier_overrides(args: argparse.Namespace) -> dict | None:
    """``--tier`` flags as EvalConfig/ProfileConfig ``tiers`` (None: keep the config's)."""
    from dataclasses import asdict

    if not args.tier:
        return None
    return {name: asdict(spec) for name, spec in map(parse_tier_arg, args.tier)}


def _add_exam_args(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """Exam-drawing flags; with ``defaults=False`` unset flags stay None (config decides)."""

    def d(value: object) -> object:
        return value if defaults else None

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
        default=d(["easy", "medium", "hard"]),
        help="paper kinds: easy,medium,hard,composition",
    )
    p.add_argument("--budgets", type=_csv(int), default=d([512, 1024]), help="token budgets B")
    p.add_argument("--count", type=int, default=d(10), help="drawn problem sets (groups)")
    p.add_argument("--seed", type=int, default=d(0))


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
    build.add_argument("--points", type=_csv(float), help="points per composition position")
    build.add_argument("--out", default="-", help="output JSONL (default: stdout)")
    build.set_defaults(handler=cmd_exams_build)

    grade = sub.add_parser("grade", help="grade {gold, pred} pairs from JSONL; results on stdout")
    grade.add_argument("pairs", help='JSONL, one {"gold": ..., "pred": ...} per line')
    grade.add_argument("--timeout", type=float, default=5.0, help="seconds per math-verify call")
    grade.set_defaults(handler=cmd_grade)

    ev = sub.add_parser("eval", help="evaluate a policy on budgeted exams (resumable)")
    _add_exam_args(ev, defaults=False)
    ev.add_argument("--out", help="run directory (rerun to resume)")
    ev.add_argument("--config", help="YAML with EvalConfig keys; flags override it")
    ev.add_argument(
        "--methods",
        type=_csv(str),
        help="base,budget,plan-and-solve,least-to-most,roi,greedy-knapsack,planner",
    )
    ev.add_argument("--policy", help="scripted (default), or module:Class")
    ev.add_argument(
        "--policy-arg",
        type=_kv,
        action="append",
        metavar="KEY=VALUE",
        help="policy constructor argument (JSON value), repeatable",
    )
    ev.add_argument("--exams", help="exams JSONL from `roi exams build` instead of drawing")
    ev.add_argument("--level-bounds", type=_csv(int), help="token bounds of levels 0..L-1")
    ev.add_argument("--batch-size", type=int)
    ev.add_argument("--timeout", type=float, help="seconds per math-verify call")
    ev.add_argument("--profiles", help="profile JSONL (problem_id, tokens, correct) for the oracle")
    ev.add_argument("--centroids", type=_csv(int), help="greedy-knapsack level costs (tokens)")
    ev.add_argument("--no-progress", action="store_true")
    ev.add_argument("--no-plots", action="store_true")
    ev.set_defaults(handler=cmd_eval)

    rep = sub.add_parser("report", help="results.json of one or more runs -> report.md (+ plots)")
    rep.add_argument("runs", nargs="+", help="run directories or results.json files")
    rep.add_argument("--out", help="report path (default: <first run>/report.md)")
    rep.add_argument("--plots", action="store_true", help="also write PNGs beside the report")
    rep.set_defaults(handler=cmd_report)

    from roi_reasoning.cli_stages import add_stage_parsers

    add_stage_parsers(sub)

    oracle = sub.add_parser("oracle", help="solve a knapsack instance (hindsight, bellman, greedy)")
    oracle.add_argument("instance", help="instance JSON file")
    oracle.set_defaults(handler=cmd_oracle)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (DataError, FileNotFoundError, ImportError) as exc:  # ImportError: a missing extra
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
