"""Grading: is a model's answer right? Extraction, NA, exact numbers, math-verify out of process.

Run example: ``python -c "from roi_reasoning.grading import grade; print(grade('x+1', '1+x'))"``

``grade(gold, pred)`` and ``grade_many(pairs)`` run in the caller's process. Each tries the fast
path first (:func:`roi_reasoning.grading.answer._fast_grade`: steps 1-6 of the decision order
in that module's docstring) and sends only what it leaves to math-verify in a worker process of
the lazily created module-level pool (:func:`roi_reasoning.grading.pool.default_pool`, closed at
exit). Model output is untrusted: sympy never runs in the caller's process.

The package's modules, imported one way only (no module imports one above it):

- :mod:`~roi_reasoning.grading.answer`: the pure answer code (boxes, NA, normalisation, exact
  numbers, :class:`Grade`, ``REASONS``, ``GRADER``). Caller's process; standard library only.
- :mod:`~roi_reasoning.grading.worker`: the zygote and worker loops that run math-verify, in
  their own processes. Standard library only (math-verify imported inside the worker).
- :mod:`~roi_reasoning.grading.pool`: :class:`~roi_reasoning.grading.pool.GradingPool`, the
  parent side of those processes. Caller's process; imports ``answer`` and ``worker``.
- this ``__init__``: ``grade``/``grade_many`` above the pool, and the names of ``answer``
  re-exported, so ``from roi_reasoning.grading import Grade, is_na, ...`` works.

Importing the package (or ``answer`` alone, e.g. for ``boxed_spans``) loads ``answer`` only: the
pool is imported the first time ``grade``/``grade_many`` runs (``tests/test_grading_layout.py``
checks both the import direction and that). The zygote imports ``worker`` through this package,
so it loads ``answer`` too, unused.
"""

from __future__ import annotations

from roi_reasoning.grading.answer import (
    DBL_DIG,
    GRADER,
    MAX_ANSWER_CHARS,
    MAX_INPUT_CHARS,
    REASONS,
    Grade,
    boxed_spans,
    extract_answer,
    fast_number,
    is_na,
)
from roi_reasoning.grading.answer import _fast_grade as _fast_grade  # tests and bench/grading.py

LAYER = "core"  # read by tests/test_layering.py

__all__ = [
    "DBL_DIG",
    "GRADER",
    "MAX_ANSWER_CHARS",
    "MAX_INPUT_CHARS",
    "REASONS",
    "Grade",
    "boxed_spans",
    "extract_answer",
    "fast_number",
    "grade",
    "grade_many",
    "is_na",
]


def grade(gold: str, pred: str, *, timeout: float = 5.0) -> Grade:
    """Grade ``pred`` (bare answer or whole response) against ``gold`` on the default pool."""
    from roi_reasoning.grading.pool import default_pool  # on first use: see the module docstring

    return default_pool().grade(gold, pred, timeout=timeout)


def grade_many(
    pairs: list[tuple[str, str]], *, timeout: float = 5.0, workers: int | None = None
) -> list[Grade]:
    """Grade (gold, pred) pairs on the default pool, in parallel, results in input order."""
    from roi_reasoning.grading.pool import default_pool  # on first use: see the module docstring

    return default_pool(workers).grade_many(pairs, timeout=timeout, workers=workers)
