"""``roi eval`` (a policy on budgeted exams, resumable) and ``roi report`` (results → report.md).

Run example: ``roi eval --methods base,roi --count 5 --out runs/x && roi report runs/x --plots``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from roi_reasoning.cli.args import (
    LIMITS,
    add_exam_args,
    add_level_bounds,
    add_policy,
    csv_of,
    policy_args,
    tier_overrides,
)


def show_report(runs: Sequence[str], out: str | Path | None = None, **kwargs) -> Path:
    """``report.writer.publish_report``, then the report on stdout."""
    from roi_reasoning.report.writer import publish_report

    path = publish_report(runs, out=out, **kwargs)
    print(path.read_text())
    if kwargs.get("plots", True) and (path.parent / "plots").is_dir():
        print(f"wrote plots to {path.parent / 'plots'}", file=sys.stderr)
    return path


def cmd_eval(args: argparse.Namespace) -> int:
    from roi_reasoning.config import load_config
    from roi_reasoning.evaluation.evaluate import EvalConfig, run_eval

    overrides = {
        "out": args.out,
        "methods": args.methods,
        "policy": args.policy,
        "policy_args": policy_args(args),
        "tiers": tier_overrides(args),
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
        "oracle_profiles": args.oracle_profiles,
        "centroids": args.centroids,
    }
    cfg = load_config(EvalConfig, args.config, overrides)
    results = run_eval(cfg, progress=not args.no_progress)
    show_report([cfg.out], plots=not args.no_plots)
    print(f"{len(results['cells'])} cells written to {cfg.out}/results.json", file=sys.stderr)
    return 0


def pair(text: str) -> tuple[str, str | tuple[str, ...]]:
    """``A,B`` → (A, B); ``A,B1|B2`` → (A, (B1, B2)): B is the better of B1, B2 in each cell."""
    a, sep, b = text.partition(",")
    bs = tuple(x.strip() for x in b.split("|"))
    if not sep or not a.strip() or not all(bs):
        raise argparse.ArgumentTypeError(f"expected A,B or A,B1|B2 (report labels), got {text!r}")
    return a.strip(), bs if len(bs) > 1 else bs[0]


def cmd_report(args: argparse.Namespace) -> int:
    show_report(
        args.runs,
        out=args.out,
        plots=args.plots,
        require_plots=args.plots,
        pairs=args.paired,
        curves=args.curves,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser(
        "eval", help="evaluate a policy on budgeted exams (resumable)", epilog=LIMITS
    )
    add_exam_args(ev, defaults=False)
    ev.add_argument("--out", help="run directory (rerun to resume)")
    ev.add_argument("--config", help="YAML with EvalConfig keys; flags override it")
    ev.add_argument(
        "--methods",
        type=csv_of(str),
        help="base,budget,plan-and-solve,least-to-most,roi,greedy-knapsack,planner,"
        "roi-greedy-knapsack,roi-planner or module:function",
    )
    add_policy(ev, "scripted")
    ev.add_argument("--exams", help="exams JSONL from `roi exams build` instead of drawing")
    add_level_bounds(ev)
    ev.add_argument("--batch-size", type=int)
    ev.add_argument("--timeout", type=float, help="seconds per math-verify call")
    ev.add_argument(
        "--profiles", help="profile JSONL (problem_id, tokens, correct): planner table and oracle"
    )
    ev.add_argument(
        "--oracle-profiles", help="profile of the evaluated problems for the oracle columns"
    )
    ev.add_argument("--centroids", type=csv_of(int), help="greedy-knapsack level costs (tokens)")
    ev.add_argument("--no-progress", action="store_true")
    ev.add_argument("--no-plots", action="store_true")
    ev.set_defaults(handler=cmd_eval)

    rep = sub.add_parser("report", help="results.json of one or more runs -> report.md (+ plots)")
    rep.add_argument("runs", nargs="+", help="run directories or results.json files")
    rep.add_argument("--out", help="report path (default: <first run>/report.md)")
    rep.add_argument("--plots", action="store_true", help="also write PNGs beside the report")
    rep.add_argument(
        "--paired",
        action="append",
        default=[],
        type=pair,
        metavar="A,B",
        help="Score A − B per cell with a paired bootstrap CI, by report label, e.g. "
        '"roi (mft+rarl),roi (mft)"; B1|B2 for the better of several in each cell, e.g. '
        '"roi (mft+rarl),roi-greedy-knapsack|roi-planner" (repeatable)',
    )
    rep.add_argument(
        "--curve",
        action="append",
        dest="curves",
        metavar="CURVE_JSONL",
        help="RARL curve.jsonl to summarise and plot (repeatable; default: found in the runs)",
    )
    rep.set_defaults(handler=cmd_report)
