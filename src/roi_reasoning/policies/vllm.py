"""vLLM policy (optional extra ``vllm``, GPUs): the hf policy's interface on vLLM's engine.

It decodes as the hf policy does: the same ``policies.Sampling`` (temperature, top-p, top-k,
repetition penalty; a setting left None is the checkpoint's ``generation_config`` value, else
transformers' default — vLLM's own defaults would differ), the same prompt token ids
(``policies.prompt_ids``: chat template, no special tokens added, sent as
``{"prompt_token_ids": ...}`` so vLLM does not re-tokenize the text and add a second BOS) and the
same EOS set (``parsing.eos_ids``: tokenizer ∪ generation_config, sent as ``stop_token_ids``).

Each request gets ``SamplingParams(max_tokens=B)`` — its exam's budget is the hard stop — and,
when sampling, ``seed=policies.request_seed(seed, request)`` (policy seed, messages, budget,
``Request.sample``). ``generate`` hands vLLM every request it is given in one call (continuous
batching schedules them); callers that chunk (``roi profile``/``roi eval`` ``batch_size``) should
pass large chunks. A seeded request samples from its own generator, so its draws never depend on
its batch or position there; its tokens are the same as long as its logits are (vLLM's kernels
are not batch-invariant by default: a draw within rounding of a token boundary can differ).
Token offsets for the parser come from the returned token ids (EOS included when the model
stopped) decoded with the engine's tokenizer, through the one token accounting
(``parsing.ids_completion``). ``engine`` may be an existing ``vllm.LLM`` (RARL validation uses
the trainer's colocated one).

Run example: ``roi eval --policy vllm --policy-arg model=Qwen/Qwen2.5-1.5B-Instruct --methods base --out runs/vllm``
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
    prompt_ids,
    request_seed,
)
from roi_reasoning.records import Completion


@dataclass
class VLLMPolicy:
    model: str
    tokenizer: str | None = None
    dtype: str = "auto"
    temperature: float = 0.0  # 0 = greedy
    # None: the checkpoint's generation_config value, else transformers' default (Sampling)
    top_p: float | None = None
    top_k: int | None = None  # 0 = off
    repetition_penalty: float | None = None
    seed: int = 0
    gpu_memory_utilization: float = 0.85
    max_model_len: int | None = None
    engine: Any = field(default=None, repr=False)
    # the checkpoint's generation config; None = read beside ``model`` (local files only)
    generation_config: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        try:
            from vllm import LLM
        except ImportError as exc:  # pragma: no cover - GPU machines only
            raise MissingExtra("the vllm policy", "vllm") from exc
        if self.engine is None:
            check_model_path(self.model)
            self.engine = LLM(
                model=self.model,
                tokenizer=self.tokenizer or self.model,
                dtype=self.dtype,
                seed=self.seed,
                gpu_memory_utilization=self.gpu_memory_utilization,
                max_model_len=self.max_model_len,
            )
        self._tok = self.engine.get_tokenizer()
        if self.generation_config is None:  # after LLM(): a hub model is in the local cache now
            self.generation_config = checkpoint_generation_config(self.model)
        self.eos = register_eos(self._tok, self.generation_config)
        self.sampling = Sampling.resolve(
            self.generation_config,
            self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            repetition_penalty=self.repetition_penalty,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": "vllm",
            "model": self.model,
            "tokenizer": self.tokenizer or self.model,
            "dtype": self.dtype,
            "decoding": {**self.sampling.describe(), "seed": self.seed},
            "eos_token_ids": sorted(self.eos),
        }

    def sampling_params(self, request: Request) -> Any:
        """``vllm.SamplingParams`` of one request: its budget, the shared decoding, its seed."""
        from vllm import SamplingParams

        s = self.sampling
        return SamplingParams(
            max_tokens=request.max_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            top_k=s.top_k or -1,  # off: -1 in every vLLM (0 also since 0.8)
            repetition_penalty=s.repetition_penalty,
            stop_token_ids=sorted(self.eos),
            seed=request_seed(self.seed, request) if s.temperature > 0 else None,
        )

    def generate(self, requests: list[Request]) -> list[Completion]:
        prompts = [{"prompt_token_ids": prompt_ids(self._tok, r.messages)} for r in requests]
        params = [self.sampling_params(r) for r in requests]
        outputs = self.engine.generate(prompts, params, use_tqdm=False)  # all in one call
        comps = []
        for req, out in zip(requests, outputs, strict=True):
            gen = out.outputs[0]  # token_ids end with the EOS token when the model stopped itself
            comp = ids_completion(self._tok, list(gen.token_ids), req.max_tokens, self.eos)
            comp.extra["finish_reason"] = gen.finish_reason
            comps.append(comp)
        return comps
