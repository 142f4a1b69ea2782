"""The pure core imports neither torch nor transformers (DESIGN.md §3)."""

import subprocess
import sys

CORE = [
    "records",
    "config",
    "data",
    "exams",
    "formats",
    "parsing",
    "grading",
    "scoring",
    "rewards",
    "knapsack",
    "metrics",
    "report",
    "methods",
    "evaluate",
    "cli",
    "cli.args",
    "cli.evaluation",
    "cli.exams",
    "cli.tools",
    "cli.training",
    "cli.world",
    "cli.demo",
    "policies",
    "policies.scripted",
    "profiling",
    "mft",
    "mft_data",
    "rarl",
    "demo",
    "adapters",
    "adapters.verl",
]


def test_core_modules_do_not_import_torch_or_transformers():
    code = (
        "import sys\n"
        + "".join(f"import roi_reasoning.{m}\n" for m in CORE)
        + "heavy = [m for m in ('torch', 'transformers', 'trl', 'datasets', 'sympy') if m in sys.modules]\n"
        + "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_roi_help_works(capsys):
    from roi_reasoning.cli import build_parser

    help_text = build_parser().format_help()
    for command in ("exams", "grade", "eval", "report", "oracle", "profile", "mft", "rarl", "demo"):
        assert command in help_text
