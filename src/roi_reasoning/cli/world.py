"""``roi world build|ship|data``: build (or find) the world's base model, copy a build into the
package as the shipped world, write the world's problem files. Heavy imports (torch) stay inside
the handlers.

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
    """A few lines for people: single and in-paper accuracies, the allocation table, the
    world's checks, timings."""
    q = meta["quality"]
    tiers = ", ".join(
        f"{t} {r['accuracy']:.0%} ({r.get('tokens_median', r['tokens']):.0f} tok)"
        for t, r in q["single"].items()
    )
    lines = [f"single problems (greedy, median tokens): {tiers}"]
    for kind, row in q["papers"].get("positions", {}).items():
        cells = ", ".join(f"P{i} {p['tier']} {p['accuracy']:.0%}" for i, p in enumerate(row, 1))
        lines.append(f"{kind} paper at the loose budget: {cells}")
    for budget, row in q["papers"]["score"].items():
        lines.append(f"papers {budget}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))
    lines.append(f"N=3 answers in order: {q['papers']['in_order']:.0%}")
    for budget, row in q.get("allocation", {}).items():
        cells = ", ".join(
            f"{k} {c['v_bellman']:.2f}/{c['attempt_all']:.2f}/{c['all_but_hardest']:.2f}"
            for k, c in row.items()
        )
        lines.append(f"V_bellman/attempt all/all but hardest {budget}: {cells}")
    if "checks" in q:
        failed = [k for k, ok in q["checks"].items() if not ok]
        lines.append("checks: " + ("all passed" if not failed else "FAILED " + ", ".join(failed)))
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


def cmd_world_ship(args: argparse.Namespace) -> int:
    from roi_reasoning.world.shipped import PRETRAINED, ship

    print(ship(args.build, args.out or PRETRAINED))
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
        "--force",
        action="store_true",
        help="train even if a complete build exists or the config is the shipped world's",
    )
    build.add_argument("--config", help="YAML with WorldConfig keys (defaults: the dataclass)")
    build.add_argument("--seed", type=int)
    build.add_argument("--no-progress", action="store_true")
    build.set_defaults(handler=cmd_world_build)
    shipping = actions.add_parser(
        "ship", help="copy a built world into the package's pretrained folder (with a manifest)"
    )
    shipping.add_argument("build", help="a complete world folder from `roi world build`")
    shipping.add_argument("--out", help="destination (default: roi_reasoning/world/pretrained)")
    shipping.set_defaults(handler=cmd_world_ship)
    data = actions.add_parser("data", help="write the tier JSONL files only (no torch)")
    data.add_argument(
        "--out", required=True, help="folder for easy/medium/hard(.train|.test|.tune).jsonl"
    )
    data.add_argument("--config", help="YAML with WorldConfig keys")
    data.add_argument("--seed", type=int)
    data.set_defaults(handler=cmd_world_data)
