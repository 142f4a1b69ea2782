"""The embedded world's problems: seeded arithmetic word problems in three tiers.

Every problem is a chain of operations on integers; its worked solution repeats each step and
writes its arithmetic (``Monday: sells 4. 9 - 4 = 5.``), then ``Answer: \\boxed{5}.``, so a
solution's token cost grows with the number and size of its steps (costs in world tokens,
header ``## Problem i`` included, default bounds 48/96/192):

- ``easy``: 1-2 additions/subtractions of one-digit numbers, no carry (27-44 tokens: Level-0),
- ``medium``: a chain of 3-5 additions/subtractions of one-digit numbers, with carries and
  borrows (51-89 tokens: Level-1),
- ``hard``: a chain of 7-9 medium-sized steps with an opening, verbs and labels of its own
  (``A warehouse holds 6 coins.``, ``January:`` .. ``September:``) (113-160 tokens: Level-2).
  Half are plain chains, which a model learns to solve reliably; the other half have one die
  roll among their steps (``March: rolls a die and loads as many more as it shows.``; the
  solution names the roll, ``It shows 4. 10 + 4 = 14.``), which a model can only guess (one
  time in six). The question tells which is which, so the model can know before it writes a
  level tag whether a hard problem is worth its cost (the paper's MFT refuses the die problems:
  no correct sample) and the budget alone decides the plain chains (why not a coin in every
  hard problem: docs/findings.md §1, "Why the hard tier changed"; why not harder arithmetic: §1).

With the default budgets the three problems of a paper never fit the tight budget (160)
together and always fit the loose one (320): at the tight budget the hard problem is worth
skipping, at the loose one worth attempting — the allocation decision of ROI-Reasoning.

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

from roi_reasoning.errors import ConfigError

TIERS = ("easy", "medium", "hard")
# problems per tier that neither the base model nor the evaluation sees: MFT's profile and RARL
TUNE_SIZE = 1000
HARD_STEPS = (7, 9)  # operations in a hard chain, its die roll included (inclusive range)
NAMES = ("Ann", "Ben", "Mia", "Tom", "Eva", "Sam", "Lia", "Max")
THINGS = ("apples", "coins", "books", "cards", "stamps", "shells")


# Ranges of WorldConfig's numbers (validate.check_fields): checked when the config is made,
# before any stage runs. Sizes are bounded so a typo cannot ask for days of training.
WORLD_RANGES: dict[str, tuple] = {
    "seed": (0, 2**32 - 1),
    "train_size": (1, 1_000_000),
    "test_size": (1, 100_000),
    "vocab_size": (64, 65_536),
    "hidden_size": (1, 8192),
    "intermediate_size": (1, 32_768),
    "num_layers": (1, 64),
    "num_heads": (1, 256),
    "steps": (1, 10_000_000),
    "batch_tokens": (16, 1_000_000),
    "lr": (0.0, 10.0, "above"),
    "warmup": (0, 10_000_000),
    "single_fraction": (0.0, 1.0),
    "tier_weights": (0.0, 1000.0),
    "bare_fraction": (0.0, 1.0),
    "skip_fraction": (0.0, 1.0),
    "examples": (1, 10_000_000),
    "workers": (1, 256),
    "max_train_seconds": (0.0, 1e7, "above"),
    "eval_size": (1, 100_000),
    "profile_size": (1, 100_000),
    "profile_k": (1, 1000),
    "attempts": (1, 100),
    "retry_num_layers": (1, 64),
}


@dataclass(frozen=True)
class WorldConfig:
    """Everything that determines a built world; its hash keys the model cache."""

    seed: int = 0
    train_size: int = 3000  # problems per tier used to build training conversations
    test_size: int = 200  # held-out problems per tier (evaluation)
    level_bounds: tuple[int, ...] = (48, 96, 192)  # generated tokens of the world tokenizer
    # tight and loose exam budgets, tokens. Tight: a paper never fits whole, but its two cheaper
    # problems fit with a refusal and the roi format's level tags (4 tokens each); why not a
    # tighter one: docs/findings.md §1.
    budgets: tuple[int, ...] = (160, 320)
    # tokenizer and model (a small Llama trained from scratch)
    vocab_size: int = 512  # BPE tokens; tag, role and template-phrase tokens come on top
    hidden_size: int = 96
    intermediate_size: int = 384
    num_layers: int = 2
    num_heads: int = 4
    # training: a fixed number of optimiser steps (deterministic), a wall-clock guard
    steps: int = 15200
    batch_tokens: int = 512  # padded tokens per worker and step
    lr: float = 3e-3
    warmup: int = 50  # steps
    single_fraction: float = 0.5  # share of training conversations with one problem (else N=3)
    tier_weights: tuple[float, ...] = (0.2, 0.3, 0.5)  # single problems per tier
    bare_fraction: float = 0.0  # share whose prompt is the problem list alone (no instructions)
    # share of the problems answered ``\\boxed{NA}`` in conversations whose prompt allows it
    # (the ``budget`` method's): the base model learns what a skip looks like and to go on with
    # the next problem, never when to skip (they are drawn at random, every tier alike)
    skip_fraction: float = 0.25
    examples: int = 60000  # training conversations generated (steps cycle through them)
    workers: int = 2  # data-parallel threads (one per core)
    max_train_seconds: float = 2400.0  # stop early (and record it) on a much slower machine
    # Measured after training (greedy): single problems and N=3 papers over the first
    # ``eval_size`` test problems per tier; the allocation table from ``profile_k`` samples at
    # T=1 of the ``profile_size`` test problems per tier that ``roi demo`` evaluates (both
    # capped at ``test_size``).
    eval_size: int = 200
    profile_size: int = 60
    profile_k: int = 4
    # Quality gate: a build that fails any of ``world.quality.checks`` (the world's spec) is
    # trained again from another initialisation, at most ``attempts`` times in all; the attempt
    # passing most checks is kept, and world.json records every one. 1 turns retraining off.
    attempts: int = 2
    # Depth of the models the gate trains after the first attempt. 2 layers learn the chains
    # for most world seeds and keep every demo stage fast; where they fail (world seed 2 at
    # each of 3 initialisations), 3 layers learnt them at once (docs/findings.md §2).
    retry_num_layers: int = 3
    extra: dict[str, Any] = field(default_factory=dict)  # free-form, part of the hash

    def __post_init__(self) -> None:
        from roi_reasoning.validate import check_fields, int_list

        # YAML gives lists; keep tuples so equal configs compare (and hash) equal.
        for name in ("level_bounds", "budgets", "tier_weights"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        check_fields(self, WORLD_RANGES)
        int_list(list(self.level_bounds), "level_bounds", 1, 100_000, ascending=True)
        int_list(sorted(self.budgets), "budgets", 1, 100_000, ascending=True)  # distinct
        if len(self.tier_weights) != len(TIERS):
            raise ConfigError("tier_weights", f"needs one weight per tier ({len(TIERS)})")
        if not sum(self.tier_weights) > 0:
            raise ConfigError("tier_weights", "must not all be 0")
        if self.hidden_size % self.num_heads:
            raise ConfigError("num_heads", f"must divide hidden_size {self.hidden_size}")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


# ------------------------------------------------------------------ operations and solutions
# Arithmetic is written with spaces (``50 + 9 = 59``) so an operand is the same token in the
# question and in the solution (the world tokenizer attaches a leading space to a number).


def apply_op(x: int, op: str, v: Any) -> tuple[int, str]:
    """New value and the worked arithmetic of one operation (``45 - 12 = 33``). A ``die``
    operation's ``v`` is the roll: its work names the roll first (``It shows 4. 23 + 4 = 27``)."""
    if op == "die":
        return x + v, f"It shows {v}. {x} + {v} = {x + v}"
    if op == "add":
        return x + v, f"{x} + {v} = {x + v}"
    if op == "sub":
        return x - v, f"{x} - {v} = {x - v}"
    raise ValueError(f"unknown operation {op!r}")


