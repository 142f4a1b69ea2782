"""Argument helpers shared by every ``roi`` command group: value parsers and the flags that
several commands take (``--tier``, ``--level-bounds``, the exam-drawing flags), declared once.

Run example: ``python -c "from roi_reasoning.cli.args import csv_of; print(csv_of(int)('1,2'))"``
"""

from __future__ import annotations

import argparse
import typing
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from roi_reasoning.data import default_tiers, parse_tier_arg
from roi_reasoning.errors import ConfigError
from roi_reasoning.inputs import BadValue, NotJSON, check_value, parse_json

LIMITS = (
    "limits: budgets 1..1000000 tokens, at most 100000 exams (count x kinds x budgets), "
    "1000 problems per exam"
)
# Defaults of the commands that draw exams themselves (`roi exams build`, `roi export verl`);
# `roi eval` leaves unset flags to its config (EvalConfig has the same defaults).
EXAM_DEFAULTS: dict[str, Any] = {
    "kinds": ["easy", "medium", "hard"],
    "budgets": [512, 1024],
    "count": 10,
    "seed": 0,
}


class Parser(argparse.ArgumentParser):
    """argparse with usage errors as one ``error: ...`` line (exit 2), like every other error."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def csv_of(kind: type) -> Callable[[str], list]:
    """``"1,2,3"`` → ``[1, 2, 3]`` (of ``kind``); at least one value."""

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


def key_value(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE read as JSON when it parses (``3``, ``true``), else a string."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        try:
            return key, parse_json(value)
        except NotJSON:
            if value.lstrip()[:1] in ("{", "["):  # meant as JSON: a typo, not a string
                raise
        check_value(value)  # a bare word is a string (argv may hold undecodable bytes)
    except BadValue as exc:
        raise argparse.ArgumentTypeError(f"{key}: {exc}") from None
    return key, value


def add_tier(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tier",
        action="append",
        metavar="NAME=SOURCE[#level>=K]",
        help="a tier (repeatable, easiest first); default: easy=GSM8K, "
        "medium=MATH-500 level>=3, hard=AIME 2024 from $ROI_DATA_DIR",
    )


def add_level_bounds(p: argparse.ArgumentParser, default: list[int] | None = None) -> None:
    p.add_argument(
        "--level-bounds",
        type=csv_of(int),
        default=default,
        help="token bounds of levels 0..L-1 (Level-L = skip)",
    )


def add_policy(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument(
        "--policy", help=f"{default} (default), scripted, hf, vllm, openai or module:Class"
    )
    p.add_argument(
        "--policy-arg",
        type=key_value,
        action="append",
        metavar="KEY=VALUE",
        help="policy constructor argument (JSON value), repeatable",
    )


def policy_args(args: argparse.Namespace) -> dict[str, Any] | None:
    return dict(args.policy_arg) if args.policy_arg else None


def add_exam_args(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """Exam-drawing flags; with ``defaults=False`` unset flags stay None (the config decides)."""
    d = EXAM_DEFAULTS if defaults else dict.fromkeys(EXAM_DEFAULTS)
    add_tier(p)
    p.add_argument(
        "--composition", type=csv_of(str), help="tier of each problem, e.g. easy,hard,hard"
    )
    p.add_argument("--n", type=int, help="problems per exam (tiers cycled) when no --composition")
    p.add_argument(
        "--kinds",
        type=csv_of(str),
        default=d["kinds"],
        help="paper kinds: easy,medium,hard,composition",
    )
    p.add_argument("--budgets", type=csv_of(int), default=d["budgets"], help="token budgets B")
    p.add_argument("--count", type=int, default=d["count"], help="drawn problem sets (groups)")
    p.add_argument("--seed", type=int, default=d["seed"])


def tier_overrides(args: argparse.Namespace) -> dict | None:
    """``--tier`` flags as config ``tiers`` (None: keep the config's)."""
    if not args.tier:
        return None
    tiers: dict[str, Any] = {}
    for name, spec in map(parse_tier_arg, args.tier):
        if name in tiers:  # a second --tier of one name would silently replace the first
            raise ConfigError("--tier", f"tier {name!r} is given twice")
        tiers[name] = asdict(spec)
    return tiers


def tier_specs(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """``--tier`` flags, or the paper's default tiers, as config ``tiers``."""
    return tier_overrides(args) or default_tiers()
