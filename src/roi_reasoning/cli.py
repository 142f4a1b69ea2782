"""The ``roi`` command line. Heavy imports (torch, transformers, TRL) live inside handlers, so
``roi --help``, ``roi exams``, ``roi grade``, ``roi oracle`` and ``roi report`` work without them.

Run example: ``roi exams build --count 10 --budgets 512,1024 --out runs/exams.jsonl``
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from collections.abc import Callable, Sequence

from roi_reasoning.data import DEFAULT_TIERS, ConfigError, DataError, parse_tier_arg, read_jsonl

Handler = Callable[[argparse.Namespace], int]
LIMITS = (
    "limits: budgets 1..1000000 tokens, at most 100000 exams (count x kinds x budgets), "
    "1000 problems per exam"
)


class Parser(argparse.ArgumentParser):
    """argparse with usage errors as one ``error: ...`` line (exit 2), like every other error."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _csv(kind: type) -> Callable[[str], list]:
    def parse(text: str) -> list:
        try:
            values = [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind.__name__}s, got {text!r}"
            ) from None
        if not values:
            raise argparse.ArgumentTypeError(f"expected at least one value, got {text!r}")
        return values

    return parse


def _tiers(args: argparse.Namespace) -> dict:
    from roi_reasoning.data import load_tier

    specs = dict(parse_tier_arg(t) for t in args.tier) if args.tier else dict(DEFAULT_TIERS)
    return {name: load_tier(spec, name) for name, spec in specs.items()}


def cmd_exams_build(args: argparse.Namespace) -> int:
    from roi_reasoning.exams import build_exams, check_build_args, write_exams
    from roi_reasoning.validate import check_out_file

    if args.out != "-":
        check_out_file(args.out)
    names = [parse_tier_arg(t)[0] for t in args.tier] if args.tier else list(DEFAULT_TIERS)
    check_build_args(
        names, args.composition, args.n, args.kinds, args.budgets, args.count, args.points
    )
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
    from roi_reasoning.knapsack import InstanceError, solve_instance
    from roi_reasoning.validate import check_in_file

    try:
        with open(check_in_file(args.instance), encoding="utf-8") as fh:
            instance = json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataError(args.instance, exc.lineno, f"malformed JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise DataError(args.instance, None, f"not valid UTF-8 ({exc.reason})") from None
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
        "oracle_profiles": args.oracle_profiles,
        "centroids": args.centroids,
    }
    cfg = load_config(EvalConfig, args.config, overrides)
    results = run_eval(cfg, progress=not args.no_progress)
    _report([cfg.out], plots=not args.no_plots)
    print(f"{len(results['cells'])} cells written to {cfg.out}/results.json", file=sys.stderr)
    return 0


def _report(
    runs: Sequence[str],
    *,
    plots: bool,
    out: str | None = None,
    explicit_plots: bool = False,
    pairs: Sequence[tuple[str, str]] = (),
    curves: Sequence[str] | None = None,
) -> None:
    """``report.write_report`` (the one writer, atomic) behind the CLI's path checks; without
    matplotlib (the core install) the report is written without plots unless they were asked."""
    import importlib.util
    from pathlib import Path

    from roi_reasoning.report import write_report
    from roi_reasoning.validate import check_out_dir, check_out_file

    first = Path(runs[0])
    target = check_out_file(
        Path(out) if out else (first if first.is_dir() else first.parent) / "report.md"
    )
    if plots:
        check_out_dir(target.parent / "plots")
        if importlib.util.find_spec("matplotlib") is None:
            if explicit_plots:
                raise ImportError("plots need matplotlib: pip install roi-reasoning[plots]")
            print("warning: no plots (matplotlib is not installed)", file=sys.stderr)
            plots = False
    path = write_report(runs, target, pairs=pairs, curves=curves, plots=plots)
    print(path.read_text())
    if plots:
        print(f"wrote plots to {target.parent / 'plots'}", file=sys.stderr)


def _pair(text: str) -> tuple[str, str]:
    a, sep, b = text.partition(",")
    if not sep or not a.strip() or not b.strip():
        raise argparse.ArgumentTypeError(f"expected A,B (two report labels), got {text!r}")
    return a.strip(), b.strip()