def _add_or_sub(rng: random.Random, x: int, lo: int, hi: int) -> tuple[str, int]:
    """An addition or a subtraction that keeps the running value positive."""
    if rng.random() < 0.5 and x > lo + 1:
        return "sub", rng.randint(lo, min(hi, x - 1))
    return "add", rng.randint(lo, hi)


Ops = list[tuple[str, Any]]


def _chain(rng: random.Random, start: int, n: int, lo: int, hi: int) -> Ops:
    """``n`` additions/subtractions of ``lo..hi`` from ``start``, the value kept positive."""
    ops, x = [], start
    for _ in range(n):
        op = _add_or_sub(rng, x, lo, hi)
        ops.append(op)
        x = apply_op(x, *op)[0]
    return ops


# ------------------------------------------------------------------ tiers
# A question is an opening line, one line ``<Label>: <verb> <number>.`` per operation, and the
# ask. Labels follow a fixed sequence per tier and verbs do not repeat inside an easy or medium
# problem, so every step line can be found again from its label and every operand from its verb:
# copying stays learnable for a tiny model. The worked solution repeats the opening, then each
# step line followed by its arithmetic, then the boxed answer.

LABELS = {
    "easy": ("First:", "Then:"),
    "medium": ("Monday:", "Tuesday:", "Wednesday:", "Thursday:", "Friday:"),
    # Hard chains reuse the medium steps under labels of their own (one distinct word per line,
    # not "Step 1:".."Step 9:" told apart by a digit alone: docs/findings.md §1).
    "hard": (
        "January:",
        "February:",
        "March:",
        "April:",
        "May:",
        "June:",
        "July:",
        "August:",
        "September:",
    ),
}
VERBS: dict[str, dict[str, tuple[str, ...]]] = {
    "easy": {
        "add": ("finds {v} more", "gets {v} more", "wins {v} more"),
        "sub": ("loses {v}", "gives away {v}", "breaks {v}"),
    },
    "medium": {
        "add": (
            "buys {v} more",
            "receives {v} more",
            "orders {v} more",
            "collects {v} more",
            "makes {v} more",
        ),
        "sub": ("sells {v}", "returns {v}", "donates {v}", "ships {v}", "throws away {v}"),
    },
    "hard": {
        "add": ("loads {v} more", "packs {v} more", "stacks {v} more", "brings {v} more"),
        "sub": ("exports {v}", "unloads {v}", "trades {v}", "moves out {v}"),
        "die": ("rolls a die and loads as many more as it shows",),
    },
}


