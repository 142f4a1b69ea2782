"""The world model's training loop: AdamW on length-bucketed batches, loss on completions only,
data-parallel over threads.

A model this small (hidden 96, 0.35 M parameters) gains nothing from intra-op threads, so they
are set to 1; torch releases the GIL inside its kernels, so ``cfg.workers`` replicas stepping on
their own batches in as many Python threads keep that many cores busy (speed-ups:
docs/findings.md §1). Gradients are summed into the main replica, which steps and copies its
weights back to the others.

Run example: ``python -c "from roi_reasoning.world.train import train_model; help(train_model)"``
"""

from __future__ import annotations

import copy
import math
import random
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from roi_reasoning.world.problems import WorldConfig

Example = tuple[list[int], list[int]]  # (prompt token ids, completion token ids incl. eos)


def make_batches(lengths: Sequence[int], batch_tokens: int, seed: int) -> list[list[int]]:
    """Index batches of similar length (little padding), at most ``batch_tokens`` padded tokens
    each (one example at least), in a seeded random order."""
    rng = random.Random(f"roi-world-batches:{seed}")
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        if cur and (len(cur) + 1) * lengths[i] > batch_tokens:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def collate(examples: Sequence[Example], idx: Sequence[int], pad_id: int) -> dict[str, Any]:
    """Right-padded batch; labels are -100 on prompt and padding (loss on completions only)."""
    import torch

    width = max(len(examples[i][0]) + len(examples[i][1]) for i in idx)
    ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
    labels = torch.full((len(idx), width), -100, dtype=torch.long)
    for row, i in enumerate(idx):
        prompt, completion = examples[i]
        n = len(prompt) + len(completion)
        ids[row, :n] = torch.tensor(prompt + completion)
        labels[row, len(prompt) : n] = torch.tensor(completion)
    # No attention mask: padding is on the right, so causal attention never lets a real token see
    # a pad, and pads carry no loss (the fast causal SDPA path).
    return {"input_ids": ids, "labels": labels}


def lr_at(step: int, cfg: WorldConfig) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress))))


class _Batches:
    """An endless stream of batches: a new seeded shuffle every epoch."""

    def __init__(self, examples: Sequence[Example], cfg: WorldConfig) -> None:
        self.lengths = [len(p) + len(c) for p, c in examples]
        self.cfg, self.epoch = cfg, 0
        self.todo: list[list[int]] = []

    def next(self) -> list[int]:
        if not self.todo:
            self.todo = make_batches(
                self.lengths, self.cfg.batch_tokens, self.cfg.seed * 1000 + self.epoch
            )
            self.epoch += 1
        return self.todo.pop()


def _loss_backward(model: Any, batch: dict[str, Any], weight: float) -> float:
    loss = model(**batch).loss
    (loss * weight).backward()
    return float(loss.detach())


