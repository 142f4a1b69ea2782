"""Hugging Face transformers policy: any causal LM (hub id or local folder, GGUF via ``gguf_file``).

Batched generation with left padding; requests are sorted by budget and prompt length so each
batch shares ``max_new_tokens`` = its exams' budget B (the budget is the hard stop) and wastes
little padding. Generation ends as soon as every sequence has finished. Token offsets for the
parser come from the same tokenizer and the one token accounting (``parsing.ids_completion``).

Decoding is ``policies.Sampling``, shared with the vllm policy: temperature (0 = greedy),
top-p, top-k and repetition penalty, each the caller's or else the checkpoint's
``generation_config`` value (transformers' default where it sets none: top-k 50), passed to
``generate`` explicitly; prompts are ``policies.prompt_ids``; generation and the token
accounting stop on one EOS set (tokenizer ∪ generation_config, ``parsing.eos_ids``).
``generate`` never auto-compiles (``disable_compile``: a static cache on CUDA would otherwise
compile, and recompile for every new batch shape).

Sampling (``temperature > 0``) keeps ``generate``'s distribution (repetition penalty,
temperature, top-k, then top-p) but draws each row from its own ``torch.Generator`` seeded by
``policies.request_seed`` (policy seed, messages, budget, ``Request.sample``), so a request's
random stream never depends on its batch, its position there or the batch size. What holds
exactly: the k-th draw of a request is the same in every batch; its tokens are the same as long
as its logits are, which left padding with an attention mask keeps up to floating-point
reduction order (the CPU tests get the same tokens; where a batch shape changes a GPU kernel's
rounding, a draw that close to a token boundary can pick its neighbour). CPU and CUDA
generators give different streams per seed. Cost: one uniform-draw call per row per 64 steps
and an inverse-CDF pick per step (batching is kept). The model's other sampling warpers
(min_p, typical_p, ...) are not applied.

Run example: ``roi eval --policy hf --policy-arg model=./my-model --methods base --count 6 --out runs/hf``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from roi_reasoning.errors import MissingExtra
from roi_reasoning.parsing import ids_completion, register_eos
from roi_reasoning.policies import (
    Request,
    Sampling,
    check_model_path,
    checkpoint_generation_config,
    prompt_text,
    request_seed,
)
from roi_reasoning.records import Completion


def _torch():
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtra("the hf policy", "train") from exc
    return torch, transformers


UNIFORM_CHUNK = 64  # generation steps of uniforms drawn per row at once


class _RowSampler:
    """A logits processor for greedy ``generate`` that samples every row with its own
    ``torch.Generator`` from ``probs`` and leaves only the drawn token finite, so the greedy
    step takes it: a row's draws depend on its seed and its own logits, not on other rows."""

    def __init__(
        self, seeds: list[int], temperature: float, top_p: float, top_k: int | None, device: str
    ) -> None:
        torch, _ = _torch()
        self.temperature, self.top_p, self.top_k = temperature, top_p, top_k
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
        self.device, self.step = device, 0
        self.uniforms: Any = None  # a (rows, UNIFORM_CHUNK) tensor once drawn

    def _next_uniforms(self) -> Any:
        """One uniform per row for this step, from the row's own stream: drawn UNIFORM_CHUNK
        steps at a time per row (one call per row per chunk, not per step: the tiny world
        model's profile spent more time in per-row sampling calls than in its forward passes)."""
        torch, _ = _torch()
        if self.uniforms is None or self.step == self.uniforms.shape[1]:
            self.uniforms = torch.stack(
                [
                    torch.rand(UNIFORM_CHUNK, generator=g, device=self.device)
                    for g in self.generators
                ]
            )
            self.step = 0
        self.step += 1
        return self.uniforms[:, self.step - 1]

    def probs(self, scores: Any) -> Any:
        """The sampling distribution per row: transformers' temperature, top-k and top-p
        warpers in ``generate``'s order (top-k before scaling keeps the same set)."""
        torch, _ = _torch()
        scores = scores.float()
        if self.top_k and self.top_k < scores.shape[-1]:
            kth = scores.topk(self.top_k, dim=-1).values[:, -1:]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        probs = torch.softmax(scores / self.temperature, dim=-1)
        if self.top_p < 1.0:  # keep the smallest top set whose mass reaches top_p
            sorted_p, index = probs.sort(dim=-1, descending=True)
            drop = sorted_p.cumsum(dim=-1) - sorted_p >= self.top_p
            drop[:, 0] = False  # the most likely token always stays (top_p = 0: greedy)
            probs = probs.scatter(-1, index, sorted_p.masked_fill(drop, 0.0))
            probs = probs / probs.sum(dim=-1, keepdim=True)
        return probs

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        torch, _ = _torch()
        probs = self.probs(scores)
        # Inverse-CDF draw: the first token whose cumulative mass exceeds u · total (a token of
        # zero mass never is: right=True skips the flat steps of the CDF).
        cdf = probs.cumsum(dim=-1)
        u = self._next_uniforms() * cdf[:, -1]
        chosen = torch.searchsorted(cdf, u[:, None], right=True).clamp(max=probs.shape[-1] - 1)
        out = torch.full_like(probs, float("-inf"))
        return out.scatter(-1, chosen, 0.0)


