"""Table primitives of ``roi report`` and its oracle, budget-conditioning and paired-difference
sections (``report.writer.render_report`` assembles them; the learning curve is ``report.curve``).

- Oracle: per paper x budget x method, Score beside the hindsight V* and the Bellman-optimal
  ex-ante V_bellman (``metrics.compute_cells``) and the method's gap to each.
- Budget conditioning: skip rate per tier and budget use, methods side by side per cell.
- Paired differences: Score of method A minus method B on the exams both answered (paired by
  exam id, read from each run's ``samples.jsonl``), 95 % percentile bootstrap CI, per cell and
  pooled over the cells; B may be "the best of several methods in each cell" (``Pair``).
Pure: no torch, transformers or matplotlib.

Run example: ``roi report runs/base runs/mft runs/mft+rarl --paired "roi (mft+rarl),roi (mft)"``
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roi_reasoning import runfolder
from roi_reasoning.data import DEFAULT_TIERS, read_record_lines
from roi_reasoning.errors import ConfigError, DataError
from roi_reasoning.metrics import paired_diff
from roi_reasoning.records import ExamOutcome
from roi_reasoning.report.data import Entry, PathLike, column_key

DASH = "–"
RESAMPLES = 2000  # paired bootstrap resamples


def kind_title(kind: str) -> str:
    return f"{kind[:1].upper()}{kind[1:]}"


def column_title(column: tuple[str, int]) -> str:
    """``("easy", 512)`` -> ``"Easy/512"``."""
    kind, budget = column
    return f"{kind_title(kind)}/{budget}"


def num(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; None, NaN and booleans as a dash."""
    if value is None or isinstance(value, bool):
        return DASH
    try:
        number = float(value)
    except (TypeError, ValueError):
        return md(str(value))
    return DASH if math.isnan(number) else f"{number:.{digits}f}"


def md(text: Any) -> str:
    """Make text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], text_cols: int = 1) -> list[str]:
    """A Markdown table; columns after the first ``text_cols`` are right-aligned numbers."""
    align = ["---" if i < text_cols else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def by_cell(entries: Sequence[Entry]) -> list[Entry]:
    """Entries grouped by paper and budget (paper order), methods in label order inside."""
    labels = list(dict.fromkeys(e.label for e in entries))
    return sorted(entries, key=lambda e: (column_key(e.column), labels.index(e.label)))


def _cell_head(entry: Entry) -> list[str]:
    kind, budget = entry.column
    return [md(kind), str(budget), md(entry.label)]


# ---------------------------------------------------------------- oracle and conditioning

ORACLE_KEYS = ("oracle_value", "oracle_gap", "bellman_value", "bellman_gap", "bellman_share")
REFERENCE_KEYS = ("attempt_all_value", "all_but_hardest_value")


def oracle_table(entries: Sequence[Entry]) -> list[str]:
    """Score beside V* (hindsight) and V_bellman per cell and method; [] without oracles."""
    mine = [e for e in by_cell(entries) if any(e.cell.get(k) is not None for k in ORACLE_KEYS)]
    if not mine:
        return []
    header = ["Paper", "Budget", "Method", "Score", "V* (hindsight)", "Gap to V*"]
    header += ["V_bellman", "Gap to V_bellman", "Score / V_bellman"]
    header += ["Attempt all", "All but hardest"]
    rows = [
        _cell_head(e)
        + [num(e.cell["score"].get("mean"))]
        + [num(e.cell.get(k)) for k in ORACLE_KEYS + REFERENCE_KEYS]
        for e in mine
    ]
    return table(header, rows, text_cols=3)


def _tiers(entries: Sequence[Entry]) -> list[str]:
    found = {t for e in entries for t in (e.cell.get("skip_rate_by_tier") or {})}
    known = [t for t in DEFAULT_TIERS if t in found]  # the paper's tiers, easiest first
    return known + sorted(found - set(DEFAULT_TIERS))


def conditioning_table(entries: Sequence[Entry]) -> list[str]:
    """Skip rate per tier, overall skip rate and budget use per cell, methods side by side."""
    tiers = _tiers(entries)
    header = ["Paper", "Budget", "Method", *(f"Skip {t}" for t in tiers), "Skip rate"]
    header += ["Budget util.", "Mean tokens", "Score"]
    rows = []
    for e in by_cell(entries):
        c = e.cell
        by_tier = c.get("skip_rate_by_tier") or {}
        rows.append(
            _cell_head(e)
            + [num(by_tier.get(t)) for t in tiers]
            + [num(c.get("skip_rate")), num(c.get("budget_utilisation"))]
            + [num(c.get("tokens_mean"), 1), num(c["score"].get("mean"))]
        )
    return table(header, rows, text_cols=3)


# ---------------------------------------------------------------- paired differences

Pair = tuple[str, str | Sequence[str]]
"""A paired comparison ``(A, B)`` of report labels. B is one label, or several labels meaning
"the best of these in each cell": the one with the highest mean Score in that cell (the first
listed on a tie), e.g. ``("roi (mft+rarl)", ("roi-greedy-knapsack", "roi-planner"))``."""


def load_samples(path_or_run_dir: PathLike) -> list[ExamOutcome]:
    """The ExamOutcome records of a run's ``samples.jsonl`` (given the run directory, its
    ``results.json`` or the samples file); read-only; a bad record is a DataError naming
    file:line."""
    path = Path(path_or_run_dir)
    if path.is_dir():
        path = path / runfolder.SAMPLES
    elif path.name != runfolder.SAMPLES:
        path = path.parent / runfolder.SAMPLES
    if not path.is_file():
        raise DataError(path, None, "samples file not found (written by `roi eval`)")
    outcomes = []
    for line, row in read_record_lines(path):
        try:
            outcomes.append(ExamOutcome.from_dict(row))
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(path, line, f"not an exam outcome: {err!r}") from err
    return outcomes


def _cell_outcomes(entry: Entry, samples: dict[str, list[ExamOutcome]]) -> list[ExamOutcome]:
    method, (kind, budget) = entry.cell["method"], entry.column
    return [
        e
        for e in samples.get(entry.run, [])
        if (e.method, e.kind, e.budget) == (method, kind, budget)
    ]


def b_labels(b: str | Sequence[str]) -> tuple[str, ...]:
    """The label(s) of a pair's B side as a tuple (one label -> a 1-tuple)."""
    return (b,) if isinstance(b, str) else tuple(b)