def _phrases(rng: random.Random, tier: str, ops: Ops) -> list[str]:
    """One phrase per operation; no verb twice in a problem until its pool runs out (then the
    last one repeats)."""
    verbs = VERBS[tier]
    pools = {op: list(v) for op, v in verbs.items()}
    for pool in pools.values():
        rng.shuffle(pool)
    out = []
    for op, v in ops:
        pool = pools[op]
        out.append((pool.pop() if len(pool) > 1 else pool[0]).format(v=v))
    return out


def _easy(rng: random.Random) -> tuple[str, str, int, Ops]:
    """One or two additions/subtractions of one-digit numbers that stay one-digit."""
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    start = rng.randint(2, 9)
    ops, x = [], start
    for _ in range(rng.randint(1, 2)):
        if x == 9 or (x > 2 and rng.random() < 0.5):
            ops.append(("sub", rng.randint(1, x - 1)))
        else:
            ops.append(("add", rng.randint(1, 9 - x)))
        x = apply_op(x, *ops[-1])[0]
    return f"{name} has {start} {thing}.", f"How many {thing} does {name} have now?", start, ops


def _medium(rng: random.Random) -> tuple[str, str, int, Ops]:
    """A chain of 3-5 additions/subtractions of one-digit numbers, with carries and borrows."""
    thing = rng.choice(THINGS)
    start = rng.randint(2, 9)
    ops = _chain(rng, start, rng.randint(3, 5), 2, 9)
    return f"A shop owns {start} {thing}.", f"How many {thing} does the shop own now?", start, ops


