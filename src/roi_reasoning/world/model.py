"""Train the world's tiny base model from scratch: our CPU stand-in for an instruct model.

Training data are chat conversations: the prompt is ``formats.render_prompt(exam, method)`` for
exams from ``exams.build_exams`` over the world's train split (half N=1 single problems, half
N=3 papers of every kind; methods base / plan-and-solve / least-to-most / budget), the completion
is every problem's worked solution in order, each as ``## Problem i\\n<solution>`` — never a
tag; under the ``budget`` method's prompt (which allows it) a random ``skip_fraction`` of the
problems is answered ``\\boxed{NA}`` instead, so the model knows what a skip looks like and goes
on with the next problem, without learning when to skip. A small Llama (2 layers, hidden 96:
0.35 M parameters; a gate retry trains ``retry_num_layers``) learns them with the loss on
completion tokens only (``world.train``: a plain PyTorch loop, data-parallel over two threads,
checkpointed so an interrupted build resumes; this is a world builder, not the MFT stage), for a
fixed number of steps.

Half the conversations are papers and half the single conversations are hard problems: a
model trained mostly on single problems solves them but not papers (docs/design.md §6).

A quality gate measures every attempt (``world.quality``: greedy singles and papers over
held-out problems, the allocation table from a T=1 profile) against the world's specification
(``quality.checks``); an attempt failing a check is followed by another from a new
initialisation with ``retry_num_layers`` layers, up to ``attempts``, and the attempt passing most
checks is kept (``world.json`` records each under ``gate``).

The output folder ``<cache>/world/<config hash>`` holds the model, the tokenizer (with its chat
template), the tier files and ``world.json`` (config, hash, files, timings, measured accuracies).
A complete folder is returned at once; building writes to a temporary folder and renames it.

Run example: ``python -c "from roi_reasoning.world import build_world_model; print(build_world_model())"``
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from roi_reasoning import runfolder
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import problem_list, render_prompt
from roi_reasoning.records import Exam, Problem
from roi_reasoning.runlock import hold
from roi_reasoning.world.problems import TIERS, WorldConfig, write_world
from roi_reasoning.world.tokenizer import build_tokenizer, world_corpus
from roi_reasoning.world.train import Example, train_model

TRAIN_METHODS = ("base", "plan-and-solve", "least-to-most", "budget")
NA = "\\boxed{NA}"
SKIP_METHOD = "budget"  # its prompt says: write \\boxed{NA} for a problem not worth its cost
PAPER_CHUNK = 33_000  # groups per build_exams call (× 3 kinds ≤ its 100,000-exam limit)


def config_hash(cfg: WorldConfig) -> str:
    """Stable short hash of everything that determines the built world."""
    # 2: long-chain hard tier; 3: hard's own words, skips in budget-method conversations;
    # 4: hard = plain chains and chains with a die roll (was: a coin toss in every one)
    # (retry_num_layers, in the config since then, changes the hash of every build)
    blob = json.dumps({"format": 4, **cfg.to_dict()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def completion_text(exam: Exam, skipped: Sequence[bool] = ()) -> str:
    """The base model's target: every problem's worked solution in order, with headers; a
    ``skipped`` problem is answered ``\\boxed{NA}``."""
    skipped = list(skipped) or [False] * len(exam.problems)
    answers = [NA if skip else p.solution for p, skip in zip(exam.problems, skipped, strict=True)]
    return "\n\n".join(f"## Problem {i}\n{a}" for i, a in enumerate(answers, 1))


def load_split(files: dict[str, Any], split: str) -> dict[str, list[Problem]]:
    from roi_reasoning.data import load_jsonl

    return {
        t: [Problem(**{**p.to_dict(), "tier": t}) for p in load_jsonl(files[t][split])]
        for t in TIERS
    }


def training_exams(train: dict[str, list[Problem]], cfg: WorldConfig, count: int) -> list[Exam]:
    """``count`` exams: a ``single_fraction`` share of N=1 (tiers cycled), the rest N=3 papers of
    every kind, budgets from the config; seeded."""
    n_single = round(count * cfg.single_fraction)
    total = sum(cfg.tier_weights)
    exams: list[Exam] = []
    for tier, weight in zip(TIERS, cfg.tier_weights, strict=True):
        k = math.ceil(n_single * weight / total)
        if k > 0:
            exams += build_exams(
                {tier: train[tier]},
                n=1,
                kinds=("easy",),
                budgets=[cfg.budgets[0]],
                count=k,
                seed=cfg.seed,
            )
    n_groups = count - n_single
    rng = random.Random(f"roi-world-exams:{cfg.seed}")
    papers: list[Exam] = []
    # Drawn in chunks: the world's training set is not bound by the exam-file limit that
    # build_exams keeps for user input (100,000 exams = 33,333 groups of three kinds).
    for start in range(0, n_groups, PAPER_CHUNK):
        drawn = build_exams(
            train,
            n=3,
            kinds=("easy", "medium", "hard"),
            budgets=[cfg.budgets[0]],
            count=min(PAPER_CHUNK, n_groups - start),
            seed=cfg.seed + 1 + start,  # chunk 0 keeps the seed of a one-chunk draw
        )
        # One kind per drawn group (three orderings of the same problems teach little more).
        papers += [drawn[3 * g + rng.randrange(3)] for g in range(len(drawn) // 3)]
    exams = exams[:n_single] + papers[: count - n_single]
    budgets = list(cfg.budgets)
    exams = [Exam(e.id, e.group, e.kind, rng.choice(budgets), e.problems) for e in exams]
    rng.shuffle(exams)
    return exams


def encode_examples(
    exams: Sequence[Exam], tokenizer: Any, cfg: WorldConfig, seed: int = 0
) -> list[Example]:
    """Tokenised (prompt, completion) pairs; the prompt goes through the chat template."""
    rng = random.Random(f"roi-world-methods:{seed}")
    prompts, completions = [], []
    for exam in exams:
        if rng.random() < cfg.bare_fraction:
            # The problem list alone (no system prompt, no instructions): cheaper to train on.
            messages = [{"role": "user", "content": problem_list(exam.problems)}]
            method = "bare"
        else:
            method = rng.choice(TRAIN_METHODS)
            messages = render_prompt(exam, method, cfg.level_bounds)
        prompts.append(
            tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        )
        skips = [method == SKIP_METHOD and rng.random() < cfg.skip_fraction for _ in exam.problems]
        completions.append(completion_text(exam, skips))
    p_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    c_ids = tokenizer(completions, add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    return [(p, c + [eos]) for p, c in zip(p_ids, c_ids, strict=True)]


def new_model(cfg: WorldConfig, tokenizer: Any) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(cfg.seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        max_position_embeddings=2048,  # tokens: N=3 prompts (~300) + budgets (≤ 1024)
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config)


# ------------------------------------------------------------------ the cached build


def default_cache_dir() -> Path:
    from roi_reasoning.data import cache_root

    return cache_root() / "world"


def is_complete(folder: Path, cfg: WorldConfig | None = None) -> bool:
    """A finished build: world.json (of ``cfg``'s hash, if given), weights and tokenizer."""
    meta = folder / runfolder.WORLD
    if not (meta.exists() and (folder / "config.json").exists()):
        return False
    if not (folder / "tokenizer.json").exists() or not any(folder.glob("*.safetensors")):
        return False
    if cfg is None:
        return True
    return json.loads(meta.read_text()).get("config_hash") == config_hash(cfg)


def gate_score(quality: dict[str, Any]) -> int:
    """What the quality gate reads: how many of the world's checks (``quality.checks``) pass."""
    return sum(quality["checks"].values())


def attempt_config(cfg: WorldConfig, attempt: int) -> WorldConfig:
    """Attempt k > 0 trains a ``retry_num_layers``-deep model with another initialisation and
    batch order (``seed`` of the model and of ``train_model`` only; problems, tokenizer and
    training conversations stay the world's)."""
    if attempt == 0:
        return cfg
    return replace(cfg, seed=cfg.seed + 7919 * attempt, num_layers=cfg.retry_num_layers)


def _train_gated(
    folder: Path,
    cfg: WorldConfig,
    tokenizer: Any,
    examples: list,
    test: dict,
    progress: bool,
    partial: Path,
) -> tuple[Any, list[dict[str, Any]]]:
    """Train (and measure) up to ``cfg.attempts`` models until one passes the gate; save the
    best in ``folder``. Returns it and every attempt's record. Training checkpoints live in
    ``partial`` (``attempt-<k>.pt``), so an interrupted build resumes where it stopped."""
    from roi_reasoning.world.quality import measure

    best: tuple[int, Any] | None = None  # (attempt, model)
    records: list[dict[str, Any]] = []
    for attempt in range(cfg.attempts):
        run = attempt_config(cfg, attempt)
        model = new_model(run, tokenizer)
        checkpoint = partial / f"attempt-{attempt}.pt"
        stats = train_model(model, examples, run, tokenizer.pad_token_id, progress, checkpoint)
        t0 = time.perf_counter()
        quality = measure(model, tokenizer, test, cfg, folder / f"profile-test.{attempt}.jsonl")
        score = gate_score(quality)
        records.append(
            {
                "attempt": attempt,
                "training": stats,
                "quality": quality,
                "gate_score": score,
                "measure_seconds": round(time.perf_counter() - t0, 1),
            }
        )
        if best is None or score > records[best[0]]["gate_score"]:
            best = (attempt, model)
        if score == len(quality["checks"]):
            break
        if progress and attempt + 1 < cfg.attempts:
            failed = ", ".join(k for k, ok in quality["checks"].items() if not ok)
            print(
                f"world: attempt {attempt} failed {failed}; "
                f"training again from another initialisation ({cfg.retry_num_layers} layers)",
                file=sys.stderr,
            )
    assert best is not None  # WorldConfig checks attempts >= 1: the loop ran at least once
    best[1].save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    for attempt in range(len(records)):  # the kept attempt's profile is the world's
        profile = folder / f"profile-test.{attempt}.jsonl"
        if attempt == best[0]:
            profile.replace(folder / runfolder.WORLD_PROFILE)
        else:
            profile.unlink(missing_ok=True)
    return best, records


def machine() -> dict[str, str]:
    """Where a build ran: greedy results are exact only on the same CPU kind and versions (float
    kernels differ between CPUs)."""
    import platform

    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            ln.split(":", 1)[1].strip()
            for ln in cpuinfo.read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {"cpu": cpu, "torch": torch.__version__, "transformers": transformers.__version__}


def _build_into(folder: Path, cfg: WorldConfig, progress: bool, partial: Path) -> dict[str, Any]:
    """Data, tokenizer, training (gated), saving, measuring — everything in ``folder``."""
    t0 = time.perf_counter()
    files = write_world(folder / "data", cfg)
    train, test = load_split(files, "train"), load_split(files, "test")
    sample_rows = [p.to_dict() for t in TIERS for p in train[t][:500]]
    tokenizer = build_tokenizer(
        world_corpus(sample_rows, {t: test[t][:20] for t in TIERS}), cfg.vocab_size
    )
    examples = encode_examples(training_exams(train, cfg, cfg.examples), tokenizer, cfg, cfg.seed)
    prep_s = time.perf_counter() - t0
    (chosen, model), attempts = _train_gated(
        folder, cfg, tokenizer, examples, test, progress, partial
    )
    from roi_reasoning.world.quality import gold_costs

    kept = attempts[chosen]
    return {
        "costs": gold_costs(tokenizer, test, cfg.level_bounds),
        "config": cfg.to_dict(),
        "config_hash": config_hash(cfg),
        "files": {
            t: {k: str(Path(p).relative_to(folder)) for k, p in f.items()} for t, f in files.items()
        },
        "parameters": sum(p.numel() for p in model.parameters()),
        "machine": machine(),
        "vocab_size": len(tokenizer),
        "examples": len(examples),
        "training": kept["training"],
        "quality": kept["quality"],
        "gate": {
            "checks": len(kept["quality"]["checks"]),
            "kept_attempt": chosen,
            "passed": all(kept["quality"]["checks"].values()),
            "attempts": [
                {k: v for k, v in a.items() if k != "quality"}
                | {
                    "single": {t: r["accuracy"] for t, r in a["quality"]["single"].items()},
                    "papers": a["quality"]["papers"]["score"],
                    "checks": a["quality"]["checks"],
                }
                for a in attempts
            ],
        },
        "seconds": {
            "prepare": round(prep_s, 1),
            "train": round(sum(a["training"]["seconds"] for a in attempts), 1),
            "measure": round(sum(a["measure_seconds"] for a in attempts), 1),
            "total": round(time.perf_counter() - t0, 1),
        },
    }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _remove_dead_builds(root: Path, name: str) -> None:
    """Remove ``<name>.tmp-<pid>`` folders of builds whose process is gone (killed builds);
    a live concurrent build's folder stays."""
    for folder in root.glob(f"{name}.tmp-*"):
        pid = folder.name.rpartition("-")[2]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def build_world_model(
    cfg: WorldConfig | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Folder ``<out_dir>/<config hash>`` with the world model, tokenizer, tier files and
    ``world.json``. A complete folder is returned as it is; the config of the build shipped in
    the package (``world.shipped``) is installed from it; any other is built (trained and
    gated; build times: docs/findings.md §1). ``out_dir`` defaults to ``default_cache_dir()``;
    ``force`` trains even when a complete or a shipped build exists."""
    from roi_reasoning.world.shipped import install_shipped, shipped_config_hash

    cfg = cfg or WorldConfig()
    root = Path(out_dir) if out_dir is not None else default_cache_dir()
    final = root / config_hash(cfg)
    if is_complete(final, cfg) and not force:
        return final
    # One builder per world: builds of one config share its checkpoints (``.partial``); a
    # second process exits with RunBusy naming the first (a demo into another --out included).
    with hold(final, folder=False):
        if is_complete(final, cfg) and not force:
            return final  # finished by another process since the check above
        if not force and shipped_config_hash() == config_hash(cfg):
            shutil.rmtree(final, ignore_errors=True)  # an incomplete folder of an earlier run
            root.mkdir(parents=True, exist_ok=True)
            return install_shipped(final, cfg)  # the default world ships built: no training
        return _build(final, cfg, progress)


def _build(final: Path, cfg: WorldConfig, progress: bool) -> Path:
    """Train and gate into a temporary folder, then rename it to ``final`` (whole or not at
    all); training checkpoints in ``<final>.partial`` let a crashed build resume."""
    root = final.parent
    tmp = root / f"{final.name}.tmp-{os.getpid()}"
    partial = root / f"{final.name}.partial"  # training checkpoints: survive a crash
    _remove_dead_builds(root, final.name)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    partial.mkdir(exist_ok=True)
    try:
        meta = _build_into(tmp, cfg, progress, partial)
        (tmp / runfolder.WORLD).write_text(json.dumps(meta, indent=2))
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)  # whole folder or nothing: readers never see a half-built world
        shutil.rmtree(partial, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
