"""Policies: anything that turns exam prompts into completions under a token budget.

One protocol, a registry of dotted paths (imported lazily so the scripted policy needs no torch).

Run example: ``python -c "from roi_reasoning.policies import POLICIES; print(sorted(POLICIES))"``
"""

from __future__ import annotations

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
    sample: int = 0  # index of a repeated sample (profiling); the scripted policy seeds by it


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
