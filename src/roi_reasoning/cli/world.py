"""``roi world build|data``: write the world's problem files, build (or find) its base model.
Heavy imports (torch) stay inside the handlers.

Run example: ``roi world build --out ~/.cache/roi-reasoning/world`` (prints the model folder)
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from roi_reasoning.world.problems import WorldConfig


def _config(args: argparse.Namespace) -> WorldConfig:
    from roi_reasoning.config import load_config

    overrides = {"seed": getattr(args, "seed", None)}
    return load_config(WorldConfig, args.config, overrides)


def summary(meta: dict[str, Any]) -> str:
    """A few lines for people: accuracies per tier, paper scores per budget, timings."""
    q = meta["quality"]
    tiers = ", ".join(
        f"{t} {r['accuracy']:.0%} ({r['tokens']:.0f} tok)" for t, r in q["single"].items()
    )
    lines = [f"single problems: {tiers}"]
    for budget, row in q["papers"]["score"].items():
        lines.append(f"papers {budget}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))
    lines.append(f"N=3 answers in order: {q['papers']['in_order']:.0%}")
    s = meta["seconds"]
    lines.append(
        f"built in {s['total']:.0f} s (train {s['train']:.0f} s, measure {s['measure']:.0f} s)"
    )
    return "\n".join(lines)


def cmd_world_build(args: argparse.Namespace) -> int:
    from roi_reasoning.validate import check_out_dir
    from roi_reasoning.world import load_world
    from roi_reasoning.world.model import build_world_model

    if args.out:
        check_out_dir(args.out)

    path = build_world_model(
        _config(args), args.out, progress=not args.no_progress, force=args.force
    )
    print(summary(load_world(path)), file=sys.stderr)
    print(path)
    return 0


def cmd_world_data(args: argparse.Namespace) -> int:
    from roi_reasoning.validate import check_out_dir
    from roi_reasoning.world.problems import write_world

    check_out_dir(args.out)
    files = write_world(args.out, _config(args))
    print(json.dumps(files, indent=2))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    world = sub.add_parser("world", help="the embedded arithmetic world and its tiny base model")
    actions = world.add_subparsers(dest="action", required=True)
    build = actions.add_parser(
        "build", help="generate the world and train its base model (cached by config hash)"
    )
    build.add_argument(
        "--out", help="cache folder (default: $ROI_CACHE/world); the model lands in <out>/<hash>"
    )
    build.add_argument(
        "--force", action="store_true", help="rebuild even if a complete build exists"
    )
    build.add_argument("--config", help="YAML with WorldConfig keys (defaults: the dataclass)")
    build.add_argument("--seed", type=int)
    build.add_argument("--no-progress", action="store_true")
    build.set_defaults(handler=cmd_world_build)
    data = actions.add_parser("data", help="write the tier JSONL files only (no torch)")
    data.add_argument(
        "--out", required=True, help="folder for easy/medium/hard(.train|.test).jsonl"
    )
    data.add_argument("--config", help="YAML with WorldConfig keys")
    data.add_argument("--seed", type=int)
    data.set_defaults(handler=cmd_world_data)
