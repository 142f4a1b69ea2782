"""Where a demo's skip decision comes from: the level tag, the budget, or the problem's words.

Teacher-forced, no sampling. For every evaluated exam whose Problem 1 is of the hardest tier (on
the embedded world: the Hard paper), each model's probabilities at the start of its answer
(``## Problem 1\\n`` written, nothing else) of

- ``tag top``: writing the skip tag ``<predicted_level>Level-top</predicted_level>``;
- ``NA | top``, ``NA | top-1``: writing `` \\boxed{NA}`` right after the skip tag, and right
  after the tag of the level below it. If the tag binds the action, ``NA | top`` is near 1 and
  ``NA | top-1`` near 0; equal values mean the action ignores the tag;

split by budget and by whether the base model solves the problem (its test profile:
``profile-test.jsonl``, solved in at least half of its samples: ``solvable``). ``logit gap`` is
the mean over exams of log p(tight budget) − log p(loose budget) on the same problems: how much
the budget moves the decision (greedy budget conditioning needs the skip above 1/2 at the tight
budget and below it at the loose one). The exams are the demo's own (``eval/mft/run.json``), the
prompt the ``roi`` format rendered as the policy renders it.

Run example: ``python bench/decision_probe.py runs/demo`` (models ``mft`` and ``mft+rarl``);
``python bench/decision_probe.py runs/demo --model other=path/to/model``
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from roi_reasoning.evaluation.evaluate import EvalConfig, make_exams
from roi_reasoning.formats import render_prompt, render_tag
from roi_reasoning.policies import prompt_text
from roi_reasoning.profiles import load_profiles

NA = " \\boxed{NA}"


def continuation_logp(model, tokenizer, prefix: str, text: str) -> float:
    """log p(text | prefix) under ``model`` (the sum over text's tokens)."""
    head = tokenizer(prefix, add_special_tokens=False).input_ids
    ids = tokenizer(prefix + text, add_special_tokens=False).input_ids
    if ids[: len(head)] != head:
        raise ValueError(f"{text!r} does not tokenize as a continuation of the prompt")
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1)
    return sum(logp[i - 1, ids[i]].item() for i in range(len(head), len(ids)))


def probes(top: int) -> dict[str, tuple[str, str]]:
    """name → (text after ``## Problem 1\\n``, the continuation scored)."""
    return {
        "tag top": ("<predicted_level>", f"Level-{top}"),
        "NA | top": (render_tag(top), NA),
        "NA | top-1": (render_tag(top - 1), NA),
    }


def probe(model_dir: str, exams, tokenizer, solvable: dict[str, bool], bounds: list[int]) -> dict:
    """(probe, problem group, budget) → {exam group: log-probability} (an exam group holds the
    same problems at every budget, so tight and loose pair by it)."""
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    top = len(bounds)
    out: dict[tuple[str, str, int], dict[str, float]] = {}
    for exam in exams:
        head = prompt_text(tokenizer, render_prompt(exam, "roi", bounds)) + "## Problem 1\n"
        group = "solvable" if solvable.get(exam.problems[0].id) else "unsolvable"
        for name, (tail, text) in probes(top).items():
            lp = continuation_logp(model, tokenizer, head + tail, text)
            out.setdefault((name, group, exam.budget), {})[exam.group] = lp
    return out


def print_table(name: str, logps: dict, budgets: list[int], top: int) -> None:
    tight, loose = min(budgets), max(budgets)
    print(f"== {name}")
    print(f"  {'probe':11s} {'problems':10s}   n  p@{tight:<5d} p@{loose:<5d} logit gap")
    for probe_name in probes(top):
        for group in ("solvable", "unsolvable"):
            at = [logps.get((probe_name, group, b), {}) for b in (tight, loose)]
            pairs = [(at[0][g], at[1][g]) for g in at[0] if g in at[1]]
            if not pairs:
                continue
            a, b = zip(*pairs, strict=True)
            pa, pb = (sum(map(math.exp, x)) / len(x) for x in (a, b))
            gap = sum(x - y for x, y in pairs) / len(pairs)
            print(f"  {probe_name:11s} {group:10s} {len(a):3d}  {pa:.3f}   {pb:.3f}   {gap:+.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("demo", help="a finished `roi demo --out` folder")
    ap.add_argument("--model", action="append", default=[], help="NAME=PATH, another model")
    args = ap.parse_args(argv)
    demo = Path(args.demo)
    if any("=" not in m for m in args.model):
        ap.error("--model takes NAME=PATH")  # exit 2
    models = {"mft": demo / "mft" / "final", "mft+rarl": demo / "rarl" / "final"}
    models.update((name, Path(path)) for name, _, path in (m.partition("=") for m in args.model))
    needed = [demo / "eval" / "mft" / "run.json", demo / "profile-test.jsonl", demo / "world"]
    needed += models.values()
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        print(
            f"error: {missing[0]}: not found (a finished `roi demo --out` folder?)", file=sys.stderr
        )
        return 2
    run = json.loads(needed[0].read_text())
    cfg = EvalConfig(**{k: v for k, v in run.items() if k != "inputs"})
    hardest = list(cfg.tiers)[-1]
    exams = [
        e
        for e in make_exams(cfg)
        if e.problems[0].tier == hardest and e.budget in (min(cfg.budgets), max(cfg.budgets))
    ]
    if not exams:
        print(f"error: {demo}: no evaluated exam opens with a {hardest} problem", file=sys.stderr)
        return 2
    rows = load_profiles(demo / "profile-test.jsonl") or {}
    solvable = {pid: 2 * sum(c for _, c in s) >= len(s) for pid, s in rows.items()}
    tokenizer = AutoTokenizer.from_pretrained(demo / "world")
    top = len(cfg.level_bounds)
    print(f"{demo}: {len(exams)} exams opening with a {hardest} problem, budgets {cfg.budgets}")
    for name, path in models.items():
        logps = probe(str(path), exams, tokenizer, solvable, list(cfg.level_bounds))
        print_table(name, logps, list(cfg.budgets), top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
