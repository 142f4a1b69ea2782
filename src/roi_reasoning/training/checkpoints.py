"""Crash-safe training outputs, shared by MFT and RARL: a kill (or a full disk) at any instant
leaves the previous complete state or the new one, never one that blocks the rerun.

- Checkpoints: transformers writes ``checkpoint-N/`` in place and ``trainer_state.json`` last,
  so a checkpoint is complete when that file parses and names step N. ``resume_checkpoint``
  resumes from the newest complete one and removes (and reports) incomplete ones.
- ``final/``: written into a temporary folder beside it, verified, then renamed
  (``save_final``); a stale temporary folder of a dead run is removed.
- ``FiniteGuard``: a loss or gradient norm that is NaN or infinite stops training with a
  ``TrainingError``; ``check_finite`` refuses to save a model whose weights are not finite.
- ``disk_errors``: a full disk during a save is an OSError (one line), not a traceback.
- ``train_to_final``: all of the above around one TRL trainer (MFT and RARL).
- ``main_process_lock``: the run folder's lock (``runlock``), taken by the main process only
  (every rank of a multi-process launch runs the same command).

Run example: ``python -c "from roi_reasoning.training.checkpoints import resume_checkpoint; print(resume_checkpoint('runs/demo/mft'))"``
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from roi_reasoning import runfolder
from roi_reasoning.errors import TrainingError
from roi_reasoning.inputs import BadValue, parse_json
from roi_reasoning.runlock import hold
from roi_reasoning.validate import nearest_existing

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")  # transformers' PREFIX_CHECKPOINT_DIR folders
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors")


def _note(message: str) -> None:
    print(f"[checkpoints] {message}", file=sys.stderr)


def is_complete(checkpoint: Path) -> bool:
    """``trainer_state.json`` (written last) parses and names the folder's step, and weights
    are present."""
    m = CHECKPOINT.match(checkpoint.name)
    state = checkpoint / "trainer_state.json"
    if m is None or not state.is_file():
        return False
    try:
        step = parse_json(state.read_text(encoding="utf-8")).get("global_step")
    except (BadValue, UnicodeDecodeError, AttributeError, OSError):
        return False
    return step == int(m[1]) and any((checkpoint / w).is_file() for w in WEIGHTS)


def resume_checkpoint(out: str | os.PathLike[str]) -> str | None:
    """The newest complete ``checkpoint-N`` under ``out`` (None: start afresh). Incomplete
    ones, left by a crash during their save, are removed with a note: transformers would
    otherwise resume from (or rotate in) the newest folder, complete or not."""
    folder = Path(out)
    found = sorted(
        (int(m[1]), p)
        for p in (folder.iterdir() if folder.is_dir() else ())
        if p.is_dir() and (m := CHECKPOINT.match(p.name))
    )
    best = None
    for _, path in found:
        if is_complete(path):
            best = path
        else:
            _note(f"removing {path}: incomplete (a crash during its save)")
            shutil.rmtree(path)
    if best is not None:
        _note(f"resuming from {best}")
    return str(best) if best is not None else None


def verify_model_folder(folder: Path) -> None:
    """A saved model folder has a parsable ``config.json`` and readable safetensors weights."""
    from safetensors import safe_open

    parse_json((folder / "config.json").read_text(encoding="utf-8"))
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise TrainingError(f"{folder}: no weights were written")
    for path in weights:
        with safe_open(str(path), framework="pt") as fh:
            fh.keys()


def save_final(
    final: str | os.PathLike[str], write: Callable[[Path], None], main: bool = True
) -> Path:
    """``write(tmp)`` into ``.<final>.tmp`` beside ``final``, verify it, rename it to ``final``:
    a crash leaves no ``final`` (the stage reruns) or a complete one. Every rank of a
    multi-process launch calls it (saving may gather sharded weights); only the ``main`` one
    clears a stale temporary folder and publishes (the run folder's lock makes it the only
    writer)."""
    final = Path(final)
    tmp = final.with_name(f".{final.name}.tmp")
    if main:
        shutil.rmtree(tmp, ignore_errors=True)  # left by a crashed earlier run
    write(tmp)
    if not main:
        return final
    try:
        verify_model_folder(tmp)
        if final.exists():  # an older complete one: replaced whole
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def check_finite(model: Any, stage: str) -> None:
    """TrainingError when any weight is NaN or infinite (a diverged run must not be saved)."""
    import torch

    bad = [n for n, p in model.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise TrainingError(
            f"{stage}: {len(bad)} weight tensors are not finite (first: {bad[0]}); the run "
            "diverged: lower learning_rate"
        )


class FiniteGuard(TrainerCallback):
    """Stop training at the first logged loss or gradient norm that is not finite."""

    KEYS = ("loss", "grad_norm")

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        for key in self.KEYS:
            value = (logs or {}).get(key)
            if isinstance(value, (int, float)) and not math.isfinite(value):
                raise TrainingError(
                    f"{self.stage}: {key} is {value} at step {state.global_step}; the run "
                    "diverged: lower learning_rate"
                )


@contextlib.contextmanager
def disk_errors(out: str | os.PathLike[str]) -> Iterator[None]:
    """torch reports a full disk while saving as a RuntimeError (``iostream error``,
    ``unexpected pos``): turned into the OSError it is, one ``error:`` line in the CLI. The
    torn checkpoint it leaves is removed on the rerun (``resume_checkpoint``)."""
    try:
        yield
    except RuntimeError as exc:
        if shutil.disk_usage(nearest_existing(Path(out))).free >= 16 * 1024**2:
            raise
        reason = " ".join(str(exc).split())[:120]
        raise OSError(
            errno.ENOSPC, f"no space left on device while saving ({reason})", str(out)
        ) from None


@contextlib.contextmanager
def main_process_lock(out: str | os.PathLike[str]) -> Iterator[None]:
    """The run folder's lock on the main process (RANK 0 or a single process), none elsewhere."""
    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    with hold(out):
        yield


def train_to_final(
    trainer: Any,
    out: str | os.PathLike[str],
    stage: str,
    resume: bool,
    final_model: Callable[[], Any],
    write: Callable[[Any, Path], None],
) -> Path:
    """The crash-safe run of a TRL trainer (MFT and RARL alike): the run folder's lock, the
    NaN/inf guard, resume from the newest complete checkpoint, then ``final_model()`` checked
    finite and published as ``<out>/final`` through ``write(model, folder)`` (``save_final``;
    every rank calls it, the main one publishes)."""
    trainer.add_callback(FiniteGuard(stage))
    with main_process_lock(out), disk_errors(out):
        trainer.train(resume_from_checkpoint=resume_checkpoint(out) if resume else None)
        model = final_model()
        check_finite(model, stage)
        final = Path(out) / runfolder.FINAL
        save_final(final, lambda folder: write(model, folder), trainer.is_world_process_zero())
    return final