def _hard(rng: random.Random) -> tuple[str, str, int, Ops]:
    """A long chain of medium-sized steps (one-digit additions/subtractions) in words of its
    own, 7-9 steps in all (~115-160 tokens, more than the tight budget leaves): half of them
    plain (a model solves them reliably), half with one die roll among the steps (right one
    time in six, after the whole chain's cost)."""
    thing = rng.choice(THINGS)
    start = rng.randint(2, 9)
    n = rng.randint(HARD_STEPS[0], HARD_STEPS[1])
    if rng.random() < 0.5:
        ops = _chain(rng, start, n, 2, 9)
    else:
        ops = _chain(rng, start, n - 1, 2, 9)
        ops.insert(rng.randrange(n), ("die", rng.randint(1, 6)))
    opening = f"A warehouse holds {start} {thing}."
    return opening, f"How many {thing} does the warehouse hold now?", start, ops


_TIER_MAKERS = {"easy": _easy, "medium": _medium, "hard": _hard}


def make_problem(tier: str, index: int, seed: int = 0) -> dict[str, Any]:
    """Row ``index`` of ``tier``: a function of (seed, tier, index) only."""
    if tier not in _TIER_MAKERS:
        raise ValueError(f"unknown world tier {tier!r}; valid: {', '.join(TIERS)}")
    rng = random.Random(f"roi-world:{seed}:{tier}:{index}")
    opening, ask, x, ops = _TIER_MAKERS[tier](rng)
    phrases = _phrases(rng, tier, ops)
    steps = [f"{label} {phrase}." for label, phrase in zip(LABELS[tier], phrases, strict=False)]
    lines = [opening]
    for step, (op, v) in zip(steps, ops, strict=True):
        x, work = apply_op(x, op, v)
        lines.append(f"{step} {work}.")
    lines.append(f"Answer: \\boxed{{{x}}}.")
    return {
        "id": f"world-{tier}-{index:05d}",
        "question": "\n".join([opening, *steps, ask]),
        "answer": str(x),
        "solution": "\n".join(lines),
        "source": f"roi-world seed={seed}",
        "level": len(ops),  # number of operations in the chain
        "subject": tier,
    }


def generate_tier(tier: str, n: int, seed: int = 0, start: int = 0) -> list[dict[str, Any]]:
    """Rows ``start .. start+n-1`` of ``tier`` (duplicates of a question are kept)."""
    return [make_problem(tier, i, seed) for i in range(start, start + n)]


def split_tier(tier: str, cfg: WorldConfig) -> tuple[list[dict], list[dict], list[dict]]:
    """(train, test, tune): test = the first ``test_size`` distinct questions, train = the next
    ``train_size``, tune = the next ``TUNE_SIZE`` (all disjoint by question text). The base model
    trains on train; MFT and RARL tune on problems it never saw (on train problems it would
    know the die rolls of the hard tier from its training solutions)."""
    seen: set[str] = set()
    test: list[dict] = []
    train: list[dict] = []
    tune: list[dict] = []
    i = 0
    while len(tune) < TUNE_SIZE:
        if i > 20 * (cfg.train_size + cfg.test_size + TUNE_SIZE) + 1000:
            raise ValueError(f"tier {tier!r} has too few distinct problems for {cfg}")
        row = make_problem(tier, i, cfg.seed)
        i += 1
        if row["question"] in seen:
            continue
        seen.add(row["question"])
        if len(test) < cfg.test_size:
            test.append(row)
        elif len(train) < cfg.train_size:
            train.append(row)
        else:
            tune.append(row)
    return train, test, tune


def _write_rows(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)  # whole file or nothing


def write_world(out_dir: str | os.PathLike[str], cfg: WorldConfig | None = None) -> dict[str, Any]:
    """Write ``<tier>.jsonl`` (train and test rows), ``<tier>.train.jsonl``, ``<tier>.test.jsonl``
    and ``<tier>.tune.jsonl`` for each tier; return ``{tier: {split: absolute path}}``."""
    cfg = cfg or WorldConfig()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    for tier in TIERS:
        train, test, tune = split_tier(tier, cfg)
        paths = {k: out / f"{tier}{suffix}.jsonl" for k, suffix in SPLIT_SUFFIX.items()}
        _write_rows(paths["train"], train)
        _write_rows(paths["test"], test)
        _write_rows(paths["tune"], tune)
        _write_rows(paths["all"], test + train)
        files[tier] = {k: str(p) for k, p in paths.items()}
    return files


SPLIT_SUFFIX = {"all": "", "train": ".train", "test": ".test", "tune": ".tune"}
