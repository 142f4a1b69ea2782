"""The ``roi`` command line: one ``register(sub)`` module per command group, shared flags in
``cli.args``. Heavy imports (torch, transformers, TRL) live inside handlers, so ``roi --help``,
``roi exams``, ``roi grade``, ``roi oracle`` and ``roi report`` work without them.

Errors: bad input (``DataError``: file:line; ``ConfigError``: the setting, a missing extra
included), a run folder another process writes (``RunBusy``) and a training run that stopped
(``TrainingError``) are one ``error: ...`` line and exit code 2; an OS error on a path is one line, exit 2;
Ctrl-C exits 130. Anything else is a bug and shows its traceback.

Run example: ``roi exams build --count 10 --budgets 512,1024 --out runs/exams.jsonl``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from roi_reasoning.cli import demo, evaluation, exams, tools, training, world
from roi_reasoning.cli.args import LIMITS, Parser
from roi_reasoning.errors import ConfigError, DataError, TrainingError

LAYER = "app"  # read by tests/test_layering.py

GROUPS = (exams, tools, evaluation, training, world, demo)  # `roi --help` lists them in order


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="roi", description="Budget-aware LLM reasoning (ROI-Reasoning).", epilog=LIMITS
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return parser


def _os_error(exc: OSError) -> str:
    """``path: reason`` for an OS error on a path (no traceback, no errno noise)."""
    name = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    return f"{name}: {reason}" if name else reason


def _fail(exc: BaseException | str) -> int:
    """One ``error: ...`` line on stderr (a multi-line message is joined), exit code 2."""
    print("error: " + " ".join(str(exc).split()), file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``roi`` command. Bad input is one ``error: ...`` line naming the file and line or
    the setting, exit code 2; Ctrl-C is one line, exit code 130; a bug raises."""
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help (0) or a usage error, already printed (2)
            return exc.code if isinstance(exc.code, int) else 2
        return args.handler(args)
    except (DataError, ConfigError, TrainingError) as exc:
        return _fail(exc)
    except BrokenPipeError:  # `roi ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0
    except OSError as exc:  # a path we cannot read or write (permissions, full disk, ...)
        return _fail(_os_error(exc))
    except KeyboardInterrupt:
        print(
            "error: interrupted (rerun the same command to resume where it stopped)",
            file=sys.stderr,
        )
        return 130
