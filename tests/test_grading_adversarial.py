"""Adversarial answers: bounded extraction gives the right result for every class of input.

Run example: ``pytest tests/test_grading_adversarial.py``

One test per class (deep nested boxes, millions of ``$``, huge numbers, long ``\\frac`` chains,
unbalanced braces) asserts the *result*; how fast those calls return is measured in
``bench/grading.py`` (slowest line vs the timeout), never asserted here. A box that never closes
is no answer, through ``grade`` and through ``roi grade``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from roi_reasoning import cli
from roi_reasoning.grading import (
    MAX_ANSWER_CHARS,
    MAX_INPUT_CHARS,
    Grade,
    boxed_spans,
    extract_answer,
    grade,
    is_na,
)
from roi_reasoning.grading.pool import GradingPool

DEPTH = 10_000  # the 80 kB case: 42 s in the main process before the linear unwrap


@pytest.fixture(scope="module")
def pool() -> Iterator[GradingPool]:
    with GradingPool(max_workers=2, timeout=10.0) as p:
        yield p


def test_deep_nested_boxes(pool: GradingPool) -> None:
    nested = "\\boxed{" * DEPTH + "1" + "}" * DEPTH
    assert extract_answer(nested) == "1"
    assert pool.grade("1", nested) == Grade(True, "exact-string")
    assert pool.grade("2", nested) == Grade(False, "exact-number")
    spaced = "\\boxed{ " * DEPTH + "x+1" + " }" * DEPTH
    assert extract_answer(spaced) == "x+1"
    assert pool.grade("1+x", "The answer is " + spaced).correct  # unwrapped, then math-verify
    # the innermost box holds more than the box: "\boxed{\boxed{1}+1}" unwraps one level only
    assert extract_answer("\\boxed{" * DEPTH + "1}+1" + "}" * (DEPTH - 1)) == "\\boxed{1}+1"
    unclosed = "\\boxed{" * DEPTH + "1"
    assert extract_answer(unclosed) == ""
    assert pool.grade("1", unclosed) == Grade(False, "empty")
    assert boxed_spans(unclosed) == ([], True)


def test_millions_of_dollar_signs(pool: GradingPool) -> None:
    assert pool.grade("5", "$" * 2_000_000) == Grade(False, "too-long")  # over MAX_INPUT_CHARS
    assert not is_na("$" * 2_000_000)
    prose = "$" * (MAX_INPUT_CHARS - len("\\boxed{5}")) + "\\boxed{5}"  # at the cap: still read
    assert pool.grade("5", prose) == Grade(True, "exact-string")
    wrapped = "\\boxed{" + "$" * 400 + "5" + "$" * 400 + "}"  # $$...$$5$$...$$ is 5
    assert pool.grade("5", wrapped) == Grade(True, "exact-string")
    assert pool.grade("6", wrapped) == Grade(False, "exact-number")
    too_many = "\\boxed{" + "$" * MAX_ANSWER_CHARS + "5" + "$" * MAX_ANSWER_CHARS + "}"
    assert pool.grade("5", too_many) == Grade(False, "too-long")  # capped before any unwrap
    assert pool.grade("5", "$" * 999_999) == Grade(False, "too-long")  # no box: a bare answer


def test_huge_numbers(pool: GradingPool) -> None:
    googolplexish = "1" + "0" * 100_000  # 10**100000 written out
    assert pool.grade("10^{100000}", googolplexish) == Grade(False, "too-long")
    assert pool.grade("10^{100000}", f"\\boxed{{{googolplexish}}}") == Grade(False, "too-long")
    nines = "9" * 999  # under the answer cap: exact integers, no sympy
    assert pool.grade(nines, f"\\boxed{{{nines}}}") == Grade(True, "exact-string")
    assert pool.grade(nines, "9" * 998 + "8") == Grade(False, "exact-number")
    long_decimal = "9" * 500 + "." + "9" * 400  # 900 digits: within 10^-400 of 10^500, not it
    assert pool.grade("1" + "0" * 500, long_decimal) == Grade(False, "exact-number")
    assert pool.grade("10^{100}", "1" + "0" * 100) == Grade(True, "math-verify")
    tower = pool.grade("10^{10^{10}}", "1" + "0" * 900, timeout=1.0)
    assert not tower.correct and tower.reason in ("math-verify", "timeout", "error")


def test_long_frac_chains(pool: GradingPool) -> None:
    chain = "\\frac{1}{" * 5000 + "2" + "}" * 5000  # 1/(1/(...(2))) = 2, 50 kB
    assert extract_answer(f"\\boxed{{{chain}}}") == chain
    assert pool.grade("2", chain) == Grade(False, "too-long")
    assert pool.grade("2", "\\frac12" * 50_000) == Grade(False, "too-long")
    short = "\\frac{1}{" * 6 + "2" + "}" * 6  # under the cap: math-verify evaluates it
    assert pool.grade("2", f"\\boxed{{{short}}}") == Grade(True, "math-verify")
    assert pool.grade("\\frac{1}{2}", f"\\boxed{{{short}}}") == Grade(False, "math-verify")


def test_unbalanced_braces(pool: GradingPool) -> None:
    n = 500_000
    assert pool.grade("5", "{" * n + "\\boxed{5}") == Grade(True, "exact-string")
    assert pool.grade("5", "}" * n + "\\boxed{5}") == Grade(True, "exact-string")
    assert pool.grade("5", "\\boxed{5}" + "{" * n) == Grade(True, "exact-string")
    assert pool.grade("5", "\\boxed{5}" + "}" * n) == Grade(True, "exact-string")
    assert pool.grade("5", "\\boxed{" + "{" * n + "5}") == Grade(False, "empty")  # never closes
    escaped = "\\boxed{" + "\\}" * (n // 2)  # escaped braces: the box never closes
    assert pool.grade("5", escaped) == Grade(False, "empty")
    assert pool.grade("5", "\\boxed{}" * (n // 8) + "\\boxed{5}") == Grade(True, "exact-string")
    assert pool.grade("5", "\\boxed " * (n // 7) + "\\boxed{5}") == Grade(True, "exact-string")
    assert pool.grade("5", "\\" * (MAX_INPUT_CHARS + 1)) == Grade(False, "too-long")
    assert pool.grade("{" * 3 + "5" + "}" * 3, "5") == Grade(True, "exact-number")


def test_unclosed_box_is_no_answer(pool: GradingPool) -> None:
    assert extract_answer("\\boxed{\\frac{1}{2}") == ""
    assert pool.grade("\\frac{1}{2}", "\\boxed{\\frac{1}{2}") == Grade(False, "empty")
    assert grade("\\frac{1}{2}", "so the answer is \\boxed{\\frac{1}{2}") == Grade(False, "empty")
    # a closed box before the unclosed one is the answer (as parsing.py reads an uncut segment)
    assert pool.grade("3", "\\boxed{3} and then \\boxed{\\frac{1}{2}").correct
    assert pool.grade("\\frac{1}{2}", "\\boxed{3} and then \\boxed{\\frac{1}{2}").reason == (
        "exact-number"
    )


def test_roi_grade_cli_unclosed_box_and_adversarial_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        ("\\frac{1}{2}", "\\boxed{\\frac{1}{2}", False, "empty"),
        ("\\frac{1}{2}", "\\fbox{\\frac{1}{2}", False, "empty"),
        ("\\frac{1}{2}", "\\boxed{\\frac{1}{2}}", True, "exact-string"),
        ("1", "\\boxed{" * DEPTH + "1" + "}" * DEPTH, True, "exact-string"),
        ("5", "$" * 2_000_000, False, "too-long"),
        ("5", "{" * 100_000 + "\\boxed{5}", True, "exact-string"),
    ]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"gold": g, "pred": p}) + "\n" for g, p, *_ in rows))
    assert cli.main(["grade", str(pairs), "--timeout", "10"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(o["correct"], o["reason"]) for o in out] == [(c, r) for *_, c, r in rows]


def _reference_boxed_spans(text: str) -> tuple[list[tuple[int, int]], bool]:
    """The former character-by-character boxed_spans: the contract parsing.py relies on."""
    import re

    spans: list[tuple[int, int]] = []
    pos = 0
    while (m := re.compile(r"\\(?:boxed|fbox)\s*\{").search(text, pos)) is not None:
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "\\" and i + 1 < len(text):
                i += 2
                continue
            depth += (text[i] == "{") - (text[i] == "}")
            i += 1
        if depth:
            return spans, True
        spans.append((m.end(), i - 1))
        pos = i
    return spans, False


def test_boxed_spans_agrees_with_the_reference_scan() -> None:
    rng = random.Random(3)
    pieces = ["\\boxed{", "\\fbox {", "\\boxed", "{", "}", "\\{", "\\}", "\\\\", "\\", "x", " "]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 30)))
        assert boxed_spans(text) == _reference_boxed_spans(text), text
