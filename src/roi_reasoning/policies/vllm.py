"""vLLM policy (optional extra ``vllm``, GPUs): the hf policy's interface on vLLM's engine.

Each request gets ``SamplingParams(max_tokens=B)`` — its exam's budget is the hard stop — and,
when sampling, ``seed=policies.request_seed(seed, request)`` (policy seed, messages, budget,
``Request.sample``); vLLM schedules all of them at once (continuous batching). A seeded request
samples from its own generator, so its draws never depend on its batch or position there; its
tokens are the same as long as its logits are (vLLM's kernels are not batch-invariant by
default: a draw within rounding of a token boundary can differ). Token offsets for the parser
come from the returned token ids (EOS included when the model stopped) decoded with the
engine's tokenizer, through the one token accounting (``parsing.ids_completion``).

Run example: ``roi eval --policy vllm --policy-arg model=Qwen/Qwen2.5-1.5B-Instruct --methods base --out runs/vllm``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from roi_reasoning.data import MissingExtra
from roi_reasoning.parsing import ids_completion
from roi_reasoning.policies import Request, request_seed
from roi_reasoning.records import Completion


@dataclass
class VLLMPolicy:
    model: str
    tokenizer: str | None = None
    dtype: str = "auto"
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0
    gpu_memory_utilization: float = 0.85
    max_model_len: int | None = None
    engine: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        try:
            from vllm import LLM
        except ImportError as exc:  # pragma: no cover - GPU machines only
            raise MissingExtra("the vllm policy", "vllm") from exc
        if self.engine is None:
            self.engine = LLM(
                model=self.model,
                tokenizer=self.tokenizer or self.model,
                dtype=self.dtype,
                seed=self.seed,
                gpu_memory_utilization=self.gpu_memory_utilization,
                max_model_len=self.max_model_len,
            )
        self._tok = self.engine.get_tokenizer()

    def describe(self) -> dict[str, Any]:
        return {
            "name": "vllm",
            "model": self.model,
            "tokenizer": self.tokenizer or self.model,
            "dtype": self.dtype,
            "decoding": {"temperature": self.temperature, "top_p": self.top_p, "seed": self.seed},
        }

    def generate(self, requests: list[Request]) -> list[Completion]:
        from vllm import SamplingParams

        prompts = [
            self._tok.apply_chat_template(r.messages, add_generation_prompt=True, tokenize=False)
            for r in requests
        ]
        params = [
            SamplingParams(
                max_tokens=r.max_tokens,
                temperature=self.temperature,
                top_p=self.top_p,
                seed=request_seed(self.seed, r) if self.temperature > 0 else None,
            )
            for r in requests
        ]
        outputs = self.engine.generate(prompts, params, use_tqdm=False)
        comps = []
        for req, out in zip(requests, outputs, strict=True):
            gen = out.outputs[0]  # token_ids end with the EOS token when the model stopped itself
            comp = ids_completion(self._tok, list(gen.token_ids), req.max_tokens)
            comp.extra["finish_reason"] = gen.finish_reason
            comps.append(comp)
        return comps
