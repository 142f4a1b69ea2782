"""``roi`` subcommands of the training stages: profile, mft, rarl, export (heavy imports inside).

Run example: ``roi mft train --config configs/mft/world.yaml``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from roi_reasoning.cli import _csv, _kv, tier_overrides


def cmd_profile(args: argparse.Namespace) -> int:
    from roi_reasoning.config import load_config
    from roi_reasoning.data import read_records
    from roi_reasoning.profiling import (
        ProfileConfig,
        check_profile_config,
        run_profile,
        summarize,
    )

    policy_args = dict(args.policy_arg) if args.policy_arg else None
    overrides = {
        "out": args.out,
        "policy": args.policy,
        "policy_args": policy_args,
        "tiers": tier_overrides(args),
        "per_tier": args.per_tier,
        "k": args.k,
        "max_tokens": args.max_tokens,
        "level_bounds": args.level_bounds,
        "batch_size": args.batch_size,
        "seed": args.seed,
    }
    cfg = load_config(ProfileConfig, args.config, overrides)
    check_profile_config(cfg)
    if cfg.policy != "scripted" and "temperature" not in cfg.policy_args:
        cfg.policy_args["temperature"] = 1.0  # K samples must differ: sample, don't decode greedily
    path = run_profile(cfg, progress=not args.no_progress)
    print(json.dumps(summarize(read_records(path), cfg.level_bounds), indent=2))
    return 0


def cmd_mft_build(args: argparse.Namespace) -> int:
    from roi_reasoning.config import load_config
    from roi_reasoning.mft import MFTBuildConfig, build_dataset

    overrides = {
        "profile": args.profile,
        "tokenizer": args.tokenizer,
        "out": args.out,
        "tiers": tier_overrides(args),
        "level_bounds": args.level_bounds,
        "budgets": args.budgets,
        "exams": args.exams,
        "n": args.n,
        "max_na_share": args.max_na_share,
        "seed": args.seed,
    }
    cfg = load_config(MFTBuildConfig, args.config, overrides)
    check_mft_build(cfg)
    summary = build_dataset(cfg)
    summary.pop("config")
    print(json.dumps(summary, indent=2))
    return 0


def check_mft_build(cfg: Any) -> None:
    """Everything ``mft.build_dataset`` reads or writes, checked before it runs: ranges, the
    profile's rows (typed, read-only), the tiers and the output folder."""
    from roi_reasoning.data import check_tiers, load_profile_rows
    from roi_reasoning.validate import (
        MAX_BUDGET,
        MAX_EXAMS,
        MAX_PROBLEMS,
        check_in_file,
        check_out_dir,
        float_in,
        int_in,
        int_list,
    )

    int_list(cfg.level_bounds, "level_bounds", 1, MAX_BUDGET, ascending=True)
    int_list(cfg.budgets, "budgets", 1, MAX_BUDGET)
    int_in(cfg.exams, "exams", 0, MAX_EXAMS)
    int_in(cfg.n, "n", 1, MAX_PROBLEMS)
    float_in(cfg.max_na_share, "max_na_share", 0.0, 1.0)
    check_tiers(cfg.tiers)
    check_out_dir(cfg.out, ("stats.json",))
    load_profile_rows(check_in_file(cfg.profile), full=True)


def cmd_mft_train(args: argparse.Namespace) -> int:
    from roi_reasoning.config import load_config
    from roi_reasoning.mft import MFTTrainConfig, train

    overrides = {
        "model": args.model,
        "dataset": args.dataset,
        "out": args.out,
        "max_steps": args.max_steps,
    }
    final = train(load_config(MFTTrainConfig, args.config, overrides), resume=args.resume)
    print(f"MFT model saved to {final}", file=sys.stderr)
    return 0


def cmd_rarl_train(args: argparse.Namespace) -> int:
    from roi_reasoning.config import load_config
    from roi_reasoning.rarl import RARLConfig, train

    overrides = {
        "model": args.model,
        "out": args.out,
        "tiers": tier_overrides(args),
        "budgets": args.budgets,
        "max_steps": args.max_steps,
        "report_to": args.report_to,
        "use_vllm": args.use_vllm or None,
    }
    final = train(load_config(RARLConfig, args.config, overrides), resume=args.resume)
    print(f"RARL model saved to {final}", file=sys.stderr)
    return 0


