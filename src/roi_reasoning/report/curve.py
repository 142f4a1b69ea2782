"""The RARL learning-curve section of ``roi report``: one summary line per ``curve.jsonl``
(``training.curve`` writes it) — first vs last validation reward overall and per budget, the hardest
tier's validation skip rate per budget, the train reward's spread (batch std, within-group std,
zero-variance groups) and the last KL when the file logged them — and the PNG it links
(``plots.plot_curve`` draws it).

Pure: no torch, transformers or matplotlib.

Run example: ``python -c "from roi_reasoning.report.curve import curve_summary as c; print(c('runs/demo/rarl/curve.jsonl'))"``
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roi_reasoning import runfolder
from roi_reasoning.data import read_records
from roi_reasoning.errors import DataError
from roi_reasoning.report.data import PathLike
from roi_reasoning.report.sections import md, num


def curve_png_name(index: int) -> str:
    """File name of the ``index``-th learning-curve PNG (plots.py writes it, the report links)."""
    return f"learning_curve_{index + 1}.png"


def _first_last(rows: Sequence[dict[str, Any]], value: Any) -> tuple[Any, Any] | None:
    """(first row, last row) whose ``value(row)`` is a number; None when no row has one."""
    kept = [r for r in rows if isinstance(value(r), int | float) and not isinstance(value(r), bool)]
    return (kept[0], kept[-1]) if kept else None


def _budgets(rows: Sequence[dict[str, Any]], key: str) -> list[Any]:
    """The budgets of the ``{budget: value}`` mappings under ``key``, numbers first, ascending."""
    return sorted(
        {b for r in rows for b in r.get(key) or {}},
        key=lambda b: (not str(b).isdigit(), int(b) if str(b).isdigit() else 0, str(b)),
    )


def load_curve(path: PathLike) -> list[dict[str, Any]]:
    """The rows of a ``curve.jsonl`` given to a report, read strictly; DataError when it has
    none or a row is not JSON."""
    rows = read_records(path)
    if not rows:
        raise DataError(path, None, "no learning-curve rows (written by `roi rarl train`)")
    return rows


def curve_summary(path: PathLike) -> str:
    """One line from an RARL ``curve.jsonl`` (rows: ``training.curve``'s docstring), each value at
    the first vs the last step that logged it: validation reward overall and per budget, the
    hardest tier's validation skip rate per budget, train reward, its std over the batch and
    within groups, the share of zero-variance groups, and the last KL. A value no row holds
    (older files lack all but the rewards) is left out."""
    rows = load_curve(path)

    def fmt(name: str, value: Any) -> str | None:
        ends = _first_last(rows, value)
        if ends is None:
            return None
        (first, last) = ends
        span = f"step {first.get('step')} → {last.get('step')}"
        return f"{name} {num(value(first))} → {num(value(last))} ({span})"

    def mapped(key: str, b: Any) -> Any:
        return lambda r: (r.get(key) or {}).get(b)

    parts = [fmt("validation reward", lambda r: r.get("val_reward"))]
    parts += [
        fmt(f"B={b}", mapped("val_reward_by_budget", b))
        for b in _budgets(rows, "val_reward_by_budget")
    ]
    tier = next((r["hardest_tier"] for r in rows if r.get("hardest_tier")), "hardest tier")
    skips = "val_skip_hardest_by_budget"
    parts += [fmt(f"{md(tier)} skip rate B={b}", mapped(skips, b)) for b in _budgets(rows, skips)]
    parts.append(fmt("train reward", lambda r: r.get("train_reward")))
    parts.append(fmt("train reward std", lambda r: r.get("train_reward_std")))
    parts.append(fmt("within-group std", lambda r: r.get("train_reward_group_std")))
    parts.append(fmt("zero-variance groups", lambda r: r.get("frac_zero_std")))
    kl = _first_last(rows, lambda r: r.get("kl"))
    if kl is not None:
        parts.append(f"KL {num(kl[1]['kl'], 4)} (step {kl[1].get('step')})")
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
    found = [p / runfolder.CURVE for p in places if (p / runfolder.CURVE).is_file()]
    return list(dict.fromkeys(found))
