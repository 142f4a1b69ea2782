"""The pure core imports neither torch nor transformers (docs/design.md §3)."""

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "roi_reasoning"
# The core layer (docs/design.md, "Layering"): every module at the package root but the test
# helpers, and the core subpackages.
CORE = [p.stem for p in SRC.glob("*.py") if p.stem not in ("__init__", "testing")]
CORE += ["grading", "report", "report.writer", "report.sections", "report.data", "report.curve"]
# Above the core, importing these stays light too: `roi --help` and the scripted policy need
# no torch (heavy imports live inside the functions that use them).
LIGHT = [
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
    "policies.methods",
    "evaluation.evaluate",
    "training.profiling",
    "training.mft",
    "training.mft_data",
    "training.rarl",
    "demo.config",
    "demo.pipeline",
    "adapters",
    "adapters.verl",
]


def test_core_modules_do_not_import_torch_or_transformers():
    code = (
        "import sys\n"
        + "".join(f"import roi_reasoning.{m}\n" for m in CORE + LIGHT)
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
