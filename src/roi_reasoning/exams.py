"""Build budgeted exams ("papers"): N ordered problems drawn from tiers under one budget B.

Every drawn set of problems ("group") is laid out as each requested paper kind, so Regret~
compares the same problems in different orders (docs/design.md §1):

- ``easy``: ascending difficulty (tier order), ``hard``: descending,
- ``medium``: a fixed mixed order with the hardest problem in the middle
  (N=3: easy, hard, medium), ``composition``: the order the composition lists.

Run example: ``roi exams build --kinds easy,medium,hard --budgets 512,1024 --count 20 --out exams.jsonl``
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from collections.abc import Sequence

from roi_reasoning.data import read_jsonl
from roi_reasoning.errors import ConfigError, DataError
from roi_reasoning.records import Exam, Problem

KINDS = ("easy", "medium", "hard", "composition")


def _medium_order(ranked: list[int]) -> list[int]:
    """Ascending order with the hardest item moved to the middle position (index N//2)."""
    rest = ranked[:-1]
    middle = len(ranked) // 2
    return rest[:middle] + [ranked[-1]] + rest[middle:]


def order_positions(ranks: Sequence[int], kind: str) -> list[int]:
    """Indices into the drawn composition giving the paper's order; ties keep composition order."""
    asc = sorted(range(len(ranks)), key=lambda i: (ranks[i], i))
    orders = {
        "easy": lambda: asc,
        "hard": lambda: sorted(range(len(ranks)), key=lambda i: (-ranks[i], i)),
        "medium": lambda: _medium_order(asc),
        "composition": lambda: list(range(len(ranks))),
    }
    if kind not in orders:
        raise ValueError(f"unknown paper kind {kind!r}; valid: {', '.join(orders)}")
    return orders[kind]()


def group_id(problem_ids: Sequence[str], draw: int) -> str:
    """Stable id of the ``draw``-th drawn problem set: a digest of its problems (order-insensitive)
    plus the draw index, so the same problems drawn twice still make two distinct groups."""
    digest = hashlib.sha1("\x1f".join(sorted(problem_ids)).encode()).hexdigest()
    return f"{digest[:12]}-{draw}"


class _Pool:
    """Draws a tier's problems without replacement in a seeded order; reshuffles when spent, so
    ``count`` exams are a prefix of ``count + k`` exams with the same seed."""

    def __init__(self, problems: list[Problem], rng: random.Random) -> None:
        self.problems, self.rng = problems, rng
        self.order: list[int] = []

    def draw(self, avoid: set[str]) -> Problem:
        for _ in range(2):
            for j, idx in enumerate(self.order):
                if self.problems[idx].id not in avoid:
                    return self.problems[self.order.pop(j)]
            self.order = list(range(len(self.problems)))
            self.rng.shuffle(self.order)
        raise ConfigError("composition", "a tier has too few distinct problems for it")


def check_build_args(
    names: list[str],
    composition: Sequence[str] | None,
    n: int | None,
    kinds: Sequence[str],
    budgets: Sequence[int],
    count: int,
    points: Sequence[float] | None,
) -> None:
    """ConfigError (naming the setting) for anything ``build_exams`` cannot honour."""
    from roi_reasoning.validate import (
        MAX_BUDGET,
        MAX_EXAMS,
        MAX_POINTS,
        MAX_PROBLEMS,
        float_in,
        int_in,
        int_list,
        str_list,
    )

    if not names:
        raise ConfigError("tiers", "no tiers defined")
    if composition is not None:
        str_list(list(composition), "composition", unique=False)  # easy,hard,hard
        unknown = sorted(set(composition) - set(names))
        if unknown:
            raise ConfigError("composition", f"unknown tier(s) {unknown}; defined: {names}")
        int_in(len(composition), "composition (length)", 1, MAX_PROBLEMS)
    elif n is not None:
        int_in(n, "n", 1, MAX_PROBLEMS)
    str_list(list(kinds), "kinds", valid=KINDS)
    int_list(list(budgets), "budgets", 1, MAX_BUDGET)
    int_in(count, "count", 1, MAX_EXAMS)
    for key, values in (("kinds", list(kinds)), ("budgets", list(budgets))):
        if len(set(values)) != len(values):  # exam ids are group-kind-budget: repeats collide
            raise ConfigError(key, f"repeated values in {values}")
    total = count * len(kinds) * len(budgets)
    if total > MAX_EXAMS:
        raise ConfigError(
            "count",
            f"{count} x {len(kinds)} kinds x {len(budgets)} budgets = "
            f"{total} exams, above the limit of {MAX_EXAMS}",
        )
    size = len(composition) if composition is not None else (n or len(names))
    if points is not None:
        if len(points) != size:
            raise ConfigError("points", f"{len(points)} points given for {size} problems")
        for i, pt in enumerate(points):
            float_in(pt, f"points[{i}]", 0.0, MAX_POINTS)


def build_exams(
    tiers: dict[str, list[Problem]],
    *,
    composition: Sequence[str] | None = None,
    n: int | None = None,
    kinds: Sequence[str] = ("easy", "medium", "hard"),
    budgets: Sequence[int] = (512, 1024),
    count: int = 10,
    seed: int = 0,
    points: Sequence[float] | None = None,
) -> list[Exam]:
    """``count`` groups × ``kinds`` × ``budgets`` exams. ``composition`` lists the tier of each
    drawn problem (default: the tiers in order, cycled to length ``n``); tier difficulty is the
    order of ``tiers``. ``points`` are per composition position and follow their problem."""
    names = list(tiers)
    check_build_args(names, composition, n, kinds, budgets, count, points)
    if composition is None:
        composition = [names[i % len(names)] for i in range(n or len(names))]
    pools = {t: _Pool(tiers[t], random.Random(f"{seed}:{t}")) for t in names}
    ranks = [names.index(t) for t in composition]
    exams = []
    for draw in range(count):
        drawn: list[Problem] = []
        taken: set[str] = set()
        for pos, tier in enumerate(composition):
            p = pools[tier].draw(taken)
            taken.add(p.id)
            pts = float(points[pos]) if points is not None else p.points
            drawn.append(Problem(**{**p.to_dict(), "tier": tier, "points": pts}))
        gid = group_id([p.id for p in drawn], draw)
        for budget in budgets:
            for kind in kinds:
                ordered = tuple(drawn[i] for i in order_positions(ranks, kind))
                exams.append(Exam(f"{gid}-{kind}-B{budget}", gid, kind, int(budget), ordered))
    return exams


def write_exams(exams: Sequence[Exam], path: str | os.PathLike[str]) -> None:
    """Write exams JSONL atomically: a kill mid-write leaves the previous file intact."""
    from roi_reasoning.runfolder import atomic_write_text

    atomic_write_text(
        path, "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in exams)
    )


_PROBLEM_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "question": (str,),
    "answer": (str,),
    "tier": (str,),
    "points": (int, float),
    "source": (str,),
    "level": (int, type(None)),
    "solution": (str,),
}


