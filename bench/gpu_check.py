"""One prepared device check of the GPU path (issue 20): decode speed, one RARL step, fp32 masters.

Offline and weight-free: a model of Qwen2.5-1.5B's shape built from its config with random
weights (torch and transformers only; roi's own code from ``src/``), so it runs on a bare device
image with nothing but the checkout. Three measurements, each in its own section so one failure
does not hide the others; a hard time limit (``--limit-s``, default 480 s) skips what is left.

1. ``decode``: the hf policy's ``generate`` call (greedy, left-padded prompts of 128 tokens, 256
   new tokens forced, ``disable_compile``, dynamic and static KV cache) at batch 1 / 16 / 64, in
   tokens/s, against the memory-bandwidth limit: every decode step reads the bf16 weights and
   the KV cache once, so tokens/s ≤ batch × bandwidth / (weight bytes + KV bytes per step), with
   the bandwidth measured here by a device-to-device copy.
2. ``rarl_step``: the training half of one RARL optimizer step of the recipe's shape
   (configs/rarl/qwen2.5-1.5b.yaml: 4 micro-batches of 16 completions × (300 prompt + 1,024
   completion) tokens): fp32 master weights (``trl_args.model_kwargs``), bf16 autocast,
   activation checkpointing, the per-token log-probabilities of the completion (TRL's
   selective log-softmax), AdamW at lr 1e-6. Peak memory and time; generation (vLLM, which
   takes ``vllm_gpu_memory_utilization`` of the card on top) is not part of it.
3. ``moves``: the share of weights that step changed (fp32 masters), against the share the same
   update would change in bf16 weights (``bf16(bf16(w) + Δ) ≠ bf16(w)``).

``--smoke`` runs the same code on a tiny model of the same family on CPU in seconds (CI:
tests/test_gpu_path.py); its figures mean nothing.

Run example: ``python bench/gpu_check.py --out gpu_check.json`` (one GPU, ≤ 9 min on an H100),
``python bench/gpu_check.py --smoke``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# Qwen/Qwen2.5-1.5B-Instruct's config.json (the shape; weights are random here)
QWEN15B = {
    "vocab_size": 151936,
    "hidden_size": 1536,
    "intermediate_size": 8960,
    "num_hidden_layers": 28,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "rope_theta": 1000000.0,
    "tie_word_embeddings": True,
}
TINY = {**QWEN15B, "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128}
TINY.update(num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=2048)
FULL = {"batches": (1, 16, 64), "prompt": 128, "new": 256, "micro": 16, "accum": 4}
FULL.update(rarl_prompt=300, rarl_completion=1024)
SMOKE = {"batches": (1, 4), "prompt": 8, "new": 8, "micro": 2, "accum": 2}
SMOKE.update(rarl_prompt=8, rarl_completion=16)
LR = 1e-6  # the RARL recipe's learning rate


def build_model(shape: dict[str, Any], device: str, dtype: torch.dtype) -> Any:
    """A Qwen2 causal LM of ``shape`` with random weights, built on ``device`` in ``dtype``."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**shape, pad_token_id=0, eos_token_id=1, bos_token_id=None)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(config)
    return model.to(dtype)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def copy_bandwidth(device: str, gib: float) -> float:
    """Bytes/s of a device-to-device copy (each byte read once and written once)."""
    x = torch.empty(int(gib * 2**30), dtype=torch.uint8, device=device)
    y = torch.empty_like(x)
    y.copy_(x)
    sync(device)
    start = time.perf_counter()
    for _ in range(5):
        y.copy_(x)
    sync(device)
    return 2 * 5 * x.numel() / (time.perf_counter() - start)