def _check_pair(a: str, candidates: tuple[str, ...], labels: Sequence[str]) -> None:
    if not candidates:
        raise ConfigError("paired", f"no B label paired with {a!r}")
    for label in (a, *candidates):
        if label not in labels:
            valid = ", ".join(repr(x) for x in labels)
            raise ConfigError("paired", f"unknown method label {label!r} (valid: {valid})")


def _best_of(
    grid: dict[tuple[str, tuple[str, int]], Entry], labels: tuple[str, ...], column: Any
) -> Entry | None:
    """The entry of ``labels`` with the highest mean Score in ``column`` (first on a tie);
    None unless every one of them has the cell."""
    found = [e for label in labels if (e := grid.get((label, column))) is not None]
    if len(found) != len(labels):
        return None

    def mean(e: Entry) -> float:
        value = e.cell["score"].get("mean")
        return -math.inf if value is None or math.isnan(value) else float(value)

    return max(found, key=mean)  # max keeps the first of equal ones


def _exam_diffs(a: Sequence[ExamOutcome], b: Sequence[ExamOutcome]) -> list[float]:
    """Score A − B per exam id both hold, in A's order (``paired_diff``'s pairs)."""
    b_score = {e.exam_id: e.score for e in b}
    return [e.score - b_score[e.exam_id] for e in a if e.exam_id in b_score]


def pooled_diff(per_cell: Sequence[Sequence[float]], seed: int = 0) -> dict[str, Any]:
    """Mean of the per-cell mean differences, with a 95 % stratified percentile bootstrap
    (each resample redraws every cell's paired exams within that cell), and the number of
    paired exams; cells without pairs are left out; NaN when none has any."""
    groups = [np.asarray(g, dtype=float) for g in per_cell if len(g)]
    if not groups:
        return {"mean": math.nan, "lo": math.nan, "hi": math.nan, "n": 0}
    rng = np.random.default_rng(seed)
    draws = [g[rng.integers(0, g.size, size=(RESAMPLES, g.size))].mean(axis=1) for g in groups]
    lo, hi = np.percentile(np.mean(draws, axis=0), [2.5, 97.5])
    mean = float(np.mean([g.mean() for g in groups]))
    return {"mean": mean, "lo": float(lo), "hi": float(hi), "n": sum(g.size for g in groups)}


