"""Policies: anything that turns exam prompts into completions under a token budget.

One protocol, a registry of dotted paths (imported lazily so the scripted policy needs no torch).

Run example: ``python -c "from roi_reasoning.policies import POLICIES; print(sorted(POLICIES))"``
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from roi_reasoning.data import ConfigError, DataError
from roi_reasoning.formats import Messages
from roi_reasoning.plugins import resolve
from roi_reasoning.records import Completion, Exam


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
