"""Render one or more ``runs/<name>/results.json`` files (written by ``roi eval``) as Markdown.

Tables: Score with 95% bootstrap CI and Regret~ per method x paper kind x budget (the paper's
main table), the exact OS-MCKP oracle (hindsight V* and Bellman V beside every score, when
profiles exist), budget conditioning (skips by tier, budget use), paired differences A − B
with bootstrap CIs per cell and over all cells (from the runs' samples; B may be the best of
several methods in each cell), the RARL learning curve, per-position accuracy and tokens,
statuses, and level accuracy per cell and pooled with the confusion per method (the sections
beyond the main table live in ``report.sections``). Pure: no torch, transformers or matplotlib (PNGs
are ``roi_reasoning.report.plots``).

Run example: ``roi report runs/demo/eval/base runs/demo/eval/mft runs/demo/eval/mft+rarl``
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roi_reasoning import runfolder
from roi_reasoning.records import STATUSES, ExamOutcome
from roi_reasoning.report.curve import curve_section, find_curves, load_curve
from roi_reasoning.report.data import (
    Entry,
    collect_entries,
    column_key,
    kind_key,
    level_names,
    load_results,
    ordered_columns,
    ordered_labels,
    run_names,
    summed_confusion,
    validate_results,
)
from roi_reasoning.report.sections import (
    DASH,
    Pair,
    column_title,
    extra_sections,
    kind_title,
    load_samples,
)
from roi_reasoning.report.sections import md as _md
from roi_reasoning.report.sections import num as _num
from roi_reasoning.report.sections import table as _table
from roi_reasoning.runfolder import atomic_write_text

__all__ = [
    "Entry",
    "Pair",
    "column_key",
    "column_title",
    "kind_key",
    "kind_title",
    "load_results",
    "load_samples",
    "validate_results",
]

PathLike = str | os.PathLike[str]


# ---------------------------------------------------------------- formatting


def score_cell(cell: dict[str, Any]) -> str:
    score = cell["score"]
    ci = f"[{_num(score.get('lo'))}, {_num(score.get('hi'))}]"
    return f"{_num(score.get('mean'))} {ci} · R~ {_num(cell.get('regret_tilde'))}"


# ---------------------------------------------------------------- sections

LEVEL_NOTE = (
    "Level accuracy = share of the tagged problems whose segment finished (not skipped, not "
    "cut by the budget) with the predicted level equal to the actual one, per cell; Pooled = "
    "over all the method's cells, by counts (the summed confusion matrices below)."
)


def _provenance(results: Sequence[dict[str, Any]]) -> list[str]:
    lines = []
    for name, res in zip(run_names(results), results, strict=True):
        policy = res.get("policy")
        policy_name = policy.get("name") if isinstance(policy, dict) else policy
        parts = [
            f"policy `{policy_name or DASH}`",
            f"grader `{res.get('grader') or DASH}`",
            f"git `{res.get('git') or DASH}`",
        ]
        if res.get("created"):
            parts.append(f"created {res['created']}")
        if res.get("level_bounds"):
            parts.append(f"level bounds {list(res['level_bounds'])} tokens")
        lines.append(f"- **{_md(name)}**: " + ", ".join(parts))
    for accounting in dict.fromkeys(r["accounting"] for r in results if r.get("accounting")):
        lines.append(f"- Token accounting: {accounting}")
    return lines


def _main_table(entries: Sequence[Entry]) -> list[str]:
    columns = ordered_columns(entries)
    grid = {(e.label, e.column): e.cell for e in entries}
    rows = []
    for label in ordered_labels(entries):
        cells = [grid.get((label, col)) for col in columns]
        rows.append([_md(label)] + [score_cell(c) if c else DASH for c in cells])
    return _table(["Method"] + [column_title(c) for c in columns], rows)


def _row_head(entry: Entry) -> list[str]:
    kind, budget = entry.column
    return [_md(entry.label), _md(kind), str(budget)]


def _position_table(entries: Sequence[Entry]) -> list[str]:
    def values(entry: Entry, key: str) -> list[Any]:
        return list(entry.cell.get(key) or [])

    n = max(
        (len(values(e, k)) for e in entries for k in ("position_accuracy", "position_tokens")),
        default=0,
    )
    if n == 0:
        return []
    header = ["Method", "Paper", "Budget"]
    header += [f"P{i + 1} acc" for i in range(n)] + [f"P{i + 1} tokens" for i in range(n)]
    rows = []
    for e in entries:
        acc, tok = values(e, "position_accuracy"), values(e, "position_tokens")
        acc_cells = [_num(acc[i]) if i < len(acc) else DASH for i in range(n)]
        tok_cells = [_num(tok[i], 1) if i < len(tok) else DASH for i in range(n)]
        rows.append(_row_head(e) + acc_cells + tok_cells)
    return _table(header, rows, text_cols=2)


def _skip_table(entries: Sequence[Entry]) -> list[str]:
    extra = sorted(
        {s for e in entries for s in (e.cell.get("status_counts") or {})} - set(STATUSES)
    )
    statuses = [*STATUSES, *extra]
    header = ["Method", "Paper", "Budget", "Exams", "Skip rate", "Skip precision"]
    header += ["Exhausted exams", *statuses]
    rows = []
    for e in entries:
        c = e.cell
        counts = c.get("status_counts") or {}
        rows.append(
            _row_head(e)
            + [_num(c.get("n_exams"), 0), _num(c.get("skip_rate"))]
            + [_num(c.get("skip_precision")), _num(c.get("exhausted_exams"))]
            + [_num(counts.get(s), 0) for s in statuses]
        )
    return _table(header, rows, text_cols=2)


def _tagged(mine: Sequence[Entry]) -> bool:
    total = summed_confusion(mine)
    has_counts = total is not None and any(map(any, total))
    return has_counts or any(e.cell.get("level_accuracy") is not None for e in mine)


def pooled_level_accuracy(mine: Sequence[Entry]) -> tuple[float | None, int]:
    """(level accuracy, tagged problems) over the cells' summed confusion matrices: pooled by
    counts, so a cell weighs by its tagged problems; (None, 0) without counts."""
    total = summed_confusion(mine) or []
    tagged = sum(map(sum, total))
    if not tagged:
        return None, 0
    return sum(total[i][i] for i in range(len(total))) / tagged, tagged


def _level_accuracy_table(entries: Sequence[Entry], labels: Sequence[str]) -> list[str]:
    """Per tagged method: level accuracy per cell, pooled over the cells, tagged problems."""
    columns = ordered_columns(entries)
    grid = {(e.label, e.column): e.cell for e in entries}
    rows = []
    for label in labels:
        pooled, tagged = pooled_level_accuracy([e for e in entries if e.label == label])
        cells = [grid.get((label, col)) for col in columns]
        rows.append(
            [_md(label)]
            + [_num(c.get("level_accuracy")) if c else DASH for c in cells]
            + [_num(pooled), str(tagged)]
        )
    header = ["Method", *(column_title(c) for c in columns), "Pooled", "Tagged problems"]
    return _table(header, rows)


def _confusion_section(entries: Sequence[Entry]) -> list[str]:
    labels = ordered_labels(entries)
    tagged = [label for label in labels if _tagged([e for e in entries if e.label == label])]
    untagged = [_md(label) for label in labels if label not in tagged]
    lines: list[str] = []
    if tagged:
        lines += [LEVEL_NOTE, "", *_level_accuracy_table(entries, tagged), ""]
    for label in tagged:
        mine = [e for e in entries if e.label == label]
        total = summed_confusion(mine)
        if total is None:
            continue
        names = level_names(mine[0].level_bounds, len(total))
        rows = [[f"**{names[i]}**"] + [str(v) for v in row] for i, row in enumerate(total)]
        lines += [f"### {_md(label)}", "", "Rows: predicted level; columns: actual level.", ""]
        lines += _table(["pred \\ actual", *names], rows) + [""]
    if untagged:
        lines += [f"Methods without level tags: {', '.join(untagged)}.", ""]
    return lines


def render_report(
    results: list[dict[str, Any]],
    *,
    samples: Sequence[Sequence[ExamOutcome]] | None = None,
    pairs: Sequence[Pair] = (),
    curves: Sequence[PathLike] = (),
    plot_dir: str | None = None,
    seed: int = 0,
) -> str:
    """The Markdown report for one or more loaded results files (see ``load_results``).

    ``samples[i]``: the exam outcomes of ``results[i]`` (``load_samples``), needed by ``pairs``
    = (label A, B) tuples (``Pair``): Score A − B per shared cell with a paired bootstrap CI
    (``seed``), and pooled over the cells ("all cells"). B is one label, e.g.
    ``("roi (mft+rarl)", "roi (mft)")``, or a tuple of labels meaning the best of them in each
    cell by mean Score (the row names the one chosen), e.g.
    ``("roi (mft+rarl)", ("roi-greedy-knapsack", "roi-planner"))``. ``curves``: RARL ``curve.jsonl`` files, summarised;
    with ``plot_dir`` (the plots folder relative to the report) their PNGs are embedded.
    """
    entries = collect_entries(results)
    names = ", ".join(run_names(results)) or DASH
    lines = [f"# ROI-Reasoning report: {names}", "", "## Runs", "", *_provenance(results), ""]
    if not entries:
        return "\n".join([*lines, "No result cells."]) + "\n"
    lines += [
        "## Score by paper and budget",
        "",
        "Score = mean correct problems per exam, [95% bootstrap CI]; "
        "R~ = (Score_easy − Score) / Score_easy for the same method and budget.",
        "",
        *_main_table(entries),
        "",
    ]
    by_run = None
    if samples is not None:
        by_run = {n: list(s) for n, s in zip(run_names(results), samples, strict=True)}
    lines += extra_sections(entries, by_run, pairs, seed)
    if curves:
        lines += ["## RARL learning curve", "", *curve_section(curves, plot_dir), ""]
    positions = _position_table(entries)
    if positions:
        lines += ["## Accuracy and mean generated tokens by position", "", *positions, ""]
    lines += ["## Skip precision and statuses", "", *_skip_table(entries), ""]
    lines += ["## Level prediction", ""]
    lines += _confusion_section(entries)
    return "\n".join(lines).rstrip() + "\n"


def write_report(
    paths: Sequence[PathLike],
    out_path: PathLike,
    *,
    pairs: Sequence[Pair] = (),
    curves: Sequence[PathLike] | None = None,
    plots: bool = False,
) -> Path:
    """Load ``paths`` (results files or run directories) and write ``out_path`` atomically.

    ``pairs``: see ``render_report`` (the samples are read from each run's ``samples.jsonl``).
    ``curves``: RARL ``curve.jsonl`` files; None finds them in the run directories and the
    report's folder (``find_curves``). ``plots``: also write the PNGs (``plots.write_plots``,
    needs matplotlib) into ``<report folder>/plots`` and embed the learning curves.
    """
    results = [load_results(p) for p in paths]
    samples = [load_samples(p) for p in paths] if pairs else None
    out = Path(out_path)
    found = find_curves(paths, out.parent) if curves is None else list(curves)
    for curve in found:  # every input is read and checked before a file is written
        load_curve(curve)
    text = render_report(
        results, samples=samples, pairs=pairs, curves=found, plot_dir="plots" if plots else None
    )
    if plots:
        from roi_reasoning.report.plots import write_plots

        write_plots(results, out.parent / "plots", curves=found)
    return atomic_write_text(out, text)  # never a half-written report


def publish_report(
    runs: Sequence[PathLike],
    *,
    out: PathLike | None = None,
    plots: bool = True,
    require_plots: bool = False,
    pairs: Sequence[Pair] = (),
    curves: Sequence[PathLike] | None = None,
) -> Path:
    """``write_report`` behind the output checks (``roi report``, ``roi eval`` and the demo):
    ``out`` defaults to ``<first run>/report.md``; without matplotlib (the core install) the
    report is written without plots, with a warning, unless ``require_plots``."""
    import importlib.util
    import sys

    from roi_reasoning.errors import MissingExtra
    from roi_reasoning.validate import check_out_dir, check_out_file

    first = Path(runs[0])
    target = check_out_file(
        Path(out) if out else (first if first.is_dir() else first.parent) / runfolder.REPORT
    )
    if plots:
        check_out_dir(target.parent / "plots")
        if importlib.util.find_spec("matplotlib") is None:
            if require_plots:
                raise MissingExtra("plots", "plots")
            print("warning: no plots (matplotlib is not installed)", file=sys.stderr)
            plots = False
    return write_report(runs, target, pairs=pairs, curves=curves, plots=plots)
