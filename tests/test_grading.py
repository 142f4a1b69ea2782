"""Tests for roi_reasoning.grading: extraction, NA, fast numbers, equivalence, the worker pool.

Run example: ``pytest tests/test_grading.py``
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import pytest
from grading_cases import CASES, GSM8K

from roi_reasoning.grading import (
    GRADER,
    MAX_ANSWER_CHARS,
    REASONS,
    Grade,
    extract_answer,
    fast_number,
    grade,
    grade_many,
    is_na,
)
from roi_reasoning.grading import pool as grading_pool
from roi_reasoning.grading.pool import GradingPool


@pytest.fixture(scope="module")
def pool() -> Iterator[GradingPool]:
    with GradingPool(timeout=5.0) as p:
        yield p


# ---------------------------------------------------------------- the real-answer table


def test_case_table_cites_real_gold_answers(data_dir: Path) -> None:
    data = data_dir  # conftest: ROI_DATA_DIR or shared/data above the repo, else an error
    answers: dict[str, dict[str, str]] = {}
    for rel in sorted({case[0] for case in CASES}):
        with open(data / rel, encoding="utf-8") as f:
            answers[rel] = {row["id"]: row["answer"] for row in map(json.loads, f)}
    for rel, row_id, gold, _, _ in CASES:
        assert answers[rel].get(row_id) == gold, f"{rel} {row_id}: gold is not that row's answer"


def test_case_table_grades(pool: GradingPool) -> None:
    assert len(CASES) >= 80
    assert any(e for *_, e in CASES) and any(not e for *_, e in CASES)
    results = pool.grade_many([(gold, pred) for _, _, gold, pred, _ in CASES])
    wrong = [
        (row_id, gold, pred, expected, r)
        for (_, row_id, gold, pred, expected), r in zip(CASES, results, strict=True)
        if r.correct != expected
    ]
    assert not wrong, "\n".join(map(repr, wrong))
    assert {r.reason for r in results} >= {"na", "exact-string", "exact-number", "math-verify"}


# ---------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    "text, value",
    [
        ("1,000", Fraction(1000)),
        ("1,234,567", Fraction(1234567)),
        ("025", Fraction(25)),
        ("\\$15,\\!000", Fraction(15000)),
        ("$5$", Fraction(5)),
        ("44\\%", Fraction(44)),
        ("7.2%", Fraction(36, 5)),
        ("5 dollars", Fraction(5)),
        ("12\\text{ cm}", Fraction(12)),
        ("440\\text{ cm}^2", Fraction(440)),
        ("144 \\mbox{ m}^3", Fraction(144)),
        ("25^\\circ", Fraction(25)),
        ("25^{\\circ}", Fraction(25)),
        ("69 degrees", Fraction(69)),
        ("\\dfrac{3}{7}", Fraction(3, 7)),
        ("\\tfrac{10}{3}", Fraction(10, 3)),
        ("\\frac12", Fraction(1, 2)),
        ("\\frac{270}7\\text{ degrees}", Fraction(270, 7)),
        ("-\\frac{1}{2}", Fraction(-1, 2)),
        ("\\frac{-1}{2}", Fraction(-1, 2)),
        ("{-\\frac{4}{25}}", Fraction(-4, 25)),
        ("3/4", Fraction(3, 4)),
        ("-0.125", Fraction(-1, 8)),
        (".35625", Fraction(57, 160)),
        ("0.1", Fraction(1, 10)),  # exact, not the float 0.1000000000000000055...
        ("5 apples", Fraction(5)),
        ("25 sq ft", Fraction(25)),
        ("65 \\text{ children tickets }", Fraction(65)),
        ("5 million", None),  # words that change the value are never units
        ("3 \\text{ dozen}", None),
        ("5 squared", None),
        ("9\\text{ a.m.}", None),
        ("2 ab", None),  # the product 2ab, not a unit
        ("12 m", None),
        ("\\left(5\\right)", None),  # a parenthesised number may be a 1-tuple
        ("1,2", None),
        ("1,0000", None),
        ("70, 110", None),
        ("2\\frac12", None),  # mixed number or product: never guess
        ("2 pi", None),
        ("5x", None),
        ("1e5", None),
        ("\\frac{1}{0}", None),
        ("\\sqrt{2}", None),
        ("9" * 5000, None),  # over int()'s digit limit: no exception
        ("", None),
    ],
)
def test_fast_number(text: str, value: Fraction | None) -> None:
    assert fast_number(text) == value


@pytest.mark.parametrize(
    "text, expected",
    [
        ("NA", True),
        ("na", True),
        (" N/A ", True),
        ("N.A.", True),
        ("NA.", True),
        ("\\text{NA}", True),
        ("\\mathrm{NA}", True),
        ("$\\text{ N / A }$", True),
        ("NaN", False),  # a (wrong) number-like answer, graded as such
        ("none", False),  # a legitimate answer to "which of these ..."
        ("", False),
        (None, False),
        ("NAB", False),
    ],
)
def test_is_na(text: str | None, expected: bool) -> None:
    assert is_na(text) is expected


def test_extract_answer() -> None:
    assert extract_answer("so \\boxed{1} then \\boxed{\\frac{1}{2}}.") == "\\frac{1}{2}"
    assert extract_answer("\\boxed{\\boxed{18}}") == "18"
    assert extract_answer("\\boxed{\\boxed{1}+1}") == "\\boxed{1}+1"
    assert extract_answer("  42 ") == "42"
    # A box that never closes is no answer (the model was cut or broke the box): nothing extracted.
    assert extract_answer("cut off \\boxed{4") == ""
    assert extract_answer("\\boxed{\\frac{1}{2}") == ""
    assert extract_answer("\\boxed{3} then \\boxed{4") == "3"  # the last closed box, as parsing
    assert extract_answer("\\boxed{ \\boxed{ \\fbox{7} } }") == "7"
    assert extract_answer("\\boxed{\\{1\\}}") == "\\{1\\}"  # escaped braces are no braces


def test_fast_path_reasons_need_no_worker() -> None:
    with GradingPool(max_workers=1) as p:
        assert p.grade("5", "NA") == Grade(False, "na")
        assert p.grade("5", "\\boxed{}") == Grade(False, "empty")
        assert p.grade("5", "1" * (MAX_ANSWER_CHARS + 1)) == Grade(False, "too-long")
        assert p.grade("\\frac{1}{2}", "\\dfrac{1}{2}") == Grade(True, "exact-string")
        assert p.grade("1000", "100") == Grade(False, "exact-number")
        assert p.stats["spawned"] == 0
        assert p.stats["na"] == p.stats["empty"] == p.stats["too-long"] == 1
    assert GRADER.startswith("roi-fast+math-verify==0.9")
    with pytest.raises(ValueError, match="timeout"):
        grade("1", "x", timeout=0)


# ---------------------------------------------------------------- the worker pool


def test_grade_many_keeps_order_and_module_level_api_works() -> None:
    pairs = [("\\frac{1}{2}", "\\sqrt{1/4}"), ("7", "7"), ("x+1", "1+x"), ("(1,4)", "(4,1)")] * 5
    results = grade_many(pairs, timeout=5.0, workers=2)
    assert [r.correct for r in results] == [True, True, True, False] * 5
    reasons = [r.reason for r in results[:4]]
    assert reasons == ["math-verify", "exact-string", "math-verify", "math-verify"]
    assert grade("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt2}").correct


def test_grading_from_a_non_main_thread() -> None:
    out: list[Grade] = []
    with GradingPool(max_workers=1) as p:  # fresh: the zygote starts from the thread too
        thread = threading.Thread(target=lambda: out.append(p.grade("x^2+2x", "x(x+2)")))
        thread.start()
        thread.join(60)
    assert out == [Grade(True, "math-verify")]


def test_soft_timeout_then_the_pool_keeps_grading() -> None:
    with GradingPool(max_workers=1) as p:
        r = p.grade("5", "9^{9^{9}}", timeout=0.5)  # sympy grinds in Python: SIGALRM stops it
        assert r == Grade(False, "timeout")
        assert p.grade("\\frac{1}{2}", "\\sqrt{1/4}", timeout=5) == Grade(True, "math-verify")
        assert p.stats["timeout"] == 1 and p.stats["killed"] == 0 and p.stats["spawned"] == 2


@pytest.fixture
def forked_pids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pids of the workers the zygote forks during the test, in order."""
    pids: list[int] = []
    real_fork = grading_pool._Zygote.fork

    def fork(self: grading_pool._Zygote) -> grading_pool._Worker:
        worker = real_fork(self)
        pids.append(worker.pid)
        return worker

    monkeypatch.setattr(grading_pool._Zygote, "fork", fork)
    return pids


