"""The demo over several seeds: every claim of the RARL issue, per run and over the runs.

Each run is one full ``roi demo`` (``run_demo``; under 10 minutes on 2 CPU cores with the shipped
world). ``--seeds 0,1,2`` (the default) runs training seed K (``--set seed=K``: it seeds every
training stage; the world and the evaluated exams, ``world.seed`` and ``eval_seed``, stay the
same) into ``<root>/seed-K``; ``--world-seeds 0,1,2`` runs world seed S instead (``--set
world.seed=S``: new problems, tokenizer and tiny model; only the default world, seed 0, ships
built, any other is trained first, ~8-11 more minutes) into ``<root>/world-S``. A rerun resumes: ``run_demo`` skips the stages already done. ``--set
KEY=VALUE`` is passed to every run; ``--include DIR`` adds finished demo folders; ``--no-run``
only reports the folders that are there.

Per run: the six cells' Score of base, MFT, Greedy Knapsack and the planner on MFT tags (GK,
planner), MFT+RARL and V_bellman, then each claim with PASS/FAIL and its number:

1. MFT+RARL − MFT ≥ +0.15: the mean over the six cells of the paired difference (by exam id,
   from ``eval/mft`` and ``eval/mft+rarl`` ``samples.jsonl``, method ``roi``);
2. MFT+RARL ≥ 90 % of V_bellman in every cell (number: the lowest Score / V_bellman);
3. MFT+RARL ≥ base in every cell (number: the lowest MFT+RARL − base);
4. MFT+RARL ≥ max(GK, planner) in at least 4 of the 6 cells (number: how many);
5. budget conditioning: on the Hard paper, MFT+RARL's skip rate of the hardest tier at the tight
   budget minus at the loose one ≥ 0.3 (``skip_rate_by_tier``);
6. the Bellman plan agrees: its attempt probability of that tier is lower at the tight budget
   (number: attempt at loose − at tight, ``bellman_attempt_by_tier``);
7. level accuracy MFT+RARL ≥ MFT, pooled over the cells by counts (the cells' ``confusion``
   matrices; number: the difference);
8. the validation reward of ``rarl/curve.jsonl`` rises ≥ 0.10 from its first point to its last.

Then, over the runs: each claim's pass count and the mean and min–max of its number.

Run example: ``python bench/demo_seeds.py --seeds 0,1,2 --root runs/demo-seeds``;
``python bench/demo_seeds.py --no-run --include runs/demo`` (report a finished demo only)
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from roi_reasoning import runfolder
from roi_reasoning.data import DEFAULT_TIERS
from roi_reasoning.report.sections import load_samples

KINDS = ("easy", "medium", "hard")
EPS = 1e-9  # equal means computed two ways may differ in the last bit
Cell = tuple[str, int]
Cells = dict[Cell, dict[str, Any]]
EVAL, RESULTS, SAMPLES = runfolder.DEMO_EVAL, runfolder.RESULTS, runfolder.SAMPLES
NEEDED = tuple(f"{EVAL}/{run}/{RESULTS}" for run in ("base", "mft", "mft+rarl"))
NEEDED += tuple(f"{EVAL}/{run}/{SAMPLES}" for run in ("mft", "mft+rarl"))
NEEDED += (f"{runfolder.DEMO_RARL}/{runfolder.CURVE}",)


class Claim(NamedTuple):
    name: str
    ok: bool
    value: float | None  # the claim's number (None: not measurable, which fails)
    detail: str
    fmt: str = "+.3f"  # how the summary prints the number


# ---------------------------------------------------------------- reading a run


def load_cells(out: Path, run: str, method: str) -> Cells:
    """(kind, budget) → the cell of ``method`` in ``<out>/eval/<run>/results.json``."""
    cells = json.loads((out / EVAL / run / RESULTS).read_text())["cells"]
    return {(c["kind"], c["budget"]): c for c in cells if c["method"] == method}


def score(cell: dict[str, Any] | None) -> float:
    return math.nan if cell is None else float(cell["score"]["mean"])


def cell_order(cells: Cells | dict[Cell, float]) -> list[Cell]:
    """Paper order, then budget (the report's column order)."""
    return sorted(cells, key=lambda k: (KINDS.index(k[0]) if k[0] in KINDS else 9, k))


def paired_by_cell(out: Path) -> dict[Cell, float]:
    """MFT+RARL − MFT per cell: the mean over the exams both evaluated, paired by exam id."""

    def by_exam(run: str) -> dict[tuple[str, int, str], float]:
        rows = load_samples(out / EVAL / run)
        return {(e.kind, e.budget, e.exam_id): e.score for e in rows if e.method == "roi"}

    mft, rarl = by_exam("mft"), by_exam("mft+rarl")
    diffs: dict[Cell, list[float]] = {}
    for key in rarl.keys() & mft.keys():
        diffs.setdefault(key[:2], []).append(rarl[key] - mft[key])
    return {cell: statistics.mean(v) for cell, v in diffs.items()}


def val_curve(out: Path) -> list[tuple[Any, float]]:
    """(step, validation reward) of ``rarl/curve.jsonl``, rows with a reward only."""
    lines = (out / runfolder.DEMO_RARL / runfolder.CURVE).read_text().splitlines()
    rows = [json.loads(x) for x in lines if x.strip()]
    return [(r.get("step"), r["val_reward"]) for r in rows if r.get("val_reward") is not None]


def pooled_level_accuracy(cells: Cells) -> float | None:
    """Trace / total of the cells' summed confusion matrices (pooled by counts)."""
    right = total = 0
    for cell in cells.values():
        matrix = cell.get("confusion") or []
        right += sum(row[i] for i, row in enumerate(matrix) if i < len(row))
        total += sum(map(sum, matrix))
    return right / total if total else None


def hardest_tier(cell: dict[str, Any]) -> str | None:
    """The hardest tier in the cell's ``skip_rate_by_tier`` (the paper's tier order)."""
    tiers = [t for t in DEFAULT_TIERS if t in (cell.get("skip_rate_by_tier") or {})]
    return tiers[-1] if tiers else None


# ---------------------------------------------------------------- claims


def _every_cell(name: str, values: dict[Cell, float], floor: float, fmt: str) -> Claim:
    """Pass when every cell's value ≥ ``floor``; the number is the lowest value."""
    if not values or any(math.isnan(v) for v in values.values()):
        return Claim(name, False, None, "a cell has no value")
    worst = min(values, key=values.__getitem__)
    below = [f"{k}/{b}" for k, b in cell_order(values) if values[(k, b)] < floor - EPS]
    where = f"below in {', '.join(below)}" if below else "every cell"
    low = format(values[worst], fmt)
    detail = f"lowest {low} ({worst[0]}/{worst[1]}), {where}"
    return Claim(name, not below, values[worst], detail, fmt)


def score_claims(out: Path) -> list[Claim]:
    """Claims 1–4: MFT+RARL against MFT, V_bellman, base and the better of GK and planner."""
    rarl = load_cells(out, "mft+rarl", "roi")
    base = load_cells(out, "base", "base")
    tagged = [load_cells(out, "mft", m) for m in ("roi-greedy-knapsack", "roi-planner")]
    diffs = paired_by_cell(out)
    claims = []
    mean = statistics.mean(diffs.values()) if diffs else None
    detail = f"{mean:+.3f} over {len(diffs)} cells" if mean is not None else "no paired exams"
    claims.append(
        Claim("MFT+RARL − MFT ≥ +0.15", mean is not None and mean >= 0.15 - EPS, mean, detail)
    )
    shares = {
        k: score(c) / c["bellman_value"] if c.get("bellman_value") else math.nan
        for k, c in rarl.items()
    }
    claims.append(_every_cell("MFT+RARL ≥ 90 % of V_bellman, every cell", shares, 0.9, ".2f"))
    margin = {k: score(c) - score(base.get(k)) for k, c in rarl.items()}
    claims.append(_every_cell("MFT+RARL ≥ base, every cell", margin, 0.0, "+.2f"))
    wins = [k for k, c in rarl.items() if score(c) >= max(score(t.get(k)) for t in tagged) - EPS]
    lost = [f"{k}/{b}" for k, b in cell_order(rarl) if (k, b) not in wins]
    detail = f"{len(wins)}/{len(rarl)}" + (f", behind in {', '.join(lost)}" if lost else "")
    name = "MFT+RARL ≥ max(GK, planner) in ≥ 4 of 6 cells"
    return [*claims, Claim(name, len(wins) >= 4, float(len(wins)), detail, ".1f")]


def conditioning_claims(out: Path) -> list[Claim]:
    """Claims 5–6: the hardest tier's skips on the Hard paper, tight vs loose budget."""
    name = "Hard paper: skip hardest tier, tight − loose ≥ 0.3"
    bell_name = "Bellman plan agrees (attempts it less at tight)"
    hard = {b: c for (k, b), c in load_cells(out, "mft+rarl", "roi").items() if k == "hard"}
    if len(hard) < 2:
        return [Claim(n, False, None, "no Hard paper at two budgets") for n in (name, bell_name)]
    tight, loose = hard[min(hard)], hard[max(hard)]
    tier = hardest_tier(tight) or "hard"
    b_tight, b_loose = min(hard), max(hard)

    def get(cell: dict[str, Any], key: str) -> float | None:
        return (cell.get(key) or {}).get(tier)

    skip = (get(tight, "skip_rate_by_tier"), get(loose, "skip_rate_by_tier"))
    attempt = (get(tight, "bellman_attempt_by_tier"), get(loose, "bellman_attempt_by_tier"))
    claims = []
    for label, pair, sign, floor in ((name, skip, 1, 0.3), (bell_name, attempt, -1, 0.0)):
        if None in pair:
            claims.append(Claim(label, False, None, f"no {tier!r} value in both cells"))
            continue
        value = sign * (pair[0] - pair[1])  # skip: tight − loose; attempt: loose − tight
        what = "skip" if sign == 1 else "Bellman attempt"
        detail = f"{tier} tier {what} {pair[0]:.2f} at B={b_tight}, {pair[1]:.2f} at B={b_loose}"
        ok = value >= floor - EPS if sign == 1 else value > 0
        claims.append(Claim(label, ok, value, detail))
    return claims


def learning_claims(out: Path) -> list[Claim]:
    """Claims 7–8: pooled level accuracy against MFT's, and the validation reward's rise."""
    rarl = pooled_level_accuracy(load_cells(out, "mft+rarl", "roi"))
    mft = pooled_level_accuracy(load_cells(out, "mft", "roi"))
    name = "level accuracy MFT+RARL ≥ MFT (pooled)"
    if rarl is None or mft is None:
        claims = [Claim(name, False, None, "no tagged problems")]
    else:
        detail = f"{rarl:.3f} vs {mft:.3f}"
        claims = [Claim(name, rarl >= mft - EPS, rarl - mft, detail)]
    points = val_curve(out)
    name = "validation reward rises ≥ 0.10"
    if len(points) < 2:
        return [*claims, Claim(name, False, None, f"{len(points)} validation point(s)")]
    (s0, v0), (s1, v1) = points[0], points[-1]
    detail = f"{v0:.3f} → {v1:.3f} (step {s0} → {s1})"
    return [*claims, Claim(name, v1 - v0 >= 0.10 - EPS, v1 - v0, detail)]


def claims(out: Path) -> list[Claim]:
    return [*score_claims(out), *conditioning_claims(out), *learning_claims(out)]


# ---------------------------------------------------------------- printing


def cell_table(out: Path) -> list[str]:
    """The six cells: Score of base, MFT, GK, planner, MFT+RARL, and V_bellman."""
    columns = [
        ("base", load_cells(out, "base", "base")),
        ("MFT", load_cells(out, "mft", "roi")),
        ("GK", load_cells(out, "mft", "roi-greedy-knapsack")),
        ("planner", load_cells(out, "mft", "roi-planner")),
        ("MFT+RARL", load_cells(out, "mft+rarl", "roi")),
    ]
    rarl = columns[-1][1]
    lines = ["  cell        " + " ".join(f"{n:>8}" for n, _ in columns) + "  V_bellman"]
    for k in cell_order(rarl):
        row = " ".join(f"{score(cells.get(k)):8.2f}" for _, cells in columns)
        bell = rarl[k].get("bellman_value")
        lines.append(f"  {k[0] + '/' + str(k[1]):<11} {row}  {_num(bell):>9}")
    return lines


def _num(value: float | None, fmt: str = ".2f") -> str:
    return "–" if value is None or math.isnan(value) else format(value, fmt)


def run_title(out: Path) -> str:
    try:
        settings = json.loads((out / runfolder.DEMO).read_text())
    except (OSError, json.JSONDecodeError):
        settings = {}
    seed = settings.get("seed", "– (before the seed key)" if settings else "–")
    world = (settings.get("world") or {}).get("seed", "–")
    return f"== {out}: seed {seed}, world seed {world}"


def report_run(out: Path) -> list[Claim] | None:
    """Print one run's cells and claims; None (and a note) when the run is unfinished."""
    print(f"\n{run_title(out)}")
    missing = [p for p in NEEDED if not (out / p).is_file()]
    if missing:
        print(f"  unfinished: no {', '.join(missing)}")
        return None
    print("\n".join(cell_table(out)))
    found = claims(out)
    for c in found:
        print(f"  {'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}")
    return found


def summary(runs: Sequence[Sequence[Claim]]) -> list[str]:
    """Per claim: runs passed, and the mean and min–max of its number over the runs."""
    lines = [f"\n== summary over {len(runs)} run(s)"]
    lines.append(f"  {'passed':>6}  {'mean':>7}  {'min – max':^17}  claim")
    for i, first in enumerate(runs[0] if runs else ()):
        mine = [r[i] for r in runs]
        values = [c.value for c in mine if c.value is not None]
        passed = f"{sum(c.ok for c in mine)}/{len(mine)}"
        mean = _num(statistics.mean(values), first.fmt) if values else "–"
        spread = f"{_num(min(values), first.fmt)} – {_num(max(values), first.fmt)}"
        lines.append(f"  {passed:>6}  {mean:>7}  {spread if values else '–':^17}  {first.name}")
    return lines


# ---------------------------------------------------------------- running


def seed_runs(args: argparse.Namespace) -> list[tuple[Path, list[str]]]:
    """(folder, demo settings) of every seed asked for."""
    if args.world_seeds is not None:
        key, prefix, text = "world.seed", "world", args.world_seeds
    else:
        key, prefix, text = "seed", "seed", args.seeds
    seeds = [int(s) for s in text.split(",") if s.strip()]
    return [(Path(args.root) / f"{prefix}-{s}", [f"{key}={s}", *args.set]) for s in seeds]


def folders(args: argparse.Namespace, run: Callable[[Path, list[str]], None]) -> list[Path]:
    """The folders to report: each seed's (run first unless ``--no-run``), then ``--include``."""
    found = []
    for out, sets in seed_runs(args):
        if not args.no_run:
            run(out, sets)
        if out.is_dir():
            found.append(out)
    return found + [Path(d) for d in args.include]


def run_one(out: Path, sets: list[str]) -> None:
    from roi_reasoning.demo.config import demo_config
    from roi_reasoning.demo.pipeline import run_demo

    print(f"running the demo into {out} ({' '.join(sets)})", file=sys.stderr)
    run_demo(demo_config(str(out), sets=sets), progress=False)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--seeds", default="0,1,2", help="training seeds K (<root>/seed-K)")
    which.add_argument("--world-seeds", help="world seeds S instead (<root>/world-S)")
    ap.add_argument("--root", default="runs/demo-seeds", help="one demo folder per seed here")
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="demo setting, every run"
    )
    ap.add_argument(
        "--include", action="append", default=[], metavar="DIR", help="a finished demo folder"
    )
    ap.add_argument("--no-run", action="store_true", help="only report the folders that exist")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results = [report_run(out) for out in folders(args, run_one)]
    done = [r for r in results if r is not None]
    if done:
        print("\n".join(summary(done)))
    else:
        print("\nno finished run to summarise")
    return 0


if __name__ == "__main__":
    sys.exit(main())
