"""PNG figures for ``roi report --plots``: Score vs budget, tokens per position, confusion, and
the RARL learning curve (``plot_curve``: train and validation exam reward per optimizer step,
and the hardest tier's validation skip rate and the zero-variance groups when logged).

matplotlib is optional (``pip install roi-reasoning[plots]``) and imported only when a figure is
drawn (``_matplotlib``). Figures are drawn on the Agg canvas through matplotlib's object API, so no
pyplot state is touched (nothing to close, no display needed, the caller's backend untouched).

Run example: ``roi report runs/demo/eval/base runs/demo/eval/mft --plots``
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from roi_reasoning.data import read_records
from roi_reasoning.errors import DataError
from roi_reasoning.report.curve import curve_png_name
from roi_reasoning.report.data import (
    Entry,
    collect_entries,
    kind_key,
    level_names,
    ordered_labels,
    summed_confusion,
    unique_name,
)
from roi_reasoning.report.sections import column_title, kind_title


def _matplotlib() -> tuple[Any, Any]:
    """``(Figure, FigureCanvasAgg)``, or a ``MissingExtra`` that says how to install them."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        from roi_reasoning.errors import MissingExtra

        raise MissingExtra("plots (matplotlib)", "plots") from err
    return Figure, FigureCanvasAgg


def _save(fig: Any, canvas_cls: Any, path: Path) -> Path:
    """Write the PNG through a temporary file + rename: a full disk or a kill leaves the old
    plot or none, never a truncated one."""
    canvas_cls(fig)  # attaches the Agg canvas to the figure
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        fig.clear()  # free the artists now; the figure is not registered with pyplot
    return path


def _kinds(entries: Sequence[Entry]) -> list[str]:
    return sorted({e.column[0] for e in entries}, key=kind_key)


def _score_vs_budget(entries: Sequence[Entry], mpl: tuple[Any, Any], path: Path) -> Path:
    figure_cls, canvas_cls = mpl
    kinds, labels = _kinds(entries), ordered_labels(entries)
    fig = figure_cls(figsize=(4.2 * len(kinds), 3.4))
    axes = fig.subplots(1, len(kinds), squeeze=False, sharey=True)[0]
    for ax, kind in zip(axes, kinds, strict=True):
        for j, label in enumerate(labels):
            mine = sorted(
                (e for e in entries if e.label == label and e.column[0] == kind),
                key=lambda e: e.column[1],
            )
            if not mine:
                continue
            # dodge methods sideways (multiplicatively: the x axis is log2) so CIs stay apart
            dodge = 2 ** (0.04 * (j - (len(labels) - 1) / 2))
            x = [e.column[1] * dodge for e in mine]
            y, below, above = [], [], []
            for e in mine:
                s = e.cell["score"]
                mean = float("nan") if s.get("mean") is None else float(s["mean"])
                y.append(mean)
                below.append(0.0 if s.get("lo") is None else max(0.0, mean - s["lo"]))
                above.append(0.0 if s.get("hi") is None else max(0.0, s["hi"] - mean))
            ax.errorbar(x, y, yerr=[below, above], marker="o", capsize=3, label=label)
        budgets = sorted({e.column[1] for e in entries if e.column[0] == kind})
        ax.set_xscale("log", base=2)
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
        ax.set_title(kind_title(kind))
        ax.set_xlabel("budget B (generated tokens)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Score (correct per exam, 95% CI)")
    axes[0].legend(fontsize="small")
    return _save(fig, canvas_cls, path)


def _tokens_per_position(entries: Sequence[Entry], mpl: tuple[Any, Any], path: Path) -> Path:
    """One panel per kind at that kind's largest budget; a bar group per position."""
    figure_cls, canvas_cls = mpl
    kinds = _kinds(entries)
    labels = ordered_labels(entries)
    fig = figure_cls(figsize=(4.2 * len(kinds), 3.4))
    axes = fig.subplots(1, len(kinds), squeeze=False, sharey=True)[0]
    width = 0.8 / max(1, len(labels))
    for ax, kind in zip(axes, kinds, strict=True):
        budget = max(e.column[1] for e in entries if e.column[0] == kind)
        n = 0
        for j, label in enumerate(labels):
            cell = next(
                (e.cell for e in entries if e.label == label and e.column == (kind, budget)), None
            )
            tokens = [
                float("nan") if t is None else t for t in (cell or {}).get("position_tokens") or []
            ]
            if not tokens:
                continue
            n = max(n, len(tokens))
            xs = [i + (j - (len(labels) - 1) / 2) * width for i in range(len(tokens))]
            ax.bar(xs, tokens, width=width, label=label)
        ax.set_xticks(range(n), [f"P{i + 1}" for i in range(n)])
        ax.set_title(column_title((kind, budget)))
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("mean generated tokens")
    axes[0].legend(fontsize="small")
    return _save(fig, canvas_cls, path)


def _confusion(entry_group: Sequence[Entry], label: str, mpl: tuple[Any, Any], path: Path) -> Path:
    figure_cls, canvas_cls = mpl
    total = summed_confusion(entry_group) or [[0]]
    names = level_names(entry_group[0].level_bounds, len(total))
    fig = figure_cls(figsize=(1.1 * len(total) + 2.0, 1.0 * len(total) + 1.5))
    ax = fig.subplots()
    image = ax.imshow(total, cmap="Blues")
    peak = max(map(max, total)) or 1
    for i, row in enumerate(total):
        for j, count in enumerate(row):
            colour = "white" if count > peak / 2 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=colour)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("actual level")
    ax.set_ylabel("predicted level")
    ax.set_title(f"Level confusion: {label}")
    fig.colorbar(image, ax=ax)
    return _save(fig, canvas_cls, path)