def _signal_first_worker(monkeypatch: pytest.MonkeyPatch, signum: int) -> None:
    real_fork = grading_pool._Zygote.fork
    done: list[bool] = []

    def fork(self: grading_pool._Zygote) -> grading_pool._Worker:
        worker = real_fork(self)
        if not done:
            done.append(True)
            os.kill(worker.pid, signum)
        return worker

    monkeypatch.setattr(grading_pool._Zygote, "fork", fork)


def test_stuck_worker_is_killed_and_the_pool_keeps_grading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _signal_first_worker(monkeypatch, signal.SIGSTOP)  # stuck like C code: deaf to SIGALRM
    with GradingPool(max_workers=1) as p:
        p.start()
        t0 = time.perf_counter()
        r = p.grade("\\frac{1}{2}", "\\sqrt{1/4}", timeout=0.5)
        assert time.perf_counter() - t0 < 0.5 + 1.0
        assert r == Grade(False, "timeout") and p.stats["killed"] == 1
        assert p.grade("\\frac{1}{2}", "\\sqrt{1/4}", timeout=5) == Grade(True, "math-verify")
        assert p.stats["spawned"] == 2


def test_crashed_worker_grades_error_and_the_pool_keeps_grading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _signal_first_worker(monkeypatch, signal.SIGKILL)  # a segfault or an OOM kill
    with GradingPool(max_workers=1) as p:
        assert p.grade("x+1", "1+x", timeout=5) == Grade(False, "error")
        assert p.grade("x+1", "1+x", timeout=5) == Grade(True, "math-verify")
    with pytest.raises(RuntimeError, match="closed"):
        p.grade("x+1", "1+x")


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has stopped
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_close_stops_the_zygote_and_a_running_worker(forked_pids: list[int]) -> None:
    p = GradingPool(max_workers=1)
    p.start()
    out: list[Grade] = []
    thread = threading.Thread(target=lambda: out.append(p.grade("5", "9^{9^{9}}", timeout=60)))
    thread.start()
    while not forked_pids:
        time.sleep(0.01)
    pids = [forked_pids[0], p._zygote.proc.pid]
    assert all(map(_running, pids))
    p.close()
    thread.join(10)
    assert out == [Grade(False, "error")]  # closed under a running case: never hangs
    deadline = time.monotonic() + 5
    while any(map(_running, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_running, pids))


