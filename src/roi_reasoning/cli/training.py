"""``roi profile``, ``roi mft build|train`` and ``roi rarl train``: the training stages (torch,
transformers and TRL are imported inside the handlers).

Run example: ``roi mft train --config configs/mft/world.yaml``
"""

from __future__ import annotations

import argparse
import json
import sys

from roi_reasoning.cli.args import (
    add_level_bounds,
    add_policy,
    add_tier,
    csv_of,
    policy_args,
    tier_overrides,
)


def cmd_profile(args: argparse.Namespace) -> int:
    from roi_reasoning.config import load_config
    from roi_reasoning.data import read_records
    from roi_reasoning.training.profiling import (
        ProfileConfig,
        run_profile,
        summarize,
    )

    overrides = {
        "out": args.out,
        "policy": args.policy,
        "policy_args": policy_args(args),
        "tiers": tier_overrides(args),
        "per_tier": args.per_tier,
        "k": args.k,
        "max_tokens": args.max_tokens,
        "level_bounds": args.level_bounds,
        "batch_size": args.batch_size,
        "seed": args.seed,
    }
    cfg = load_config(ProfileConfig, args.config, overrides)
    if cfg.policy != "scripted" and "temperature" not in cfg.policy_args:
        cfg.policy_args["temperature"] = 1.0  # K samples must differ: sample, don't decode greedily
    path = run_profile(cfg, progress=not args.no_progress)
    print(json.dumps(summarize(read_records(path), cfg.level_bounds), indent=2))
    return 0


def cmd_mft_build(args: argparse.Namespace) -> int:
    from roi_reasoning.config import load_config
    from roi_reasoning.training.mft_data import MFTBuildConfig, build_dataset

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
        "budget_targets": args.budget_targets,
        "seed": args.seed,
    }
    cfg = load_config(MFTBuildConfig, args.config, overrides)
    summary = build_dataset(cfg)
    summary.pop("config")
    print(json.dumps(summary, indent=2))
    return 0


def cmd_mft_train(args: argparse.Namespace) -> int:
    from roi_reasoning.config import load_config
    from roi_reasoning.training.mft import MFTTrainConfig, train

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
    from roi_reasoning.training.rarl import RARLConfig, train

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


def register(sub: argparse._SubParsersAction) -> None:
    prof = sub.add_parser(
        "profile", help="K sampled solutions per problem → (tokens, correct) table"
    )
    prof.add_argument("--config", help="YAML with ProfileConfig keys; flags override it")
    prof.add_argument("--out", help="profile JSONL (rerun to resume)")
    add_policy(prof, "hf")
    add_tier(prof)
    prof.add_argument("--per-tier", type=int, help="problems per tier")
    prof.add_argument("--k", type=int, help="samples per problem")
    prof.add_argument("--max-tokens", type=int, help="generation cap per sample (tokens)")
    add_level_bounds(prof)
    prof.add_argument("--batch-size", type=int)
    prof.add_argument("--seed", type=int)
    prof.add_argument("--no-progress", action="store_true")
    prof.set_defaults(handler=cmd_profile)
    _register_mft(sub)
    _register_rarl(sub)


def _register_mft(sub: argparse._SubParsersAction) -> None:
    mft = sub.add_parser("mft", help="Meta-Cognitive Fine-Tuning").add_subparsers(
        dest="action", required=True
    )
    build = mft.add_parser("build", help="profile → MFT dataset (TRL prompt/completion)")
    build.add_argument("--config", help="YAML with MFTBuildConfig keys; flags override it")
    build.add_argument("--profile")
    build.add_argument("--tokenizer", help="the policy's tokenizer (model folder)")
    build.add_argument("--out")
    add_tier(build)
    add_level_bounds(build)
    build.add_argument("--budgets", type=csv_of(int), help="token budgets, one drawn per row")
    build.add_argument("--exams", type=int, help="multi-problem exam rows")
    build.add_argument("--n", type=int, help="problems per exam")
    build.add_argument("--max-na-share", type=float)
    build.add_argument(
        "--budget-targets",
        action="store_const",
        const=True,
        help="ours: refuse where the budget runs out, with hindsight (default: the paper's "
        "targets, cut at the budget)",
    )
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


def _register_rarl(sub: argparse._SubParsersAction) -> None:
    rarl = sub.add_parser("rarl", help="Rationality-Aware RL (Dr. GRPO)").add_subparsers(
        dest="action", required=True
    )
    rt = rarl.add_parser("train", help="Dr. GRPO on exams with the exam reward (TRL)")
    rt.add_argument("--config", help="YAML recipe, e.g. configs/rarl/world.yaml")
    rt.add_argument("--model")
    rt.add_argument("--out")
    add_tier(rt)
    rt.add_argument(
        "--budgets", type=csv_of(int), help="per-exam token budgets mixed in one run, e.g. 128,320"
    )
    rt.add_argument("--max-steps", type=int)
    rt.add_argument("--report-to", help="none, tensorboard, wandb")
    rt.add_argument("--use-vllm", action="store_true", help="generate with vLLM (GPU)")
    rt.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    rt.set_defaults(handler=cmd_rarl_train)