def _slug(label: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_.") or "method"
    slug = unique_name(base, taken, "_")
    taken.add(slug)
    return slug


def _budget_order(budget: Any) -> tuple[int, str]:
    return (len(str(budget)), str(budget))  # numeric order for digit strings


def _points(rows: Sequence[dict[str, Any]], value: Any) -> list[tuple[Any, Any]]:
    """(step, ``value(row)``) of the rows where both are present."""
    pts = [(r.get("step"), value(r)) for r in rows]
    return [(s, v) for s, v in pts if v is not None and s is not None]


def _by_budget(
    rows: Sequence[dict[str, Any]], key: str, name: Callable[[Any], str]
) -> dict[str, list[tuple[Any, Any]]]:
    """One series per budget ``b`` of the ``{budget: value}`` mapping ``key``, named ``name(b)``."""
    budgets = {b for r in rows for b in r.get(key) or {}}
    return {
        name(b): _points(rows, lambda r, b=b: (r.get(key) or {}).get(b))
        for b in sorted(budgets, key=_budget_order)
    }


def _curve_series(rows: Sequence[dict[str, Any]]) -> dict[str, list[tuple[Any, Any]]]:
    """Named (step, reward) series of ``curve.jsonl`` rows; points without a reward dropped."""
    return {
        "train (sampled)": _points(rows, lambda r: r.get("train_reward")),
        "validation (greedy)": _points(rows, lambda r: r.get("val_reward")),
        **_by_budget(rows, "val_reward_by_budget", lambda b: f"validation B={b}"),
    }


def _share_series(rows: Sequence[dict[str, Any]]) -> dict[str, list[tuple[Any, Any]]]:
    """Named (step, share in [0, 1]) series: the hardest tier's validation skip rate per budget
    and the train groups with zero reward variance; empty for curves that logged neither."""
    tier = next((r["hardest_tier"] for r in rows if r.get("hardest_tier")), "hardest tier")
    series = _by_budget(
        rows, "val_skip_hardest_by_budget", lambda b: f"{tier} skipped (validation), B={b}"
    )
    series["zero-variance groups (train)"] = _points(rows, lambda r: r.get("frac_zero_std"))
    return {k: v for k, v in series.items() if v}


def _draw(ax: Any, series: dict[str, list[tuple[Any, Any]]], dashed: str) -> None:
    """One line per non-empty series; names starting with ``dashed`` are dashed."""
    for name, points in series.items():
        if points:
            style = "--" if name.startswith(dashed) else "-"
            ax.plot(*zip(*points, strict=True), style, marker="o", markersize=3, label=name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def plot_curve(curve_jsonl: str | os.PathLike[str], png: str | os.PathLike[str]) -> Path:
    """An RARL ``curve.jsonl`` (rows: ``training.curve``'s docstring) against the optimizer step:
    train and validation exam reward (overall and per budget) on top; below, when the file has
    them, the hardest tier's validation skip rate per budget and the share of train groups with
    zero reward variance (Dr. GRPO learns nothing from those)."""
    figure_cls, canvas_cls = _matplotlib()
    rows = read_records(curve_jsonl)
    if not rows:
        raise DataError(curve_jsonl, None, "no learning-curve rows (written by `roi rarl train`)")
    shares = _share_series(rows)
    fig = figure_cls(figsize=(6, 6.4 if shares else 4))
    axes = fig.subplots(2 if shares else 1, 1, squeeze=False, sharex=True)[:, 0]
    _draw(axes[0], _curve_series(rows), "validation B")
    axes[0].set_ylabel("exam reward (points per exam)")
    axes[0].set_title("RARL learning curve")
    if shares:
        _draw(axes[1], shares, "zero-variance")
        axes[1].set_ylim(-0.05, 1.05)
        axes[1].set_ylabel("share")
    axes[-1].set_xlabel("optimizer step")
    out = Path(png)
    out.parent.mkdir(parents=True, exist_ok=True)
    return _save(fig, canvas_cls, out)


def write_plots(
    results: list[dict[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    curves: Sequence[str | os.PathLike[str]] = (),
) -> list[Path]:
    """Write ``score_vs_budget.png``, ``tokens_per_position.png``, ``confusion_<method>.png``
    (for methods that write level tags) and ``learning_curve_<k>.png`` per RARL ``curve.jsonl``
    in ``curves`` into ``out_dir``; return the written paths."""
    mpl = _matplotlib()
    entries = collect_entries(results)
    out = Path(out_dir)
    if curves or entries:
        out.mkdir(parents=True, exist_ok=True)
    written = []
    if entries:
        written += [
            _score_vs_budget(entries, mpl, out / "score_vs_budget.png"),
            _tokens_per_position(entries, mpl, out / "tokens_per_position.png"),
        ]
    taken: set[str] = set()
    for label in ordered_labels(entries):
        mine = [e for e in entries if e.label == label]
        total = summed_confusion(mine)
        if total is None or not any(map(any, total)):
            continue  # no level tags: nothing to plot
        written.append(_confusion(mine, label, mpl, out / f"confusion_{_slug(label, taken)}.png"))
    return written + [plot_curve(c, out / curve_png_name(i)) for i, c in enumerate(curves)]