@dataclass
class HFPolicy:
    model: Any  # hub id / local path, or an already loaded PreTrainedModel
    tokenizer: Any = None  # id / path / loaded tokenizer; default: same as model
    gguf_file: str | None = None
    device: str = "auto"  # auto = cuda if available else cpu
    dtype: str = (
        "auto"  # auto = bf16 on CUDA with bf16 support, else fp32 (bf16 is emulated on CPU)
    )
    batch_size: int = 16
    temperature: float = 0.0  # 0 = greedy
    # None: the checkpoint's generation_config value, else transformers' default (Sampling)
    top_p: float | None = None
    top_k: int | None = None  # 0 = off
    repetition_penalty: float | None = None
    seed: int = 0
    # transformers' KV cache for generate: None = its default (a dynamic cache grown by one
    # torch.cat per layer and step, O(length) copies each); "static" preallocates prompt + budget
    # once (bench/rollout_throughput.py compares both; docs/findings.md §5 quotes it).
    cache_implementation: str | None = None
    name: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        torch, transformers = _torch()
        if self.device == "auto":
            self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.dtype == "auto":
            bf16 = self.device.startswith("cuda") and torch.cuda.is_bf16_supported()
            self.dtype = "bfloat16" if bf16 else "float32"
        extra = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        if isinstance(self.model, str):
            check_model_path(self.model)
            if isinstance(self.tokenizer, str):
                check_model_path(self.tokenizer, "tokenizer")
            self.name = self.model
            self.model = transformers.AutoModelForCausalLM.from_pretrained(
                self.model, dtype=getattr(torch, self.dtype), **extra
            )
        else:
            self.name = self.name or getattr(self.model.config, "_name_or_path", "") or "in-memory"
        if self.tokenizer is None or isinstance(self.tokenizer, str):
            source = self.tokenizer or self.name
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, **extra)
        self.tokenizer.padding_side = "left"  # decoder-only batching: pad on the left
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.to(self.device).eval()
        self.eos = register_eos(self.tokenizer, checkpoint_generation_config(self.model))

    @property
    def sampling(self) -> Sampling:
        """The decoding this policy applies (``policies.Sampling``), read from the model's
        current generation_config where the caller set no value."""
        return Sampling.resolve(
            checkpoint_generation_config(self.model),
            self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            repetition_penalty=self.repetition_penalty,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": "hf",
            "model": self.name,
            "tokenizer": getattr(self.tokenizer, "name_or_path", "") or self.name,
            "gguf_file": self.gguf_file,
            "device": self.device,
            "dtype": self.dtype,
            "decoding": {**self.sampling.describe(), "seed": self.seed},
            "eos_token_ids": sorted(self.eos),
            "cache_implementation": self.cache_implementation,
        }

    def prompt_text(self, messages: list[dict[str, str]]) -> str:
        return prompt_text(self.tokenizer, messages)  # tokenized as policies.prompt_ids does

    def generate(self, requests: list[Request]) -> list[Completion]:
        texts = [self.prompt_text(r.messages) for r in requests]
        lengths = [len(self.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
        order = sorted(range(len(requests)), key=lambda i: (requests[i].max_tokens, lengths[i]))
        out: list[Completion | None] = [None] * len(requests)
        i = 0
        while i < len(order):
            budget = requests[order[i]].max_tokens
            batch = [order[i]]
            while (
                len(batch) < self.batch_size
                and i + len(batch) < len(order)
                and requests[order[i + len(batch)]].max_tokens == budget
            ):
                batch.append(order[i + len(batch)])
            seeds = [request_seed(self.seed, requests[j]) for j in batch]
            for idx, comp in zip(
                batch, self._generate_batch([texts[j] for j in batch], budget, seeds), strict=True
            ):
                out[idx] = comp
            i += len(batch)
        return out  # type: ignore[return-value]

    def _generate_batch(
        self, texts: list[str], max_new_tokens: int, seeds: list[int]
    ) -> list[Completion]:
        torch, transformers = _torch()
        # policies.prompt_ids per row (no special tokens), left-padded
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        # Sampling draws each row from its own generator (seeded per request), then decodes
        # greedily over the drawn token: the batch's shared RNG never decides a row's tokens.
        s = self.sampling
        processors = (
            [_RowSampler(seeds, s.temperature, s.top_p, s.top_k, self.device)]
            if s.temperature > 0
            else []
        )
        with torch.inference_mode():
            seqs = self.model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                logits_processor=transformers.LogitsProcessorList(processors),
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=sorted(self.eos),
                repetition_penalty=s.repetition_penalty,  # explicit: wins over the checkpoint's
                cache_implementation=self.cache_implementation,  # None: transformers' default
                disable_compile=True,  # no auto-compile (a static cache on CUDA would)
            )
        new = seqs[:, enc["input_ids"].shape[1] :].tolist()
        return [self._completion(ids, max_new_tokens) for ids in new]

    def _completion(self, ids: list[int], max_new_tokens: int) -> Completion:
        return ids_completion(self.tokenizer, ids, max_new_tokens, self.eos)  # EOS counted, ≤ B