def _check_problem(raw: object, where: str) -> None:
    """One problem of an exam record: an object with string id/question/answer, finite
    non-negative points and typed optional fields (no coercion)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object, got {type(raw).__name__}")
    for key in ("id", "question", "answer"):
        if key not in raw:
            raise ValueError(f"{where} lacks {key!r}")
    for key, kinds in _PROBLEM_TYPES.items():
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], kinds)):
            names = "/".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise ValueError(f"{where}.{key} must be {names}, got {raw[key]!r}")
    if not raw["id"] or not raw["question"].strip() or not raw["answer"].strip():
        raise ValueError(f"{where}: id, question and answer must be non-empty")
    from roi_reasoning.validate import MAX_POINTS

    points = raw.get("points", 1.0)
    if not math.isfinite(points) or not 0 <= points <= MAX_POINTS:
        raise ValueError(f"{where}.points must be a number in 0..{MAX_POINTS:g}, got {points!r}")


def _check_exam_row(row: object) -> None:
    from roi_reasoning.validate import MAX_BUDGET, MAX_PROBLEMS

    if not isinstance(row, dict):
        raise ValueError(f"expected an object, got {type(row).__name__}")
    for key in ("id", "group", "kind", "budget", "problems"):
        if key not in row:
            raise ValueError(f"missing {key!r}")
    for key in ("id", "group", "kind"):
        if not isinstance(row[key], str) or not row[key]:
            raise ValueError(f"{key!r} must be a non-empty string, got {row[key]!r}")
    budget = row["budget"]
    if isinstance(budget, bool) or not isinstance(budget, int) or not 0 < budget <= MAX_BUDGET:
        raise ValueError(f"'budget' must be an integer in 1..{MAX_BUDGET} (tokens), got {budget!r}")
    if not isinstance(row["problems"], list) or not row["problems"]:
        raise ValueError(f"'problems' must be a non-empty list, got {row['problems']!r}")
    if len(row["problems"]) > MAX_PROBLEMS:
        raise ValueError(f"{len(row['problems'])} problems, above the limit of {MAX_PROBLEMS}")
    seen: set[str] = set()
    for i, p in enumerate(row["problems"]):
        _check_problem(p, f"problems[{i}]")
        if p["id"] in seen:  # outcomes are keyed by problem id
            raise ValueError(f"problems[{i}].id {p['id']!r} repeats an earlier problem of the exam")
        seen.add(p["id"])


def load_exams(path: str | os.PathLike[str]) -> list[Exam]:
    """Exams from JSONL (read-only), validated strictly; DataError names file and line."""
    exams: list[Exam] = []
    seen: dict[str, int] = {}
    for lineno, row in read_jsonl(path):
        try:
            _check_exam_row(row)
        except ValueError as exc:
            raise DataError(path, lineno, f"not an exam record: {exc}") from None
        exam = Exam.from_dict(row)
        if exam.id in seen:  # resume and Regret~ key records by exam id
            raise DataError(
                path, lineno, f"duplicate exam id {exam.id!r} (first on line {seen[exam.id]})"
            )
        seen[exam.id] = lineno
        exams.append(exam)
    if not exams:
        raise DataError(path, None, "no exams in file")
    return exams
