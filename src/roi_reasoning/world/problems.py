"""The embedded world's problems: seeded arithmetic word problems in three tiers.

Every problem is a chain of operations on integers; its worked solution writes one line per
operation (``45-12=33``) and ends in ``\\boxed{answer}``, so a solution's token cost grows with
the number and size of its steps:

- ``easy``: 1-2 additions/subtractions of small numbers (cost ≈ Level-0),
- ``medium``: a chain of 3-5 additions/subtractions of two-digit numbers (≈ Level-1),
- ``hard``: a chain of 6-8 steps with 2-3 multiplications, each multiplication of a
  multi-digit number worked out by place value (``300*6=1800``) and summed (≈ Level-2 / over
  the tight budget).

Rows have the shape of ``../shared/data`` (id, question, answer, solution, source, level,
subject); ``level`` is the number of operations in the chain. Row ``i`` of a tier depends only on
(seed, tier, i), so a larger world extends a smaller one. Train and test splits are disjoint by
question text.

Run example: ``python -c "from roi_reasoning.world import WorldConfig, write_world; print(write_world('/tmp/world', WorldConfig()))"``
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TIERS = ("easy", "medium", "hard")
NAMES = ("Ann", "Ben", "Mia", "Tom", "Eva", "Sam", "Lia", "Max")
THINGS = ("apples", "coins", "books", "cards", "stamps", "shells")


@dataclass(frozen=True)
class WorldConfig:
    """Everything that determines a built world; its hash keys the model cache."""

    seed: int = 0
    train_size: int = 3000  # problems per tier used to build training conversations
    test_size: int = 200  # held-out problems per tier (evaluation)
    level_bounds: tuple[int, ...] = (48, 96, 192)  # generated tokens of the world tokenizer
    budgets: tuple[int, ...] = (128, 256)  # tight and loose exam budgets, tokens
    # tokenizer and model (a small Llama trained from scratch)
    vocab_size: int = 384
    hidden_size: int = 128
    intermediate_size: int = 384
    num_layers: int = 4
    num_heads: int = 4
    # training: a fixed number of optimiser steps (deterministic), a wall-clock guard
    steps: int = 500
    batch_tokens: int = 2048  # padded tokens per optimiser step
    lr: float = 3e-3
    warmup: int = 30  # steps
    single_fraction: float = 0.5  # share of training conversations with one problem (else N=3)
    bare_fraction: float = 0.5  # share whose prompt is the problem list alone (cheap to train on)
    examples: int = 6000  # training conversations generated (steps may cycle through them)
    max_train_seconds: float = 600.0  # stop early (and record it) on a much slower machine
    eval_size: int = 40  # held-out single problems per tier measured after training
    extra: dict[str, Any] = field(default_factory=dict)  # free-form, part of the hash

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


# ------------------------------------------------------------------ operations and solutions


def _mul_steps(x: int, k: int) -> list[str]:
    """``x*k`` worked by place value: one product per nonzero digit of ``x``, then their sum."""
    if x < 10:
        return [f"{x}*{k}={x * k}"]
    digits = str(x)
    parts = [int(d) * 10 ** (len(digits) - 1 - j) for j, d in enumerate(digits) if d != "0"]
    steps = [f"{p}*{k}={p * k}" for p in parts]
    if len(parts) > 1:
        steps.append("+".join(str(p * k) for p in parts) + f"={x * k}")
    return steps


def apply_op(x: int, op: str, v: int) -> tuple[int, str]:
    """New value and the worked arithmetic of one operation (``45-12=33``)."""
    if op == "add":
        return x + v, f"{x}+{v}={x + v}"
    if op == "sub":
        return x - v, f"{x}-{v}={x - v}"
    if op == "mul":
        return x * v, ", ".join(_mul_steps(x, v))
    raise ValueError(f"unknown operation {op!r}")


def _add_or_sub(rng: random.Random, x: int, lo: int, hi: int) -> tuple[str, int]:
    """An addition or a subtraction that keeps the running value positive."""
    if rng.random() < 0.5 and x > lo + 1:
        return "sub", rng.randint(lo, min(hi, x - 1))
    return "add", rng.randint(lo, hi)


Ops = list[tuple[str, int]]


def _chain(rng: random.Random, start: int, n: int, lo: int, hi: int, muls: int = 0) -> Ops:
    """``n`` operations from ``start``: additions/subtractions of ``lo..hi``, ``muls`` of them
    (at random places) multiplications by 2..9."""
    where = set(rng.sample(range(n), muls))
    ops, x = [], start
    for i in range(n):
        op = ("mul", rng.randint(2, 9)) if i in where else _add_or_sub(rng, x, lo, hi)
        ops.append(op)
        x = apply_op(x, *op)[0]
    return ops


# ------------------------------------------------------------------ tiers
# A question is an opening sentence and one sentence per operation; the worked solution repeats
# the opening, then each operation's sentence with its arithmetic, then the boxed answer.


def _easy(rng: random.Random) -> tuple[str, list[str], str, int, Ops]:
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    start = rng.randint(10, 50)
    ops = _chain(rng, start, rng.randint(1, 2), 2, 9)
    verbs = {"add": ("gets {v} more", "finds {v} more"), "sub": ("gives away {v}", "loses {v}")}
    said = [f"{name} " + rng.choice(verbs[op]).format(v=v) for op, v in ops]
    opening = f"{name} has {start} {thing}."
    return opening, said, f"How many {thing} does {name} have now?", start, ops


def _medium(rng: random.Random) -> tuple[str, list[str], str, int, Ops]:
    thing = rng.choice(THINGS)
    start = rng.randint(20, 60)
    ops = _chain(rng, start, rng.randint(3, 5), 2, 19)
    said = [("It buys {v} more" if op == "add" else "It sells {v}").format(v=v) for op, v in ops]
    opening = f"A shop has {start} {thing}."
    return opening, said, f"How many {thing} does the shop have now?", start, ops


def _hard(rng: random.Random) -> tuple[str, list[str], str, int, Ops]:
    start = rng.randint(11, 99)
    n = rng.randint(6, 8)
    ops = _chain(rng, start, n, 10, 99, muls=rng.randint(2, 3))
    words = {"add": "Add {v}", "sub": "Subtract {v}", "mul": "Multiply by {v}"}
    said = [words[op].format(v=v) for op, v in ops]
    return f"Start with {start}.", said, "What is the final number?", start, ops


_TIER_MAKERS = {"easy": _easy, "medium": _medium, "hard": _hard}


def make_problem(tier: str, index: int, seed: int = 0) -> dict[str, Any]:
    """Row ``index`` of ``tier``: a function of (seed, tier, index) only."""
    if tier not in _TIER_MAKERS:
        raise ValueError(f"unknown world tier {tier!r}; valid: {', '.join(TIERS)}")
    rng = random.Random(f"roi-world:{seed}:{tier}:{index}")
    opening, said, ask, x, ops = _TIER_MAKERS[tier](rng)
    lines = [opening]
    for sentence, (op, v) in zip(said, ops, strict=True):
        x, work = apply_op(x, op, v)
        lines.append(f"{sentence}: {work}.")
    lines.append(f"The answer is \\boxed{{{x}}}.")
    return {
        "id": f"world-{tier}-{index:05d}",
        "question": " ".join([opening, *(s + "." for s in said), ask]),
        "answer": str(x),
        "solution": "\n".join(lines),
        "source": f"roi-world seed={seed}",
        "level": len(ops),  # number of operations in the chain
        "subject": tier,
    }


def generate_tier(tier: str, n: int, seed: int = 0, start: int = 0) -> list[dict[str, Any]]:
    """Rows ``start .. start+n-1`` of ``tier`` (duplicates of a question are kept)."""
    return [make_problem(tier, i, seed) for i in range(start, start + n)]


def split_tier(tier: str, cfg: WorldConfig) -> tuple[list[dict], list[dict]]:
    """(train, test): test = the first ``test_size`` distinct questions, train = the next
    ``train_size`` distinct questions not in test (disjoint by question text)."""
    seen: set[str] = set()
    test: list[dict] = []
    train: list[dict] = []
    i = 0
    while len(train) < cfg.train_size:
        if i > 20 * (cfg.train_size + cfg.test_size) + 1000:
            raise ValueError(f"tier {tier!r} has too few distinct problems for {cfg}")
        row = make_problem(tier, i, cfg.seed)
        i += 1
        if row["question"] in seen:
            continue
        seen.add(row["question"])
        (test if len(test) < cfg.test_size else train).append(row)
    return train, test


def _write_rows(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)  # whole file or nothing


def write_world(out_dir: str | os.PathLike[str], cfg: WorldConfig | None = None) -> dict[str, Any]:
    """Write ``<tier>.jsonl`` (all rows), ``<tier>.train.jsonl`` and ``<tier>.test.jsonl`` for
    each tier; return ``{tier: {"all"|"train"|"test": absolute path}}``."""
    cfg = cfg or WorldConfig()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    for tier in TIERS:
        train, test = split_tier(tier, cfg)
        paths = {k: out / f"{tier}{suffix}.jsonl" for k, suffix in SPLIT_SUFFIX.items()}
        _write_rows(paths["train"], train)
        _write_rows(paths["test"], test)
        _write_rows(paths["all"], test + train)
        files[tier] = {k: str(p) for k, p in paths.items()}
    return files


SPLIT_SUFFIX = {"all": "", "train": ".train", "test": ".test"}
