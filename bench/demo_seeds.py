"""The demo over several world builds: every claim of the RARL issue, per world seed.

A world seed changes the problems, the tokenizer and the tiny model, so each seed is a new
build of everything (`roi demo --set world.seed=S`, ~10 minutes each on 2 cores, cached under
``<root>/world-S``). For each build this prints the six cells' Score of base, MFT (and Greedy
Knapsack on its tags) and MFT+RARL, the paired MFT+RARL − MFT difference, the Bellman value, the
validation curve's first and last points, and each claim with PASS/FAIL:

1. MFT+RARL − MFT averaged over the six cells ≥ +0.15, and ≥ +0.25 on Hard at the loose budget;
2. MFT+RARL ≥ base in every cell;
3. Greedy Knapsack on MFT tags > base on Hard at the tight budget;
4. MFT+RARL at the loose budget ≥ 90 % of the Bellman-optimal value beside it;
5. a rising validation reward (mean of the last three points > the first, step 0).

Run example: ``python bench/demo_seeds.py --seeds 1,2 --root runs/demo-seeds --include runs/demo``
(``--include``: a finished demo folder, e.g. the default build, reported beside the others)
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from roi_reasoning.demo import demo_config, run_demo

KINDS = ("easy", "medium", "hard")


def scores(results: Path, method: str) -> dict[tuple[str, int], dict[str, Any]]:
    """(kind, budget) → the cell of ``method`` in a results.json."""
    cells = json.loads(results.read_text())["cells"]
    return {(c["kind"], c["budget"]): c for c in cells if c["method"] == method}


def _paired(out: Path) -> dict[tuple[str, int], float]:
    """MFT+RARL − MFT per cell, paired by exam id (the same exams in both runs)."""

    def by_exam(name: str) -> dict[str, dict]:
        text = (out / "eval" / name / "samples.jsonl").read_text()
        rows = (json.loads(x) for x in text.splitlines())
        return {r["exam_id"]: r for r in rows if r["method"] == "roi"}

    mft, rarl = by_exam("mft"), by_exam("mft+rarl")
    diffs: dict[tuple[str, int], list[float]] = {}
    for eid in mft.keys() & rarl.keys():
        a, b = rarl[eid], mft[eid]
        diffs.setdefault((a["kind"], a["budget"]), []).append(a["score"] - b["score"])
    return {k: statistics.mean(v) for k, v in diffs.items()}


def curve(out: Path) -> list[float]:
    rows = [json.loads(x) for x in (out / "rarl" / "curve.jsonl").read_text().splitlines()]
    return [r["val_reward"] for r in rows if r.get("val_reward") is not None]


def claims(out: Path) -> list[tuple[str, bool, str]]:
    base = scores(out / "eval" / "base" / "results.json", "base")
    greedy = scores(out / "eval" / "mft" / "results.json", "roi-greedy-knapsack")
    rarl = scores(out / "eval" / "mft+rarl" / "results.json", "roi")
    budgets = sorted({b for _, b in rarl})
    tight, loose = budgets[0], budgets[-1]
    diff = _paired(out)
    mean_diff = statistics.mean(diff.values())
    s = lambda c: c["score"]["mean"]  # noqa: E731
    below = [k for k in rarl if s(rarl[k]) < s(base[k])]
    bell = rarl[("hard", loose)].get("bellman_value")
    shares = {k: s(rarl[(k, loose)]) / rarl[(k, loose)]["bellman_value"] for k in KINDS if bell}
    val = curve(out)
    rising = len(val) >= 4 and statistics.mean(val[-3:]) > val[0]
    return [
        ("RARL−MFT mean ≥ 0.15", mean_diff >= 0.15, f"{mean_diff:+.3f}"),
        (
            f"RARL−MFT Hard/{loose} ≥ 0.25",
            diff[("hard", loose)] >= 0.25,
            f"{diff[('hard', loose)]:+.3f}",
        ),
        ("RARL ≥ base every cell", not below, f"below in {below}" if below else "all"),
        (
            f"Greedy(MFT tags) > base Hard/{tight}",
            s(greedy[("hard", tight)]) > s(base[("hard", tight)]),
            f"{s(greedy[('hard', tight)]):.2f} vs {s(base[('hard', tight)]):.2f}",
        ),
        (
            f"RARL/{loose} ≥ 90 % of Bellman",
            bool(shares) and min(shares.values()) >= 0.9,
            " ".join(f"{k} {v:.0%}" for k, v in shares.items()) or "no Bellman value",
        ),
        ("validation reward rises", rising, " → ".join(f"{v:.2f}" for v in val[:1] + val[-1:])),
    ]


def table(out: Path) -> list[str]:
    base = scores(out / "eval" / "base" / "results.json", "base")
    mft = scores(out / "eval" / "mft" / "results.json", "roi")
    rarl = scores(out / "eval" / "mft+rarl" / "results.json", "roi")
    keys = sorted(rarl, key=lambda k: (k[1], KINDS.index(k[0])))
    lines = ["  cell        base   MFT   RARL  V_bellman"]
    for k in keys:
        bell = rarl[k].get("bellman_value")
        cells = (base[k], mft[k], rarl[k])
        row = " ".join(f"{c['score']['mean']:5.2f}" for c in cells)
        lines.append(f"  {k[0]:>6}/{k[1]:<4} {row}  {bell if bell is None else f'{bell:5.2f}'}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2", help="world seeds (each a full build)")
    ap.add_argument("--root", default="runs/demo-seeds", help="one demo folder per seed here")
    ap.add_argument("--set", action="append", default=[], help="demo KEY=VALUE for every seed")
    ap.add_argument(
        "--include", action="append", default=[], help="a finished demo folder to report too"
    )
    args = ap.parse_args()
    passed: dict[str, list[bool]] = {}
    folders = [Path(d) for d in args.include]
    for seed in (int(s) for s in args.seeds.split(",") if s):
        out = Path(args.root) / f"world-{seed}"
        run_demo(demo_config(str(out), sets=[f"world.seed={seed}", *args.set]), progress=False)
        folders.append(out)
    for out in folders:
        seed = json.loads((out / "demo.json").read_text())["world"]["seed"]
        print(f"\n== world seed {seed} ({out})")
        print("\n".join(table(out)))
        for name, ok, detail in claims(out):
            passed.setdefault(name, []).append(ok)
            print(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
    print("\nclaims held on", ", ".join(f"{n}: {sum(v)}/{len(v)}" for n, v in passed.items()))


if __name__ == "__main__":
    main()