def cmd_report(args: argparse.Namespace) -> int:
    _report(
        args.runs,
        plots=args.plots,
        out=args.out,
        explicit_plots=args.plots,
        pairs=args.paired,
        curves=args.curves,
    )
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
    parser = Parser(
        prog="roi", description="Budget-aware LLM reasoning (ROI-Reasoning).", epilog=LIMITS
    )
    sub = parser.add_subparsers(dest="command", required=True)

    exams = sub.add_parser("exams", help="build budgeted exams").add_subparsers(
        dest="action", required=True
    )
    build = exams.add_parser(
        "build", help="draw problems from tiers and write exams JSONL", epilog=LIMITS
    )
    _add_exam_args(build)
    build.add_argument("--points", type=_csv(float), help="points per composition position")
    build.add_argument("--out", default="-", help="output JSONL (default: stdout)")
    build.set_defaults(handler=cmd_exams_build)

    grade = sub.add_parser("grade", help="grade {gold, pred} pairs from JSONL; results on stdout")
    grade.add_argument("pairs", help='JSONL, one {"gold": ..., "pred": ...} per line')
    grade.add_argument("--timeout", type=float, default=5.0, help="seconds per math-verify call")
    grade.set_defaults(handler=cmd_grade)

    ev = sub.add_parser(
        "eval", help="evaluate a policy on budgeted exams (resumable)", epilog=LIMITS
    )
    _add_exam_args(ev, defaults=False)
    ev.add_argument("--out", help="run directory (rerun to resume)")
    ev.add_argument("--config", help="YAML with EvalConfig keys; flags override it")
    ev.add_argument(
        "--methods",
        type=_csv(str),
        help="base,budget,plan-and-solve,least-to-most,roi,greedy-knapsack,planner,roi-greedy-knapsack,roi-planner",
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
    ev.add_argument(
        "--profiles", help="profile JSONL (problem_id, tokens, correct): planner table and oracle"
    )
    ev.add_argument(
        "--oracle-profiles", help="profile of the evaluated problems for the oracle columns"
    )
    ev.add_argument("--centroids", type=_csv(int), help="greedy-knapsack level costs (tokens)")
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
        type=_pair,
        metavar="A,B",
        help="Score A − B per cell with a paired bootstrap CI, by report label, e.g. "
        '"roi (mft+rarl),roi (mft)" (repeatable)',
    )
    rep.add_argument(
        "--curve",
        action="append",
        dest="curves",
        metavar="CURVE_JSONL",
        help="RARL curve.jsonl to summarise and plot (repeatable; default: found in the runs)",
    )
    rep.set_defaults(handler=cmd_report)

    from roi_reasoning.cli_stages import add_stage_parsers

    add_stage_parsers(sub)

    from roi_reasoning.knapsack import LIMITS_HELP

    oracle = sub.add_parser(
        "oracle",
        help="solve a knapsack instance (hindsight, bellman, greedy)",
        epilog=LIMITS_HELP,
    )
    oracle.add_argument("instance", help="instance JSON file")
    oracle.set_defaults(handler=cmd_oracle)
    return parser


def _os_error(exc: OSError) -> str:
    """``path: reason`` for an OS error on a path (no traceback, no errno noise)."""
    name = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    return f"{name}: {reason}" if name else reason


def _fail(exc: BaseException | str) -> int:
    """One ``error: ...`` line on stderr (a multi-line message is joined), exit code 2."""
    print("error: " + " ".join(str(exc).split()), file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``roi`` command. Bad input of any kind is one ``error: ...`` line naming the file
    and line or the setting, exit code 2; Ctrl-C is one line, exit code 130."""
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help (0) or a usage error, already printed (2)
            return exc.code if isinstance(exc.code, int) else 2
        return args.handler(args)
    except (DataError, ConfigError, ImportError) as exc:  # ImportError: a missing extra
        return _fail(exc)
    except ValueError as exc:  # remaining option checks of lower layers (policy names, ...)
        return _fail(exc)
    except BrokenPipeError:  # `roi ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0
    except OSError as exc:  # a path we cannot read or write (permissions, full disk, ...)
        return _fail(_os_error(exc))
    except KeyboardInterrupt:
        print(
            "error: interrupted (rerun the same command to resume where it stopped)",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