class _Replicas:
    """The model and ``workers - 1`` copies; one optimiser step runs one batch per replica, each
    in its own thread, and sums the gradients into the model."""

    def __init__(self, model: Any, cfg: WorldConfig) -> None:
        import torch

        self.models = [model] + [copy.deepcopy(model) for _ in range(cfg.workers - 1)]
        self.params = [list(m.parameters()) for m in self.models]
        self.opt = torch.optim.AdamW(
            self.params[0], lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.01
        )
        self.pool = ThreadPoolExecutor(max_workers=max(1, cfg.workers - 1))
        for m in self.models:
            m.train()

    def load(self, weights: dict[str, Any], optimizer: dict[str, Any]) -> None:
        """Restore a checkpoint into every replica and the optimiser."""
        for m in self.models:
            m.load_state_dict(weights)
        self.opt.load_state_dict(optimizer)

    def step(self, batches: list[dict[str, Any]], lr: float) -> tuple[float, int]:
        """(mean loss over the step's completion tokens, completion tokens)."""
        import torch

        counts = [int((b["labels"] != -100).sum()) for b in batches]
        weights = [c / sum(counts) for c in counts]  # the mean over all completion tokens
        futures = [
            self.pool.submit(_loss_backward, m, b, w)
            for m, b, w in zip(self.models[1:], batches[1:], weights[1:], strict=True)
        ]
        loss = _loss_backward(self.models[0], batches[0], weights[0]) * weights[0]
        loss += sum(f.result() * w for f, w in zip(futures, weights[1:], strict=True))
        main = self.params[0]
        for other in self.params[1:]:
            for p, q in zip(main, other, strict=True):
                p.grad += q.grad
                q.grad = None
        for group in self.opt.param_groups:
            group["lr"] = lr
        torch.nn.utils.clip_grad_norm_(main, 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            for other in self.params[1:]:
                for p, q in zip(main, other, strict=True):
                    q.copy_(p)
        return loss, sum(counts)


CHECKPOINT_EVERY = 500  # optimiser steps between checkpoints


def _save(path: Path, replicas: _Replicas, stream: _Batches, state: dict[str, Any]) -> None:
    """Everything a resumed run needs to continue step for step: weights, optimiser, the batch
    stream's position, and the counters (written to a temporary file, then renamed)."""
    import torch

    tmp = path.with_name(path.name + ".tmp")
    blob = {
        "model": replicas.models[0].state_dict(),
        "optimizer": replicas.opt.state_dict(),
        "stream": {"epoch": stream.epoch, "todo": stream.todo},
        **state,
    }
    torch.save(blob, tmp)
    tmp.replace(path)


def _resume(path: Path, replicas: _Replicas, stream: _Batches) -> dict[str, Any]:
    import torch

    blob = torch.load(path, weights_only=False)
    replicas.load(blob.pop("model"), blob.pop("optimizer"))
    stream.epoch, stream.todo = blob["stream"]["epoch"], blob.pop("stream")["todo"]
    return blob


def train_model(
    model: Any,
    examples: Sequence[Example],
    cfg: WorldConfig,
    pad_id: int,
    progress: bool = True,
    checkpoint: Path | None = None,
) -> dict[str, Any]:
    """``cfg.steps`` AdamW steps; each step takes one batch per worker (``cfg.workers``).
    Stops early after ``cfg.max_train_seconds`` of this run (wall clock) and says so in the
    stats. With ``checkpoint`` (a file path), the state is saved every ``CHECKPOINT_EVERY``
    steps and at the end, and a run that finds one continues from it: an interrupted build
    resumes step for step (the batch order and the optimiser state are restored)."""
    import torch
    from tqdm import tqdm

    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)  # intra-op threads only add overhead at this size
    replicas, stream = _Replicas(model, cfg), _Batches(examples, cfg)
    state: dict[str, Any] = {"step": 0, "tokens": 0, "losses": [], "seconds": 0.0}
    if checkpoint is not None and checkpoint.exists():
        state = _resume(checkpoint, replicas, stream)
    losses = state["losses"]
    start, cpu0 = time.perf_counter(), time.process_time()
    bar = tqdm(
        total=cfg.steps,
        initial=state["step"],
        desc="world train",
        disable=not progress,
        file=sys.stderr,
    )
    try:
        while state["step"] < cfg.steps and time.perf_counter() - start < cfg.max_train_seconds:
            batches = [collate(examples, stream.next(), pad_id) for _ in replicas.models]
            loss, count = replicas.step(batches, lr_at(state["step"], cfg))
            losses.append(loss)
            state["tokens"] += count
            state["step"] += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
            done = state["step"] == cfg.steps
            if checkpoint is not None and (state["step"] % CHECKPOINT_EVERY == 0 or done):
                elapsed = state["seconds"] + time.perf_counter() - start
                _save(checkpoint, replicas, stream, {**state, "seconds": elapsed})
    finally:
        bar.close()
        replicas.pool.shutdown()
        torch.set_num_threads(threads_before)
    model.eval()
    return {
        "steps": state["step"],
        "stopped_early": state["step"] < cfg.steps,
        "epochs": stream.epoch,
        # wall-clock training time, summed over the runs of a resumed build
        "seconds": round(state["seconds"] + time.perf_counter() - start, 1),
        "cpu_seconds": round(time.process_time() - cpu0, 1),  # this run, all threads together
        "completion_tokens": state["tokens"],
        "loss_first": round(sum(losses[:10]) / max(1, len(losses[:10])), 4),
        "loss_last": round(sum(losses[-10:]) / max(1, len(losses[-10:])), 4),
    }
