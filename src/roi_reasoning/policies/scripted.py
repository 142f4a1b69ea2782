"""A scripted policy (no torch): writes exam completions from per-tier behaviour specs.

The test double for everything downstream and a teaching tool: each problem's behaviour is a
token cost distribution, a success probability, a tag rule and a skip rule. Draws are seeded
by (seed, problem id, ``Request.sample``), so a problem behaves the same in every paper kind and
every batch — the Easy and Hard papers of a group differ only in order, as Regret~ requires.
Tokens are whitespace words: ``token_starts`` are the character offsets of ``\\S+\\s*`` matches.

Run example: ``roi eval --policy scripted --methods base,roi --count 20 --out runs/scripted``
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from roi_reasoning.errors import ConfigError
from roi_reasoning.formats import render_tag
from roi_reasoning.policies import Request
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Completion, Problem, actual_level

_WORD = re.compile(r"\S+\s*")


@dataclass(frozen=True)
class Behaviour:
    """How the scripted model treats one tier's problems (costs in whitespace tokens)."""

    cost: tuple[int, int] = (40, 120)  # uniform range of the solution's tokens, header included
    p_correct: float = 0.8
    tag: str = "true"  # "true": tag the level of the drawn cost; "none": no tag; "0".."3": fixed
    skip: bool = False  # write Level-top + NA instead of solving

    @classmethod
    def from_dict(cls, row: Any, key: str = "behaviours") -> Behaviour:
        """A behaviour from settings, every field checked; ConfigError names ``key.field``."""
        from roi_reasoning.validate import MAX_BUDGET, check_type, float_in, int_list

        if not isinstance(row, dict):
            raise ConfigError(key, f"expected a mapping of behaviour fields, got {row!r}")
        unknown = sorted(set(row) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(
                key, f"unknown key(s) {unknown}; valid: {list(cls.__dataclass_fields__)}"
            )
        cost = int_list(row.get("cost", list(cls.cost)), f"{key}.cost", 1, MAX_BUDGET)
        if len(cost) != 2 or cost[0] > cost[1]:
            raise ConfigError(f"{key}.cost", f"expected [low, high] with low <= high, got {cost}")
        float_in(row.get("p_correct", cls.p_correct), f"{key}.p_correct", 0.0, 1.0)
        tag = check_type(row.get("tag", cls.tag), str, f"{key}.tag")
        if tag not in ("true", "none") and not tag.isdigit():
            raise ConfigError(f"{key}.tag", f"expected 'true', 'none' or a level, got {tag!r}")
        check_type(row.get("skip", cls.skip), bool, f"{key}.skip")
        return cls(**{**row, "cost": tuple(cost)})


# Defaults shaped like the paper's base model: easy cheap and right, hard long and mostly wrong.
DEFAULT_BEHAVIOURS = {
    "easy": Behaviour((100, 220), 0.9),
    "medium": Behaviour((250, 500), 0.6),
    "hard": Behaviour((700, 1400), 0.1),
}


def wrong_answer(gold: str) -> str:
    return "0" if gold.strip() != "0" else "1"


@dataclass
class ScriptedPolicy:
    behaviours: dict[str, Behaviour] = field(default_factory=lambda: dict(DEFAULT_BEHAVIOURS))
    seed: int = 0
    bounds: Sequence[int] = DEFAULT_LEVEL_BOUNDS
    tagged: bool | None = None  # None: write tags only for the "roi" method

    def __post_init__(self) -> None:
        from roi_reasoning.validate import MAX_SEED, int_in

        if not isinstance(self.behaviours, dict):
            raise ConfigError("behaviours", f"expected tier → behaviour, got {self.behaviours!r}")
        self.behaviours = {
            k: v if isinstance(v, Behaviour) else Behaviour.from_dict(v, f"behaviours.{k}")
            for k, v in self.behaviours.items()
        }
        int_in(self.seed, "seed", 0, MAX_SEED)

    def describe(self) -> dict[str, Any]:
        return {
            "name": "scripted",
            "tokenizer": "whitespace words (\\S+\\s*)",
            "seed": self.seed,
            "behaviours": {k: vars(v) | {"cost": list(v.cost)} for k, v in self.behaviours.items()},
        }

    def _draw(self, problem: Problem, sample: int) -> tuple[Behaviour, int, bool]:
        beh = self.behaviours.get(problem.tier)
        if beh is None:
            raise ValueError(f"no scripted behaviour for tier {problem.tier!r}")
        rng = random.Random(f"{self.seed}:{problem.id}:{sample}")
        return beh, rng.randint(*beh.cost), rng.random() < beh.p_correct

    def tag_level(self, problem: Problem, sample: int = 0) -> int | None:
        """The level the scripted model writes for ``problem`` (None: it writes no tag)."""
        beh, cost, _ = self._draw(problem, sample)
        if beh.skip:
            return len(self.bounds)
        if beh.tag == "none":
            return None
        return actual_level(cost, self.bounds) if beh.tag == "true" else int(beh.tag)

    def solution(self, problem: Problem, index: int, tagged: bool, sample: int = 0) -> str:
        """Full (uncut) text for one problem, header to final answer."""
        beh, cost, success = self._draw(problem, sample)
        header = f"## Problem {index + 1}\n"  # 3 whitespace tokens
        level = self.tag_level(problem, sample) if tagged else None
        tag = render_tag(level) + " " if level is not None else ""
        if beh.skip:
            return header + tag + "\\boxed{NA}\n"
        answer = problem.answer if success else wrong_answer(problem.answer)
        filler = max(cost - 3 - (1 if tag else 0) - 1, 0)  # header 3, tag 1, answer box 1
        body = " ".join(["step"] * filler)
        return header + tag + (body + " " if body else "") + f"\\boxed{{{answer}}}\n"

    def text(self, req: Request) -> str:
        if req.method == "tags-only":  # first pass of Greedy Knapsack / planner: tags only
            return "".join(
                f"## Problem {i + 1}\n"
                + (render_tag(k) if (k := self.tag_level(p)) is not None else "")
                + "\n"
                for i, p in enumerate(req.exam.problems)
            )
        tagged = self.tagged if self.tagged is not None else req.method == "roi"
        return "".join(
            self.solution(p, i, tagged, req.sample) for i, p in enumerate(req.exam.problems)
        )

    def generate(self, requests: list[Request]) -> list[Completion]:
        out = []
        for req in requests:
            full = self.text(req)
            starts = [m.start() for m in _WORD.finditer(full)]
            truncated = len(starts) > req.max_tokens
            if truncated:  # the hard stop: keep exactly max_tokens tokens
                cut = starts[req.max_tokens]
                full, starts = full[:cut], starts[: req.max_tokens]
            out.append(Completion(full, tuple(starts), truncated))
        return out
