"""Build budgeted exams ("papers"): N ordered problems drawn from tiers under one budget B.

Every drawn set of problems ("group") is laid out as each requested paper kind, so Regret~
compares the same problems in different orders (DESIGN.md §1):

- ``easy``: ascending difficulty (tier order), ``hard``: descending,
- ``medium``: a fixed mixed order with the hardest problem in the middle
  (N=3: easy, hard, medium), ``composition``: the order the composition lists.

Run example: ``roi exams build --kinds easy,medium,hard --budgets 512,1024 --count 20 --out exams.jsonl``
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Sequence
from pathlib import Path

from roi_reasoning.data import DataError, read_jsonl
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
        self.problems, self.rng, self.order = problems, rng, []

    def draw(self, avoid: set[str]) -> Problem:
        for _ in range(2):
            for j, idx in enumerate(self.order):
                if self.problems[idx].id not in avoid:
                    return self.problems[self.order.pop(j)]
            self.order = list(range(len(self.problems)))
            self.rng.shuffle(self.order)
        raise ValueError("tier has too few distinct problems for this composition")


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
    if composition is None:
        composition = [names[i % len(names)] for i in range(n or len(names))]
    unknown = sorted(set(composition) - set(names))
    if unknown:
        raise ValueError(f"unknown tier(s) {unknown}; defined: {names}")
    if points is not None and len(points) != len(composition):
        raise ValueError(f"{len(points)} points given for {len(composition)} problems")
    if any(b <= 0 for b in budgets) or count <= 0:
        raise ValueError("budgets and count must be positive")
    for kind in kinds:
        order_positions([0], kind)  # validates the kind name early
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
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for exam in exams:
            fh.write(json.dumps(exam.to_dict(), ensure_ascii=False) + "\n")


def load_exams(path: str | os.PathLike[str]) -> list[Exam]:
    """Exams from JSONL, validated; DataError names file and line."""
    exams, seen = [], {}
    for lineno, row in read_jsonl(path):
        try:
            exam = Exam.from_dict(row)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(path, lineno, f"not an exam record ({exc!r})") from None
        if exam.budget <= 0 or not exam.problems:
            raise DataError(path, lineno, "exam needs a positive budget and at least one problem")
        if exam.id in seen:  # resume and Regret~ key records by exam id
            raise DataError(path, lineno, f"duplicate exam id {exam.id!r} (line {seen[exam.id]})")
        seen[exam.id] = lineno
        exams.append(exam)
    return exams