def cmd_export_verl(args: argparse.Namespace) -> int:
    from roi_reasoning.adapters.verl import verl_rows, write_parquet
    from roi_reasoning.data import DEFAULT_TIERS, TierSpec, load_tier
    from roi_reasoning.exams import build_exams, check_build_args
    from roi_reasoning.validate import MAX_BUDGET, check_out_file, int_list

    out = check_out_file(args.out)
    int_list(args.level_bounds, "--level-bounds", 1, MAX_BUDGET, ascending=True)
    names = [t.partition("=")[0] for t in args.tier] if args.tier else list(DEFAULT_TIERS)
    check_build_args(names, None, args.n, args.kinds, args.budgets, args.count, None)
    specs = tier_overrides(args) or {k: vars(v) for k, v in DEFAULT_TIERS.items()}
    tiers = {name: load_tier(TierSpec(**spec), name) for name, spec in specs.items()}
    exams = build_exams(
        tiers, n=args.n, kinds=args.kinds, budgets=args.budgets, count=args.count, seed=args.seed
    )
    rows = verl_rows(exams, args.tokenizer, args.level_bounds)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:  # atomic: a kill mid-write never leaves a partial parquet at --out
        write_parquet(rows, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {len(exams)} verl rows to {args.out}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from roi_reasoning.demo import demo_config, run_demo

    cfg = demo_config(args.out, args.quick, args.config, args.set or [])
    report = run_demo(cfg, progress=not args.no_progress)
    print(report.read_text())
    print(f"report: {report}", file=sys.stderr)
    return 0


def add_stage_parsers(sub: argparse._SubParsersAction) -> None:
    from roi_reasoning.world.cli import add_world_parser

    prof = sub.add_parser(
        "profile", help="K sampled solutions per problem → (tokens, correct) table"
    )
    prof.add_argument("--config", help="YAML with ProfileConfig keys; flags override it")
    prof.add_argument("--out", help="profile JSONL (rerun to resume)")
    prof.add_argument("--policy", help="hf (default), scripted, vllm, openai or module:Class")
    prof.add_argument("--policy-arg", type=_kv, action="append", metavar="KEY=VALUE")
    prof.add_argument("--tier", action="append", metavar="NAME=SOURCE[#level>=K]")
    prof.add_argument("--per-tier", type=int, help="problems per tier")
    prof.add_argument("--k", type=int, help="samples per problem")
    prof.add_argument("--max-tokens", type=int, help="generation cap per sample (tokens)")
    prof.add_argument("--level-bounds", type=_csv(int))
    prof.add_argument("--batch-size", type=int)
    prof.add_argument("--seed", type=int)
    prof.add_argument("--no-progress", action="store_true")
    prof.set_defaults(handler=cmd_profile)
    _add_training_parsers(sub)
    _add_export_parsers(sub)
    add_world_parser(sub)

    demo = sub.add_parser("demo", help="world → profile → MFT → RARL → eval → report (CPU)")
    demo.add_argument("--out", default="runs/demo")
    demo.add_argument("--quick", action="store_true", help="smoke-sized run (seconds, not minutes)")
    demo.add_argument("--config", help="YAML of demo settings (DemoConfig; `world:` nested)")
    demo.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a setting with a dotted key and a YAML value, e.g. world.seed=3 or rarl_steps=300",
    )
    demo.add_argument("--no-progress", action="store_true")
    demo.set_defaults(handler=cmd_demo)


def _add_training_parsers(sub: argparse._SubParsersAction) -> None:
    mft = sub.add_parser("mft", help="Meta-Cognitive Fine-Tuning").add_subparsers(
        dest="action", required=True
    )
    build = mft.add_parser("build", help="profile → MFT dataset (TRL prompt/completion)")
    build.add_argument("--config")
    build.add_argument("--profile")
    build.add_argument("--tokenizer", help="the policy's tokenizer (model folder)")
    build.add_argument("--out")
    build.add_argument("--tier", action="append", metavar="NAME=SOURCE[#level>=K]")
    build.add_argument("--level-bounds", type=_csv(int))
    build.add_argument("--budgets", type=_csv(int))
    build.add_argument("--exams", type=int, help="multi-problem exam rows")
    build.add_argument("--n", type=int, help="problems per exam")
    build.add_argument("--max-na-share", type=float)
    build.add_argument("--seed", type=int)
    build.set_defaults(handler=cmd_mft_build)
    tr = mft.add_parser("train", help="SFT with TRL (full or LoRA, from a YAML recipe)")
    tr.add_argument("--config", help="YAML recipe, e.g. configs/mft/world.yaml")
    tr.add_argument("--model")
    tr.add_argument("--dataset")
    tr.add_argument("--out")
    tr.add_argument("--max-steps", type=int)
    tr.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    tr.set_defaults(handler=cmd_mft_train)

    rarl = sub.add_parser("rarl", help="Rationality-Aware RL (Dr. GRPO)").add_subparsers(
        dest="action", required=True
    )
    rt = rarl.add_parser("train", help="Dr. GRPO on exams with the exam reward (TRL)")
    rt.add_argument("--config", help="YAML recipe, e.g. configs/rarl/world.yaml")
    rt.add_argument("--model")
    rt.add_argument("--out")
    rt.add_argument("--tier", action="append", metavar="NAME=SOURCE[#level>=K]")
    rt.add_argument(
        "--budgets", type=_csv(int), help="per-exam token budgets mixed in one run, e.g. 128,320"
    )
    rt.add_argument("--max-steps", type=int)
    rt.add_argument("--report-to", help="none, tensorboard, wandb")
    rt.add_argument("--use-vllm", action="store_true", help="generate with vLLM (GPU)")
    rt.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    rt.set_defaults(handler=cmd_rarl_train)


def _add_export_parsers(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="exams for other RL frameworks").add_subparsers(
        dest="target", required=True
    )
    ve = export.add_parser("verl", help="verl parquet rows scored by adapters.verl.compute_score")
    ve.add_argument("--out", required=True, help="parquet path")
    ve.add_argument("--tokenizer", required=True, help="the policy's model folder / hub id")
    ve.add_argument("--tier", action="append", metavar="NAME=SOURCE[#level>=K]")
    ve.add_argument("--n", type=int)
    ve.add_argument("--kinds", type=_csv(str), default=["easy", "medium", "hard"])
    ve.add_argument("--budgets", type=_csv(int), default=[512, 1024])
    ve.add_argument("--count", type=int, default=100)
    ve.add_argument("--seed", type=int, default=0)
    ve.add_argument("--level-bounds", type=_csv(int), default=[256, 512, 1024])
    ve.set_defaults(handler=cmd_export_verl)
