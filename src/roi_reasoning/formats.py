"""Prompt templates per method, rendered as chat messages, and the level tag.

Methods: ``roi`` (budget, level meanings, tag and NA rules), ``base`` (plain step-by-step),
``budget`` (states B, allows NA, no tags), ``plan-and-solve``, ``least-to-most``, ``tags-only``
(first pass of Greedy Knapsack and the planner: tags, no solving). Every format asks for a
``## Problem i`` header per problem so the parser can segment the response.

Run example: ``python -c "from roi_reasoning.formats import render_prompt; help(render_prompt)"``
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam, Problem

Messages = list[dict[str, str]]

# Tolerant of whitespace, case and the dash; strict about k (digits only, range-checked on parse).
TAG_RE = re.compile(
    r"<\s*predicted_level\s*>\s*level\s*-?\s*(\d+)\s*<\s*/\s*predicted_level\s*>", re.IGNORECASE
)
# A problem header proper: `## Problem 3`, `**Problem 3:**`, `Problem 3 (2 points).` — not the
# rest of its line, which may already hold the solution or the answer.
_HEADER = (
    r"(?:#{1,6}[ \t]*|\*\*[ \t]*)?problem[ \t]+(\d+)\b"
    r"(?:[ \t]*\([^)\n]*\))?(?:[ \t]*[:.])?(?:[ \t]*\*\*)?"
)
HEADER_RE = re.compile(r"(?im)^[ \t]*" + _HEADER)  # at a line start (segment boundaries)
HEADER_AT = re.compile(_HEADER, re.IGNORECASE)  # .match(text, pos): a header exactly at pos

SYSTEM = (
    "You are a careful mathematician. Reason step by step and put each final answer in \\boxed{}."
)


def render_tag(level: int) -> str:
    return f"<predicted_level>Level-{level}</predicted_level>"


def _level(m: re.Match[str] | None, bounds: Sequence[int]) -> int | None:
    if m is None:
        return None
    k = int(m.group(1))
    return k if 0 <= k <= len(bounds) else None


def leading_tag_match(body: str) -> re.Match[str] | None:
    """The tag that opens ``body``, or None. It must come first: after optional whitespace and
    the problem's header, with nothing but whitespace between. A tag anywhere later was written
    after reasoning had begun, so it predicts nothing (docs/design.md §4)."""
    pos = len(body) - len(body.lstrip())
    header = HEADER_AT.match(body, pos)
    if header is not None:
        rest = body[header.end() :]
        pos = header.end() + len(rest) - len(rest.lstrip())
    return TAG_RE.match(body, pos)


def leading_tag(body: str, bounds: Sequence[int] = DEFAULT_LEVEL_BOUNDS) -> int | None:
    """A segment's predicted level: its leading tag's k, or None (no leading tag, k out of range)."""
    return _level(leading_tag_match(body), bounds)


def refusal(bounds: Sequence[int] = DEFAULT_LEVEL_BOUNDS) -> str:
    """The Level-3 refusal target: top level tag then an NA answer."""
    return f"{render_tag(len(bounds))} \\boxed{{NA}}"


def level_legend(bounds: Sequence[int]) -> str:
    lines = [f"- Level-{k}: at most {b} tokens" for k, b in enumerate(bounds)]
    lines.append(f"- Level-{len(bounds)}: not worth attempting within the budget")
    return "\n".join(lines)


def _points(p: Problem) -> str:
    pts = f"{p.points:g}"
    return f" ({pts} point{'s' if pts != '1' else ''})"


def problem_list(problems: Sequence[Problem]) -> str:
    return "\n\n".join(
        f"## Problem {i}{_points(p)}\n{p.question}" for i, p in enumerate(problems, 1)
    )


def _solve_rules(n: int, how: str) -> str:
    return (
        f"Answer the following {n} problem{'s' if n > 1 else ''} in order. For each problem, "
        f"write the header `## Problem i` (i = its number), {how}, and end with the final answer "
        "in \\boxed{}."
    )


def _base(exam: Exam, bounds: Sequence[int]) -> str:
    return _solve_rules(len(exam.problems), "reason step by step")


def _plan_and_solve(exam: Exam, bounds: Sequence[int]) -> str:
    how = (
        "first understand the problem and devise a plan to solve it, then carry out the plan "
        "and solve the problem step by step"
    )
    return _solve_rules(len(exam.problems), how)


def _least_to_most(exam: Exam, bounds: Sequence[int]) -> str:
    how = (
        "first break it down into simpler subproblems, then solve the subproblems one by one, "
        "each using the answers of the previous ones"
    )
    return _solve_rules(len(exam.problems), how)


def _budget(exam: Exam, bounds: Sequence[int]) -> str:
    return (
        _solve_rules(len(exam.problems), "reason step by step")
        + f"\nYou have a total budget of {exam.budget} generated tokens for your whole response; "
        "generation stops for good when it is spent, and an unfinished answer scores nothing. "
        "If a problem is not worth its cost, write \\boxed{NA} for it and move on."
    )


def _roi(exam: Exam, bounds: Sequence[int]) -> str:
    top = len(bounds)
    return (
        f"Answer the following {len(exam.problems)} problems in order under a total budget of "
        f"{exam.budget} generated tokens for your whole response. Generation stops for good when "
        "the budget is spent; unfinished answers score nothing.\n"
        "For each problem, write the header `## Problem i`, then predict the tokens your solution "
        "will take as a tag <predicted_level>Level-k</predicted_level>:\n"
        f"{level_legend(bounds)}\n"
        f"For Level-{top}, write {refusal(bounds)} and move on to the next problem. Otherwise "
        "solve the problem step by step and end with the final answer in \\boxed{}. An answer "
        "counts only if it is correct and its predicted level matches the tokens you used."
    )


def _tags_only(exam: Exam, bounds: Sequence[int]) -> str:
    return (
        f"Do not solve the following {len(exam.problems)} problems. For each one, write the "
        "header `## Problem i` and one tag <predicted_level>Level-k</predicted_level> that "
        "predicts how many tokens a step-by-step solution would take:\n"
        f"{level_legend(bounds)}\nWrite nothing else."
    )


TEMPLATES = {
    "roi": _roi,
    "base": _base,
    "budget": _budget,
    "plan-and-solve": _plan_and_solve,
    "least-to-most": _least_to_most,
    "tags-only": _tags_only,
}


def render_prompt(
    exam: Exam, method: str, bounds: Sequence[int] = DEFAULT_LEVEL_BOUNDS, system: bool = True
) -> Messages:
    """Chat messages for ``exam`` under ``method``; the policy applies its own chat template."""
    if method not in TEMPLATES:
        raise ValueError(f"unknown prompt format {method!r}; valid: {', '.join(TEMPLATES)}")
    user = TEMPLATES[method](exam, bounds) + "\n\n" + problem_list(exam.problems)
    messages = [{"role": "system", "content": SYSTEM}] if system else []
    return messages + [{"role": "user", "content": user}]
