"""The fast path's number rule: what it may call correct, what it must leave wrong, and why.

Run example: ``pytest tests/test_grading_numbers.py``

Each row carries what math-verify 0.9 alone (our worker, ``GradingPool._verify``) says about it,
checked below, because that is the reason for the row: math-verify's 6-place rounding calls
``0.333333`` and ``1/3`` equal, reads ``1 000`` as ``1*0`` and ``4 4/9`` as ``8/9``, so the fast
path decides every pair it reads exactly as two numbers (see ``grading.answer._numbers_match``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from roi_reasoning import cli
from roi_reasoning.grading import _fast_grade, fast_number, grade_many
from roi_reasoning.grading.pool import GradingPool

# (gold, pred, what math-verify 0.9 alone says): all equivalent, all must grade correct.
EQUIVALENT: list[tuple[str, str, bool]] = [
    # a decimal of >= 15 significant digits that is the fraction truncated, rounded, or printed
    # as a double (Python's repr): the five cases from other projects' suites come first
    ("0.3333333333333333", "1/3", True),
    ("1/3", "0.3333333333333333", True),
    ("\\frac{1}{12}", "0.0833333333333333", True),
    ("0.0833333333333333", "\\frac{1}{12}", True),
    ("\\frac{2}{3}", "0.6666666666666666", True),  # truncated
    ("\\frac{2}{3}", "0.6666666666666667", True),  # rounded
    ("\\frac{1}{7}", "0.14285714285714285", True),  # repr(1/7)
    ("\\frac{100}{3}", "33.333333333333336", True),  # repr(100/3): the same double, not 1 unit
    ("-\\frac{1}{3}", "-0.3333333333333333", True),
    # percents: a predicted % means /100 against a plain gold; the sign alone is dropped (MATH)
    ("0.1", "10\\%", True),
    ("0.5", "50\\%", True),
    ("\\frac{1}{4}", "25 \\%", True),
    ("\\frac{1}{3}", "33.333333333333336\\%", True),
    ("0.05", "5 percent", True),
    ("10", "10\\%", True),
    # SI / LaTeX digit groups, as "1,000" already is
    ("1 000", "1000", False),
    ("1000", "1 000", False),
    ("1000000", "1 000 000", False),
    ("1000", "1\\,000", False),
    ("1000", "1~000", False),
    ("12345.5", "12 345.5", False),
    ("\\$1 500", "1500", False),
    # mixed numbers: whole + proper fraction (latex2sympy's own reading of 4\frac49)
    ("40/9", "4 4/9", False),
    ("4 4/9", "40/9", False),
    ("\\frac{40}{9}", "4\\frac{4}{9}", True),
    ("-\\frac{5}{2}", "-2\\frac12", True),
    ("\\frac{7}{2}", "3 \\tfrac{1}{2}", True),
    ("4.5", "4 1/2", False),
]

# (gold, pred, what math-verify 0.9 alone says): none equivalent, all must grade wrong.
NOT_EQUIVALENT: list[tuple[str, str, bool]] = [
    # decimals that only approximate a non-terminating fraction: exact answers (MATH grader)
    ("1/3", "0.33", False),
    ("1/3", "0.333333", True),
    ("1/3", "0.3333334", True),
    ("1/3", "0.333333333333", True),  # 12 digits: many, yet still an approximation
    ("1/3", "0.33333333333333", True),  # 14 digits: below DBL_DIG
    ("1/3", "0.3333333333333334", True),  # 16 digits, but neither truncated nor rounded 1/3
    ("1/3", "0.3333333333333335", True),
    ("\\frac{1}{12}", "0.0833333333333334", True),  # rounded up where 1/12 rounds down
    ("\\frac{2}{3}", "0.6666666666666665", True),
    # a terminating value has exactly one decimal: anything else is another number
    ("0.3", "0.30000000000000004", True),
    ("1", "0.9999999999999999", False),
    ("0.3333333333333333", "0.33333333333333333", True),
    # percents
    ("10\\%", "0.1", True),  # a gold % asks for the percent number (MATH; the table's 44\%/0.44)
    ("0.1", "1\\%", False),
    ("0.1", "9.99999999\\%", False),
    ("1/3", "0.3333333333333333\\%", False),
    ("10", "0.1", False),
    # digit groups: only single spaces before 3-digit groups read as one number
    ("1 000", "0", True),  # math-verify reads "1 000" as 1*0
    ("1000", "1 001", False),
    ("1000", "100 0", False),  # not a digit grouping: left to math-verify
    ("12", "1 2", False),
    # mixed numbers
    ("16/9", "4 4/9", False),
    ("8/9", "4 4/9", True),  # math-verify reads "4 4/9" as 8/9
    ("4.444444", "4 4/9", False),
    ("40/9", "4.444444", True),
    ("40/9", "4 4/8", False),  # 4/8 is a fraction, 4 4/8 = 9/2
]


@pytest.fixture(scope="module")
def pool() -> Iterator[GradingPool]:
    with GradingPool(max_workers=2, timeout=10.0) as p:
        yield p


def test_math_verify_alone_verdicts_are_as_documented(pool: GradingPool) -> None:
    rows = EQUIVALENT + NOT_EQUIVALENT
    seen = [pool._verify(gold, pred, 10.0) for gold, pred, _ in rows]
    assert all(r.reason == "math-verify" for r in seen)
    off = [(g, p, mv) for (g, p, mv), r in zip(rows, seen, strict=True) if r.correct != mv]
    assert not off, off


def test_equivalent_numbers_grade_correct_with_workers() -> None:
    results = grade_many([(g, p) for g, p, _ in EQUIVALENT], timeout=10.0, workers=2)
    wrong = [(g, p, r) for (g, p, _), r in zip(EQUIVALENT, results, strict=True) if not r.correct]
    assert not wrong, wrong
    assert {r.reason for r in results} == {"exact-number"}


def test_non_equivalent_numbers_stay_wrong_with_workers() -> None:
    results = grade_many([(g, p) for g, p, _ in NOT_EQUIVALENT], timeout=10.0, workers=2)
    right = [(g, p, r) for (g, p, _), r in zip(NOT_EQUIVALENT, results, strict=True) if r.correct]
    assert not right, right
    # where math-verify alone would say correct, the fast path must have decided
    for (gold, pred, mv), r in zip(NOT_EQUIVALENT, results, strict=True):
        if mv:
            assert r.reason == "exact-number", (gold, pred, r)


def test_roi_grade_cli_on_both_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [(g, p, True) for g, p, _ in EQUIVALENT] + [(g, p, False) for g, p, _ in NOT_EQUIVALENT]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"gold": g, "pred": p}) + "\n" for g, p, _ in rows))
    assert cli.main(["grade", str(pairs), "--timeout", "10"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(o["gold"], o["pred"]) for o in out] == [(g, p) for g, p, _ in rows]
    assert [o["correct"] for o in out] == [e for *_, e in rows]


@pytest.mark.parametrize(
    "text, value",
    [
        ("1 000", Fraction(1000)),
        ("1 000 000", Fraction(10**6)),
        ("1\\,000", Fraction(1000)),
        ("1\u202f000", Fraction(1000)),  # narrow no-break space, the SI separator
        ("-12 345.25", Fraction(-49381, 4)),
        ("1 000 dollars", Fraction(1000)),
        ("1 2", None),  # not 3-digit groups: a list or a product, never guessed
        ("1 0000", None),
        ("1  000", None),
        ("4 4/9", None),  # mixed numbers: read by the grader only (see the table above)
        ("4 444/9", None),  # 4 + 444/9 is improper, 4444/9 a guess
        ("0.333 333", None),
    ],
)
def test_fast_number_digit_groups(text: str, value: Fraction | None) -> None:
    assert fast_number(text) == value


@pytest.mark.parametrize(
    "gold, pred",
    [("40/9", "4 4/9"), ("\\frac{5}{2}", "2\\frac12"), ("-\\frac{5}{2}", "-2 1/2")],
)
def test_mixed_numbers_decided_without_a_worker(gold: str, pred: str) -> None:
    r = _fast_grade(gold, pred)
    assert not isinstance(r, tuple) and r.correct and r.reason == "exact-number"


@pytest.mark.parametrize("pred", ["2 3/2", "2\\frac{3}{2}", "2\\frac{2}{2}", "2 0/3"])
def test_improper_mixed_forms_go_to_math_verify(pred: str) -> None:
    assert isinstance(_fast_grade("7/2", pred), tuple)  # not read as a number: math-verify's
