"""``roi demo``: world → profile → MFT → RARL → eval → report on CPU (``roi_reasoning.demo.pipeline``).

Run example: ``roi demo --out runs/demo --set world.seed=1``
"""

from __future__ import annotations

import argparse
import sys


def cmd_demo(args: argparse.Namespace) -> int:
    from roi_reasoning.demo.config import demo_config
    from roi_reasoning.demo.pipeline import run_demo

    cfg = demo_config(args.out, args.quick, args.config, args.set or [])
    report = run_demo(cfg, progress=not args.no_progress)
    print(report.read_text())
    print(f"report: {report}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="world → profile → MFT → RARL → eval → report (CPU)")
    demo.add_argument("--out", default="runs/demo")
    demo.add_argument("--quick", action="store_true", help="smoke-sized run (seconds, not minutes)")
    demo.add_argument(
        "--config",
        help="YAML of demo settings (DemoConfig: `world:`, `mft_data:`, `mft:`, `rarl:` nested)",
    )
    demo.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a setting with a dotted key and a YAML value, e.g. world.seed=3 or rarl.max_steps=300",
    )
    demo.add_argument("--no-progress", action="store_true")
    demo.set_defaults(handler=cmd_demo)