def decode(model: Any, p: dict[str, Any], device: str) -> dict[str, Any]:
    """Tokens/s of the hf policy's greedy ``generate`` call per batch and KV cache."""
    cfg = model.config
    weight_bytes = sum(t.numel() * t.element_size() for t in model.parameters())
    kv_per_token = 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * model.dtype.itemsize
    kv_per_token *= cfg.hidden_size // cfg.num_attention_heads  # K and V bytes per position
    bandwidth = copy_bandwidth(device, 2.0 if device.startswith("cuda") else 0.05)
    rows = []
    for batch in p["batches"]:
        ids = torch.randint(2, cfg.vocab_size, (batch, p["prompt"]), device=device)
        mask = torch.ones_like(ids)
        mask[1:, : p["prompt"] // 4] = 0  # left padding on every row but the first
        mean_ctx = p["prompt"] + p["new"] / 2
        limit = batch * bandwidth / (weight_bytes + batch * mean_ctx * kv_per_token)
        for cache in (None, "static"):
            kw = {"attention_mask": mask, "max_new_tokens": p["new"], "min_new_tokens": p["new"]}
            kw.update(do_sample=False, pad_token_id=0, disable_compile=True)
            kw.update(cache_implementation=cache)
            with torch.inference_mode():
                model.generate(ids, **{**kw, "max_new_tokens": 2, "min_new_tokens": 2})  # warm-up
                sync(device)
                start = time.perf_counter()
                out = model.generate(ids, **kw)
                sync(device)
            seconds = time.perf_counter() - start
            rate = batch * (out.shape[1] - ids.shape[1]) / seconds
            rows.append({"batch": batch, "cache": cache or "dynamic", "tok_s": round(rate, 1)})
            rows[-1].update(limit_tok_s=round(limit, 1), share_of_limit=round(rate / limit, 3))
    return {"bandwidth_GBps": round(bandwidth / 1e9, 1), "weight_GB": weight_bytes / 1e9}, rows


def rarl_step(p: dict[str, Any], shape: dict[str, Any], device: str) -> dict[str, Any]:
    """One optimizer step of RARL's training half (see the module docstring); fp32 masters."""
    from roi_reasoning.training.trl_args import model_kwargs

    dtype = model_kwargs({})["dtype"]  # roi's default for the policy it trains: float32
    model = build_model(shape, device, dtype)
    enable = getattr(model, "activation_checkpointing_enable", None)  # transformers >= 5.23
    (enable or model.gradient_checkpointing_enable)()
    model.config.use_cache = False
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=LR)
    # a host copy: the peak below counts only what the step itself holds on the device
    before = [t.detach().to("cpu", copy=True) for t in model.parameters()]
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    length = p["rarl_prompt"] + p["rarl_completion"]
    sync(device)
    start = time.perf_counter()
    for _ in range(p["accum"]):
        ids = torch.randint(2, shape["vocab_size"], (p["micro"], length), device=device)
        advantages = torch.randn(p["micro"], 1, device=device)
        keep = p["rarl_completion"] + 1  # TRL's logits_to_keep: the completion's positions
        with torch.autocast(device.split(":")[0], torch.bfloat16, enabled=device != "cpu"):
            logits = model(ids, logits_to_keep=keep).logits[:, :-1]
        logps = log_softmax_at(logits, ids[:, p["rarl_prompt"] :])
        # Dr. GRPO: Σ advantage · log p over tokens / (G · max_completion_length)
        loss = -(advantages * logps).sum() / (logps.numel() * p["accum"])
        loss.backward()
        del logits, logps, loss
    optim.step()
    optim.zero_grad(set_to_none=True)
    sync(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    after = list(model.parameters())
    moves = weights_moved(before, after)
    step = {"master_dtype": str(dtype).removeprefix("torch."), "seconds": round(seconds, 2)}
    step.update(peak_GiB=None if peak is None else round(peak, 2), tokens=p["micro"] * length)
    step["log_softmax"] = "trl" if _has_trl() else "logsumexp"
    step["tokens"] *= p["accum"]
    return step, moves


def log_softmax_at(logits: Any, index: Any) -> Any:
    """log p(index) per position: TRL's ``selective_log_softmax`` (its fused kernel on CUDA with
    triton) when TRL is installed, else the same quantity from one fp32 logsumexp."""
    try:
        from trl.trainer.utils import selective_log_softmax
    except ImportError:
        logits = logits.float()
        return logits.gather(-1, index[..., None])[..., 0] - torch.logsumexp(logits, dim=-1)
    return selective_log_softmax(logits, index)


def weights_moved(before: list[Any], after: list[Any]) -> dict[str, Any]:
    """Share of weights one step changed in fp32, and the share the same update Δ changes when
    the weights are bf16 (bf16(bf16(w) + Δ) ≠ bf16(w)): what a bf16 master would keep."""
    changed = changed_bf16 = total = 0
    for w, new in zip(before, after, strict=True):
        new = new.detach().to(w.device)
        delta = new.float() - w.float()
        changed += int((new != w).sum())
        w16 = w.to(torch.bfloat16)
        changed_bf16 += int(((w16.float() + delta).to(torch.bfloat16) != w16).sum())
        total += w.numel()
    return {"lr": LR, "fp32_changed": changed / total, "bf16_would_change": changed_bf16 / total}


def _has_trl() -> bool:
    import importlib.util

    return importlib.util.find_spec("trl") is not None


def section(name: str, fn: Callable[[], Any], out: dict[str, Any], deadline: float) -> None:
    """Run one section into ``out[name]``; an error or the deadline is recorded, not raised."""
    if time.monotonic() > deadline:
        out[name] = {"skipped": "time limit reached"}
        return
    start = time.monotonic()
    try:
        out[name] = fn()
    except Exception as exc:  # one failing section must not hide the others' figures
        out[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
    print(f"{name} ({time.monotonic() - start:.1f} s): {json.dumps(out[name])}", flush=True)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run(smoke: bool, limit_s: float) -> dict[str, Any]:
    import transformers

    device = "cuda" if torch.cuda.is_available() and not smoke else "cpu"
    p, shape = (SMOKE, TINY) if smoke else (FULL, QWEN15B)
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    out: dict[str, Any] = {"smoke": smoke, "device": name}
    out.update(torch=torch.__version__, transformers=transformers.__version__)
    deadline = time.monotonic() + limit_s
    dtype = torch.bfloat16 if device == "cuda" else torch.float32  # the hf policy's "auto"
    steps: dict[str, Any] = {}

    def do_decode() -> Any:
        model = build_model(shape, device, dtype).eval()
        info, rows = decode(model, p, device)
        return {**info, "dtype": str(dtype).removeprefix("torch."), "rows": rows}

    def do_step() -> Any:
        steps["step"], steps["moves"] = rarl_step(p, shape, device)
        return steps["step"]

    section("decode", do_decode, out, deadline)
    section("rarl_step", do_step, out, deadline)
    section("moves", lambda: steps["moves"], out, deadline)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny model on CPU (CI)")
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument("--limit-s", type=float, default=480.0, help="skip sections after this")
    args = ap.parse_args(argv)
    out = run(args.smoke, args.limit_s)
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