def test_real_verdicts_do_not_depend_on_order_or_pool_size() -> None:
    pairs = [(c[2], c[3]) for c in CASES if c[0] != GSM8K][::2]
    with GradingPool(max_workers=1) as one, GradingPool(max_workers=2) as two:
        forward = one.grade_many(pairs)
        backward = two.grade_many(pairs[::-1])[::-1]
    assert forward == backward


def _run_python(code: str, tmp_path: Path, name: str = "script.py") -> str:
    script = tmp_path / name
    script.write_text(textwrap.dedent(code))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_main_process_never_imports_sympy(tmp_path: Path) -> None:
    out = _run_python(
        """
        import sys
        from roi_reasoning.grading import grade
        assert grade("\\\\frac{\\\\sqrt{2}}{2}", "\\\\frac{1}{\\\\sqrt2}").reason == "math-verify"
        assert not {"sympy", "math_verify", "latex2sympy2_extended"} & set(sys.modules)
        print("clean")
        """,
        tmp_path,
    )
    assert out.split() == ["clean"]


def test_unguarded_caller_script_runs_once(tmp_path: Path) -> None:
    # multiprocessing's forkserver/spawn would re-run this script's top level; our zygote does not.
    out = _run_python(
        'from roi_reasoning.grading import grade\nprint("ran", grade("x+1", "1+x").reason)\n',
        tmp_path,
    )
    assert out.splitlines() == ["ran math-verify"]


