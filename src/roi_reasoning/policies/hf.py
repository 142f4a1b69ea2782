"""Hugging Face transformers policy: any causal LM (hub id or local folder, GGUF via ``gguf_file``).

Batched generation with left padding; requests are sorted by budget and prompt length so each
batch shares ``max_new_tokens`` = its exams' budget B (the budget is the hard stop) and wastes
little padding. Generation ends as soon as every sequence has finished. Token offsets for the
parser come from the same tokenizer and the one token accounting (``parsing.ids_completion``).

Run example: ``roi eval --policy hf --policy-arg model=./my-model --methods base --count 6 --out runs/hf``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from roi_reasoning.data import MissingExtra
from roi_reasoning.parsing import ids_completion
from roi_reasoning.policies import Request
from roi_reasoning.records import Completion


def _torch():
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtra("the hf policy", "train") from exc
    return torch, transformers


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
    top_p: float = 1.0
    seed: int = 0
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

    def describe(self) -> dict[str, Any]:
        return {
            "name": "hf",
            "model": self.name,
            "tokenizer": getattr(self.tokenizer, "name_or_path", "") or self.name,
            "gguf_file": self.gguf_file,
            "device": self.device,
            "dtype": self.dtype,
            "decoding": {"temperature": self.temperature, "top_p": self.top_p, "seed": self.seed},
        }

    def prompt_text(self, messages: list[dict[str, str]]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
        # Base models without a chat template: plain role-prefixed turns.
        turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n\n".join(turns) + "\n\nAssistant:"

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
            for idx, comp in zip(
                batch, self._generate_batch([texts[j] for j in batch], budget), strict=True
            ):
                out[idx] = comp
            i += len(batch)
        return out  # type: ignore[return-value]

    def _generate_batch(self, texts: list[str], max_new_tokens: int) -> list[Completion]:
        torch, _ = _torch()
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        sample = self.temperature > 0
        kwargs = {"temperature": self.temperature, "top_p": self.top_p} if sample else {}
        if sample:
            torch.manual_seed(self.seed)
        with torch.inference_mode():
            seqs = self.model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=sample,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id,
                **kwargs,
            )
        new = seqs[:, enc["input_ids"].shape[1] :].tolist()
        return [self._completion(ids, max_new_tokens) for ids in new]

    def _completion(self, ids: list[int], max_new_tokens: int) -> Completion:
        return ids_completion(self.tokenizer, ids, max_new_tokens)  # EOS counted, cut at B
