"""Training-seed spread of the demo: MFT data, MFT and RARL repeated with other seeds.

`roi demo` trains once (seed 0) and pools the exams of 3 evaluation seeds; this script reruns
the training stages with seeds 1, 2, ... on the same world model and profile (reused from a
finished demo folder), evaluates MFT and MFT+RARL on the same held-out exams, and prints Score
per paper at the tight budget for every training seed, the base model's beside it, and the mean
and standard deviation over seeds. Each extra seed takes ~3 minutes on 2 cores.

Run example: ``python bench/demo_seeds.py --demo runs/demo --seeds 1,2``
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

from roi_reasoning.demo import DemoConfig, stage_configs, train_stages
from roi_reasoning.evaluate import run_eval

KINDS = ("easy", "medium", "hard")


def train_seed(demo: Path, seed: int) -> Path:
    """Stages of one training seed under ``<demo>/seeds/<seed>``; cached like the demo's."""
    out = demo / "seeds" / str(seed)
    c = stage_configs(DemoConfig(out=str(out)), demo / "world")
    profile = str(demo / "profile.jsonl")  # the demo's profile: same base-model samples
    c["mft data"] = replace(c["mft data"], profile=profile, seed=seed)
    c["mft train"] = replace(c["mft train"], seed=seed)
    c["rarl train"] = replace(c["rarl train"], seed=seed)
    train_stages(c, {})
    for name in ("eval mft", "eval mft+rarl"):
        run_eval(replace(c[name], profiles=profile), progress=False)
    return out


def tight_scores(results: Path, method: str) -> dict[str, float]:
    """Score per paper kind at the tight budget from a results.json."""
    cells = json.loads(results.read_text())["cells"]
    tight = min(c["budget"] for c in cells)
    return {
        c["kind"]: c["score"]["mean"]
        for c in cells
        if c["method"] == method and c["budget"] == tight
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", default="runs/demo", help="a finished `roi demo --out` folder")
    ap.add_argument("--seeds", default="1,2", help="extra training seeds (seed 0 = the demo)")
    args = ap.parse_args()
    demo = Path(args.demo)
    folders = {0: demo} | {int(s): train_seed(demo, int(s)) for s in args.seeds.split(",")}
    base = tight_scores(demo / "eval" / "base" / "results.json", "base")
    print("Score at the tight budget per paper (rows: training seed)")
    print(f"{'model':<10} {'seed':>4} " + " ".join(f"{k:>7}" for k in KINDS))
    print(f"{'base':<10} {'-':>4} " + " ".join(f"{base[k]:7.2f}" for k in KINDS))
    for name in ("mft", "mft+rarl"):
        rows = {
            s: tight_scores(f / "eval" / name / "results.json", "roi") for s, f in folders.items()
        }
        for seed, row in rows.items():
            print(f"{name:<10} {seed:>4} " + " ".join(f"{row[k]:7.2f}" for k in KINDS))
        means = [statistics.mean(r[k] for r in rows.values()) for k in KINDS]
        sds = [statistics.stdev(r[k] for r in rows.values()) for k in KINDS]
        print(
            f"{name:<10} {'mean':>4} "
            + " ".join(f"{m:4.2f}±{s:.2f}" for m, s in zip(means, sds, strict=True))
        )


if __name__ == "__main__":
    main()