# ---------------------------------------------------------------- adversarial strings


def _fuzz(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    tokens = ["\\frac", "{", "}", "^", "_", "\\sqrt", "\\pi", "x", "(", ")", "[", "]", ",", "!"]
    tokens += ["\\cup", "\\infty", "\\begin{pmatrix}", "\\end{pmatrix}", "\\\\", "&", "=", "+"]
    tokens += ["-", "\\cdot", "\\text{", "\\left(", "\\right)", "\\boxed{", "$", "%", "\\%", "e"]
    tokens += [str(rng.randrange(10**6)) for _ in range(8)]

    def soup(k: int) -> str:
        return " ".join(rng.choice(tokens) for _ in range(k))

    def digits(k: int) -> str:
        return str(rng.randrange(1, 10)) + "".join(rng.choice("0123456789") for _ in range(k))

    kinds = [
        (4, lambda: f"{rng.randrange(2, 10)}^{{{rng.randrange(2, 10)}^{{{digits(4)}}}}}"),
        (2, lambda: f"10^{{10^{{{rng.randrange(6, 12)}}}}}!"),
        (3, lambda: "(" * 3 + str(rng.randrange(5, 10)) + "!)!" * 3),
        (40, lambda: "{" * (d := rng.randrange(600, 4000)) + "1" + "}" * d),
        (12, lambda: "{" * (d := rng.randrange(20, 60)) + soup(3) + "}" * d),
        (40, lambda: soup(100_000 // 4)[:100_000]),
        (400, lambda: soup(rng.randrange(1, 40))),
        (150, lambda: soup(rng.randrange(1, 20)).replace("}", "", rng.randrange(3))),
        (150, lambda: f"\\frac{{{digits(rng.randrange(1, 480))}}}{{{digits(rng.randrange(480))}}}"),
        (100, lambda: f"The answer is \\boxed{{{soup(rng.randrange(1, 12))}}} or \\boxed{{NA}}"),
        (99, lambda: rng.choice(["", "NA", "\\boxed{}", "\\boxed{", "}{", "$$", "\\", "%"])),
    ]
    weights = [w for w, _ in kinds]
    makers = rng.choices([m for _, m in kinds], weights=weights, k=n)
    return [make() for make in makers]


def _fuzz_run(n: int, seed: int, timeout: float) -> None:
    preds = _fuzz(n, seed)
    golds = ["5", "\\frac{1}{2}", "(1,4)", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "26\\pi"]
    with GradingPool(timeout=timeout) as p:
        p.start()  # the one-off zygote start (imports sympy) is not a grading call

        def timed(i: int) -> tuple[float, Grade]:
            t0 = time.perf_counter()
            result = p.grade(golds[i % len(golds)], preds[i])
            return time.perf_counter() - t0, result

        with ThreadPoolExecutor(p.max_workers) as ex:  # as grade_many does, but timed per call
            timed_results = list(ex.map(timed, range(n)))
        slowest = max(t for t, _ in timed_results)
        assert slowest <= timeout + 1.0, f"a call took {slowest:.2f} s"
        reasons = {r.reason for _, r in timed_results}
        assert reasons <= set(REASONS)
        assert {"too-long", "math-verify", "timeout"} <= reasons
        # grade_many on a slice: same fast-path verdicts in the same order (math-verify verdicts on
        # nonsense may depend on a worker's history through sympy's caches, see the module doc)
        many = p.grade_many([(golds[i % len(golds)], preds[i]) for i in range(100)])
        assert {r.reason for r in many} <= set(REASONS)
        fast = {"na", "empty", "too-long", "exact-string", "exact-number"}
        for (_, one), other in zip(timed_results[:100], many, strict=True):
            if one.reason in fast or other.reason in fast:
                assert one == other


def test_fuzzed_strings_return_within_timeout() -> None:
    _fuzz_run(1000, seed=20260, timeout=1.0)


@pytest.mark.slow
def test_fuzzed_strings_return_within_timeout_big() -> None:
    _fuzz_run(10_000, seed=7, timeout=1.0)
