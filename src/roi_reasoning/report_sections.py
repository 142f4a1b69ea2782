"""Table primitives of ``roi report`` and its oracle, budget-conditioning, paired-difference and
learning-curve sections (``report.render_report`` assembles them).

- Oracle: per paper x budget x method, Score beside the hindsight V* and the Bellman-optimal
  ex-ante V_bellman (``metrics.compute_cells``) and the method's gap to each.
- Budget conditioning: skip rate per tier and budget use, methods side by side per cell.
- Paired differences: Score of method A minus method B on the exams both answered (paired by
  exam id, read from each run's ``samples.jsonl``), 95 % percentile bootstrap CI.
- Learning curve: first vs last validation reward of an RARL ``curve.jsonl``, per budget.

Pure: no torch, transformers or matplotlib.

Run example: ``roi report runs/base runs/mft runs/mft+rarl --paired "roi (mft+rarl),roi (mft)"``
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roi_reasoning.data import (
    DEFAULT_TIERS,
    ConfigError,
    DataError,
    read_record_lines,
    read_records,
)
from roi_reasoning.exams import KINDS
from roi_reasoning.metrics import paired_diff
from roi_reasoning.records import ExamOutcome

DASH = "–"
SAMPLES_FILE = "samples.jsonl"
CURVE_FILE = "curve.jsonl"
RESAMPLES = 2000  # paired bootstrap resamples

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Entry:
    """One results cell with its row label (method, plus the run name when runs clash)."""

    label: str
    run: str
    cell: dict[str, Any]
    level_bounds: tuple[int, ...]

    @property
    def column(self) -> tuple[str, int]:
        return self.cell["kind"], self.cell["budget"]


# ---------------------------------------------------------------- primitives


def kind_key(kind: str) -> tuple[int, str]:
    """Paper kinds in the paper's column order; unknown kinds after, alphabetically."""
    return (KINDS.index(kind), "") if kind in KINDS else (len(KINDS), kind)


def column_key(column: tuple[str, int]) -> tuple[int, str, int]:
    return (*kind_key(column[0]), column[1])


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


def load_samples(path_or_run_dir: PathLike) -> list[ExamOutcome]:
    """The ExamOutcome records of a run's ``samples.jsonl`` (given the run directory, its
    ``results.json`` or the samples file); read-only; a bad record is a DataError naming
    file:line."""
    path = Path(path_or_run_dir)
    if path.is_dir():
        path = path / SAMPLES_FILE
    elif path.name != SAMPLES_FILE:
        path = path.parent / SAMPLES_FILE
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


def paired_rows(
    entries: Sequence[Entry],
    samples: dict[str, list[ExamOutcome]],
    pairs: Sequence[tuple[str, str]],
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per pair and per (kind, budget) both labels have: ``paired_diff`` of A − B plus
    "a", "b", "kind", "budget". ``samples`` maps run name -> that run's outcomes. An unknown
    label is a ConfigError that lists the valid ones."""
    labels = list(dict.fromkeys(e.label for e in entries))
    grid = {(e.label, e.column): e for e in entries}
    rows = []
    for a, b in pairs:
        for label in (a, b):
            if label not in labels:
                valid = ", ".join(repr(x) for x in labels)
                raise ConfigError("paired", f"unknown method label {label!r} (valid: {valid})")
        for column in sorted({e.column for e in entries}, key=column_key):
            if (a, column) not in grid or (b, column) not in grid:
                continue
            diff = paired_diff(
                _cell_outcomes(grid[(a, column)], samples),
                _cell_outcomes(grid[(b, column)], samples),
                seed=seed,
                n=RESAMPLES,
            )
            rows.append({"a": a, "b": b, "kind": column[0], "budget": column[1], **diff})
    return rows


def paired_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    header = ["A − B", "Paper", "Budget", "Paired exams", "Mean diff", "95% CI"]
    body = [
        [md(f"{r['a']} − {r['b']}"), md(r["kind"]), str(r["budget"]), str(r["n"])]
        + [num(r["mean"]), f"[{num(r['lo'])}, {num(r['hi'])}]"]
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
    "percentile bootstrap over the paired exams ({n} resamples, seed {seed})."
)


def extra_sections(
    entries: Sequence[Entry],
    samples: dict[str, list[ExamOutcome]] | None,
    pairs: Sequence[tuple[str, str]],
    seed: int,
) -> list[str]:
    """The oracle, budget-conditioning and (when ``pairs``) paired-difference sections;
    ``samples`` maps run name -> that run's outcomes."""
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


# ---------------------------------------------------------------- learning curve


def curve_png_name(index: int) -> str:
    """File name of the ``index``-th learning-curve PNG (plots.py writes it, the report links)."""
    return f"learning_curve_{index + 1}.png"


def _first_last(rows: Sequence[dict[str, Any]], value: Any) -> tuple[Any, Any] | None:
    """(first row, last row) whose ``value(row)`` is a number; None when no row has one."""
    kept = [r for r in rows if isinstance(value(r), int | float) and not isinstance(value(r), bool)]
    return (kept[0], kept[-1]) if kept else None


def curve_summary(path: PathLike) -> str:
    """One line: validation reward at the first vs the last validated step, overall and per
    budget, from an RARL ``curve.jsonl`` (rows {step, train_reward, val_reward,
    val_reward_by_budget})."""
    rows = read_records(path)
    if not rows:
        raise DataError(path, None, "no learning-curve rows (written by `roi rarl train`)")

    def fmt(name: str, value: Any) -> str | None:
        ends = _first_last(rows, value)
        if ends is None:
            return None
        (first, last) = ends
        span = f"step {first.get('step')} → {last.get('step')}"
        return f"{name} {num(value(first))} → {num(value(last))} ({span})"

    budgets = sorted(
        {b for r in rows for b in r.get("val_reward_by_budget") or {}},
        key=lambda b: (not str(b).isdigit(), int(b) if str(b).isdigit() else 0, str(b)),
    )
    parts = [fmt("validation reward", lambda r: r.get("val_reward"))]
    for b in budgets:
        parts.append(fmt(f"B={b}", lambda r, b=b: (r.get("val_reward_by_budget") or {}).get(b)))
    parts.append(fmt("train reward", lambda r: r.get("train_reward")))
    kept = [p for p in parts if p]
    return "; ".join(kept) + "." if kept else "no reward values."


def curve_section(curves: Sequence[PathLike], plot_dir: str | None) -> list[str]:
    """Summary lines (and the embedded PNGs when ``plot_dir`` is the plots folder, relative to
    the report) for each ``curve.jsonl``."""
    lines: list[str] = []
    for i, path in enumerate(curves):
        lines += [f"- `{md(path)}`: {curve_summary(path)}"]
        if plot_dir is not None:
            lines += ["", f"  ![RARL learning curve {i + 1}]({plot_dir}/{curve_png_name(i)})"]
    return lines


def find_curves(run_dirs: Sequence[PathLike], report_dir: PathLike) -> list[Path]:
    """``curve.jsonl`` files in the run directories and in the report's folder (and its
    ``rarl/`` subfolder, the demo's layout), each once, in that order."""
    places = [Path(p) if Path(p).is_dir() else Path(p).parent for p in run_dirs]
    places += [Path(report_dir), Path(report_dir) / "rarl"]
    found = [p / CURVE_FILE for p in places if (p / CURVE_FILE).is_file()]
    return list(dict.fromkeys(found))