def paired_rows(
    entries: Sequence[Entry],
    samples: dict[str, list[ExamOutcome]],
    pairs: Sequence[Pair],
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Per pair (see ``Pair``): one row per (kind, budget) where A and every B label have a
    cell, with ``paired_diff`` of A − B, "a", "b" (the B label used there: the best one when B
    is several), "best_of" (B's labels when several, else None), "kind", "budget"; then, when
    the pair has two cells or more, a pooled row (kind and budget None, ``pooled_diff`` over its
    cells, "b" None when B is several). ``samples`` maps run name -> that run's outcomes. An
    unknown label is a ConfigError that lists the valid ones."""
    labels = list(dict.fromkeys(e.label for e in entries))
    grid = {(e.label, e.column): e for e in entries}
    columns = sorted({e.column for e in entries}, key=column_key)
    rows: list[dict[str, Any]] = []
    for a, b in pairs:
        candidates = b_labels(b)
        _check_pair(a, candidates, labels)
        best_of = candidates if len(candidates) > 1 else None
        per_cell = []
        for column in columns:
            chosen = _best_of(grid, candidates, column)
            if (a, column) not in grid or chosen is None:
                continue
            a_out = _cell_outcomes(grid[(a, column)], samples)
            b_out = _cell_outcomes(chosen, samples)
            diff = paired_diff(a_out, b_out, seed=seed, n=RESAMPLES)
            head = {"a": a, "b": chosen.label, "best_of": best_of}
            rows.append({**head, "kind": column[0], "budget": column[1], **diff})
            per_cell.append(_exam_diffs(a_out, b_out))
        if len(per_cell) > 1:
            head = {"a": a, "b": None if best_of else candidates[0], "best_of": best_of}
            rows.append({**head, "kind": None, "budget": None, **pooled_diff(per_cell, seed)})
    return rows


def _pair_name(row: dict[str, Any]) -> str:
    if not row.get("best_of"):
        return f"{row['a']} − {row['b']}"
    group = ", ".join(row["best_of"])
    if row["b"] is None:
        return f"{row['a']} − best of {group}"
    return f"{row['a']} − {row['b']} (best of {group})"


def paired_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    header = ["A − B", "Paper", "Budget", "Paired exams", "Mean diff", "95% CI"]
    body = [
        [md(_pair_name(r))]
        + ([md(r["kind"]), str(r["budget"])] if r["kind"] is not None else ["all cells", DASH])
        + [str(r["n"]), num(r["mean"]), f"[{num(r['lo'])}, {num(r['hi'])}]"]
        for r in rows
    ]
    return table(header, body, text_cols=3)


ORACLE_NOTE = (
    "V* = hindsight MCKP over each problem's profiled attempts (knows every cost and result: an "
    "upper bound); V_bellman = Bellman-optimal ex-ante policy over the same samples, in the "
    "exam's order at its budget; gap = (V − Score) / V; two fixed policies over the same samples "
    "for reference: attempt every problem in order, and attempt all but the hardest tier's "
    "(when V_bellman is well above both, allocation is a real decision); values averaged over "
    "the cell's exams."
)
CONDITIONING_NOTE = (
    "Per paper and budget, methods side by side: share of problems skipped (NA / skip tag) by "
    "tier, and budget use = generated tokens / B per exam."
)
PAIRED_NOTE = (
    "Score of A minus Score of B on the exams both answered (paired by exam id); 95% "
    'percentile bootstrap over the paired exams ({n} resamples, seed {seed}). "best of X, Y": '
    "B is, in each cell, whichever of X and Y has the higher mean Score there (named in the "
    'row). "all cells": the mean of the pair\'s per-cell mean differences, its CI from '
    "resampling every cell's paired exams within the cell."
)


def extra_sections(
    entries: Sequence[Entry],
    samples: dict[str, list[ExamOutcome]] | None,
    pairs: Sequence[Pair],
    seed: int,
) -> list[str]:
    """The oracle, budget-conditioning and (when ``pairs``, see ``Pair`` and ``paired_rows``)
    paired-difference sections; ``samples`` maps run name -> that run's outcomes."""
    lines: list[str] = []
    oracle = oracle_table(entries)
    if oracle:
        lines += ["## Exact OS-MCKP oracle", "", ORACLE_NOTE, "", *oracle, ""]
    lines += ["## Budget conditioning", "", CONDITIONING_NOTE, ""]
    lines += [*conditioning_table(entries), ""]
    if pairs:
        if samples is None:
            raise ValueError("paired differences need the runs' samples (samples=...)")
        rows = paired_rows(entries, samples, pairs, seed=seed)
        lines += ["## Paired differences", "", PAIRED_NOTE.format(n=RESAMPLES, seed=seed), ""]
        lines += [*paired_table(rows), ""] if rows else ["No cell is shared by a pair.", ""]
    return lines
