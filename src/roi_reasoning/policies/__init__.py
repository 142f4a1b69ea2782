"""Policies: anything that turns exam prompts into completions under a token budget.

One protocol, a registry of dotted paths (imported lazily so the scripted policy needs no torch).
What the model backends (hf, vllm) share so they decode alike: ``Sampling`` (one explicit set
of sampling settings resolved from the checkpoint's ``generation_config``), ``prompt_ids`` (one
prompt encoding) and ``parsing.eos_ids`` (one EOS set).

Run example: ``python -c "from roi_reasoning.policies import POLICIES; print(sorted(POLICIES))"``
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from roi_reasoning.errors import ConfigError, DataError
from roi_reasoning.formats import Messages
from roi_reasoning.plugins import resolve
from roi_reasoning.records import Completion, Exam

LAYER = "backends"  # read by tests/test_layering.py


@dataclass(frozen=True)
class Request:
    """One generation: chat ``messages``, a hard cap of ``max_tokens`` generated tokens, and the
    exam it serves (real models ignore it; the scripted policy reads problems and golds)."""

    messages: Messages
    max_tokens: int
    exam: Exam
    method: str
    # The k-th sample of this same request (profiling draws k = 0..K-1): every backend derives
    # its randomness from (its seed, the request, k), never from the request's batch or its
    # position there, so a sample is reproducible however requests are batched (request_seed).
    sample: int = 0


def request_seed(seed: int, request: Request) -> int:
    """A 63-bit sampling seed from the policy's ``seed``, the request's messages and budget and
    its ``sample`` index: the same for the same request wherever it is batched (hf, vllm)."""
    blob = json.dumps([seed, request.messages, request.max_tokens, request.sample])
    return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:8], "big") >> 1


# transformers' GenerationConfig defaults, used where the checkpoint's generation_config sets none
DEFAULT_SAMPLING = {"top_p": 1.0, "top_k": 50, "repetition_penalty": 1.0}


@dataclass(frozen=True)
class Sampling:
    """The decoding both model backends apply, explicitly: hf through ``generate`` and its row
    sampler, vllm through ``SamplingParams``. A setting left None by the caller is the
    checkpoint's ``generation_config`` value, else transformers' default (``DEFAULT_SAMPLING``).
    Why the checkpoint's: it is what ``transformers.generate`` applies to the same model (the
    hf policy's decoding before these were explicit, so the demo's models decode as before) and
    what the model's authors tuned; vLLM would otherwise use its own neutral defaults, and the
    same ``roi profile`` would give other samples, hence other MFT targets, per backend.
    ``temperature`` is always the caller's (0 = greedy); ``repetition_penalty`` applies when
    greedy too (in both: over prompt and generated tokens)."""

    temperature: float
    top_p: float
    top_k: int  # 0 = off
    repetition_penalty: float

    @classmethod
    def resolve(cls, generation_config: Any, temperature: float, **given: Any) -> Sampling:
        """``given``: top_p / top_k / repetition_penalty, None = from ``generation_config``."""
        out: dict[str, Any] = {}  # top_p / repetition_penalty floats, top_k an int
        for key, default in DEFAULT_SAMPLING.items():
            value = given.get(key)
            if value is None:
                value = getattr(generation_config, key, None)
            out[key] = type(default)(default if value is None else value)
        return cls(temperature=float(temperature), **out)

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def checkpoint_generation_config(model: Any) -> Any:
    """The ``generation_config`` of a loaded model, or the one saved beside a checkpoint (read
    from a local folder or the local hub cache only: never a download), or None."""
    if not isinstance(model, str):
        return getattr(model, "generation_config", None)
    try:
        from transformers import GenerationConfig

        return GenerationConfig.from_pretrained(model, local_files_only=True)
    except (ImportError, OSError, ValueError):
        return None


def prompt_text(tokenizer: Any, messages: Messages) -> str:
    """The prompt as text: the chat template with the generation prompt; base models without a
    template get plain role-prefixed turns."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join(turns) + "\n\nAssistant:"


def prompt_ids(tokenizer: Any, messages: Messages) -> list[int]:
    """THE prompt encoding of every model backend: ``prompt_text`` tokenized without special
    tokens (the template already holds BOS where the model wants one: adding them again
    doubles BOS on Llama-3 / Gemma templates)."""
    return list(tokenizer(prompt_text(tokenizer, messages), add_special_tokens=False)["input_ids"])


class Policy(Protocol):
    def generate(self, requests: list[Request]) -> list[Completion]: ...

    def describe(self) -> dict[str, Any]:
        """Model, tokenizer and decoding settings, recorded in results.json."""
        ...


POLICIES: dict[str, str] = {
    "scripted": "roi_reasoning.policies.scripted:ScriptedPolicy",
    "hf": "roi_reasoning.policies.hf:HFPolicy",
    "vllm": "roi_reasoning.policies.vllm:VLLMPolicy",
    "openai": "roi_reasoning.policies.openai:OpenAIPolicy",
}


def check_model_path(name: str, key: str = "model") -> None:
    """ConfigError naming ``key`` when ``name`` is written as a local path (absolute, ``./``,
    ``~`` or more than one ``/``; a hub id is ``org/name``) and nothing is there: transformers
    would report it as a malformed hub id."""
    local = name.startswith(("/", "./", "../", "~")) or name.count("/") > 1
    if local and not os.path.exists(os.path.expanduser(name)):
        raise ConfigError(key, f"{name}: no such model folder")


def load_policy(name: str, **kwargs: Any) -> Policy:
    """Instantiate a registered policy, or ``package.module:Class`` for user code. An unknown
    name, a path that names no class, or constructor arguments it rejects are ConfigErrors
    (``policy``); a policy's own checks of its arguments (ValueError) are too."""
    cls = resolve(POLICIES, name, "policy")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # missing / unknown constructor arguments from --policy-arg
        raise ConfigError(
            "policy", f"{name!r}: {exc} (pass them with --policy-arg KEY=VALUE)"
        ) from None
    except (ConfigError, DataError):
        raise
    except ValueError as exc:  # the policy's own argument checks
        raise ConfigError("policy", f"{name!r}: {exc}") from None
