"""OpenAI-compatible chat policy: any ``/v1/chat/completions`` endpoint (OpenAI, vLLM serve,
llama.cpp's server, SGLang, ...) behind the ``openai`` client.

The server's budget is authoritative for *cutting*: each request sends ``max_tokens`` = the
exam's budget B. A local tokenizer is authoritative for *attribution*: the returned text is
re-tokenized (``return_offsets_mapping``) to get each token's first character, and if that
count exceeds B the text is cut at the start of local token B (the paper's hard stop, in the
tokens every results file records). The server's ``usage`` and ``finish_reason`` are kept in
``Completion.extra`` beside the local count. Requests run on ``concurrency`` threads; 429,
5xx, timeouts and connection errors are retried with exponential backoff and jitter; any other
4xx fails at once. The API key is read from the environment variable ``api_key_env`` and never
appears in ``describe()``, completions, logs or error messages.

Run example: ``OPENAI_API_KEY=... roi eval --policy openai --policy-arg model=gpt-4o-mini --policy-arg tokenizer=Qwen/Qwen2.5-1.5B-Instruct --methods base --count 6 --out runs/api``
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from roi_reasoning.policies import Request
from roi_reasoning.records import Completion

DUMMY_KEY = "sk-no-key"  # local servers ignore the key, but the client insists on one
RETRY_STATUS = {408, 429}  # plus every 5xx


class OpenAIPolicyError(RuntimeError):
    """A request failed for good (non-retryable status, or retries exhausted); key redacted."""

    def __init__(self, message: str, status: int | None = None, attempts: int = 1):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


def _openai():
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the openai policy needs `pip install roi-reasoning[api]`") from exc
    return openai


def _load_tokenizer(tokenizer: Any, gguf_file: str | None) -> Any:
    if tokenizer is not None and not isinstance(tokenizer, str):
        return tokenizer
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the openai policy counts tokens with a transformers tokenizer: "
            "`pip install roi-reasoning[api,train]`"
        ) from exc
    extra = {"gguf_file": gguf_file} if gguf_file else {}
    return AutoTokenizer.from_pretrained(tokenizer, **extra)


def token_starts(tokenizer: Any, text: str) -> list[int]:
    """Character offset where each token of ``text`` starts (non-decreasing, ≤ len(text)).

    Re-tokenizing decoded text is the only accounting an API allows; it can differ from the
    server's own token sequence by a few merges, which is why the server's usage is kept too.
    """
    if not text:
        return []
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(
            "the openai policy needs a fast (Rust) tokenizer for offset mappings; "
            f"got {type(tokenizer).__name__}"
        )
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    starts, last = [], 0
    for begin, _end in enc["offset_mapping"]:
        # Pieces of one multi-byte character share a span; keep starts monotone and in range.
        last = min(max(last, int(begin)), len(text))
        starts.append(last)
    return starts


@dataclass
class OpenAIPolicy:
    model: str
    base_url: str | None = None  # None: the client's default (OPENAI_BASE_URL or api.openai.com)
    api_key_env: str = "OPENAI_API_KEY"  # the *name* of the variable; a missing key sends a dummy
    tokenizer: Any = None  # HF id / path / loaded fast tokenizer; default: same as model
    gguf_file: str | None = None  # tokenizer from a GGUF file inside the ``tokenizer`` folder
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = 0  # sent as seed + request.sample (repeated samples differ); None: not sent
    token_param: str = "max_tokens"  # or "max_completion_tokens" (OpenAI reasoning models)
    count_stop: bool = True  # finish_reason "stop": the end-of-sequence token was generated too
    extra_body: dict[str, Any] = field(default_factory=dict)  # server-specific fields (top_k, ...)
    concurrency: int = 8
    max_retries: int = 5  # retries after the first attempt
    timeout: float = 600.0  # seconds per attempt
    backoff_base: float = 1.0  # seconds; attempt k waits ~base * 2**k, jittered, capped
    backoff_max: float = 60.0

    def __post_init__(self) -> None:
        if self.token_param not in ("max_tokens", "max_completion_tokens"):
            raise ValueError(
                f"token_param must be max_tokens or max_completion_tokens, got {self.token_param!r}"
            )
        if self.concurrency < 1 or self.max_retries < 0:
            raise ValueError("concurrency must be ≥ 1 and max_retries ≥ 0")
        source = self.tokenizer if self.tokenizer is not None else self.model
        self._tokenizer_name = (
            source
            if isinstance(source, str)
            else getattr(source, "name_or_path", "") or "in-memory"
        )
        if self.gguf_file:
            self._tokenizer_name += f" (gguf_file={self.gguf_file})"
        self.tokenizer = _load_tokenizer(source, self.gguf_file)
        # Plain attributes, not dataclass fields: repr(), ==, asdict() never see the key.
        self._key = os.environ.get(self.api_key_env) or DUMMY_KEY
        # The client's own retries are off: ours are explicit, bounded and testable.
        self._client = _openai().OpenAI(
            api_key=self._key, base_url=self.base_url, timeout=self.timeout, max_retries=0
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": "openai",
            "base_url": str(self._client.base_url),
            "model": self.model,
            "api_key_env": self.api_key_env,
            "tokenizer": self._tokenizer_name,
            "accounting": "local re-tokenization of the returned text (offset mapping); cut at B",
            "decoding": {
                "temperature": self.temperature,
                "top_p": self.top_p,
                "seed": self.seed,
                "token_param": self.token_param,
                "count_stop": self.count_stop,
                "extra_body": self.extra_body,
            },
            "concurrency": self.concurrency,
            "retries": {"max_retries": self.max_retries, "timeout": self.timeout},
        }

    def generate(self, requests: list[Request]) -> list[Completion]:
        if not requests:
            return []
        workers = min(self.concurrency, len(requests))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-policy") as pool:
            futures = [pool.submit(self._call, r) for r in requests]
            try:
                responses = [f.result() for f in futures]
            except BaseException:
                for f in futures:  # fail fast: do not keep spending on a doomed batch
                    f.cancel()
                raise
        # Tokenize on this thread: HF fast tokenizers are not safe to call from many threads.
        return [self._completion(r, *resp) for r, resp in zip(requests, responses, strict=True)]

    # --- one request ---------------------------------------------------------------------

    def _completion(self, req: Request, resp: Any, attempts: int) -> Completion:
        if not getattr(resp, "choices", None):
            raise OpenAIPolicyError(f"{self.model}: response without choices", None, attempts)
        choice = resp.choices[0]
        text = choice.message.content or ""
        finish = choice.finish_reason
        starts = token_starts(self.tokenizer, text)
        local = len(starts)
        cut = local > req.max_tokens
        if cut:  # the hard stop in local tokens: keep exactly B of them
            text, starts = text[: starts[req.max_tokens]], starts[: req.max_tokens]
        elif finish == "stop" and self.count_stop and local < req.max_tokens:
            starts.append(len(text))  # the end-of-sequence token: generated, empty text
        usage = resp.usage
        extra = {
            "finish_reason": finish,
            "usage": {
                "prompt_tokens": getattr(usage, "prompt_tokens", None),
                "completion_tokens": getattr(usage, "completion_tokens", None),
            },
            "local_tokens": local,  # before any cut, end-of-sequence not included
            "cut_locally": cut,
            "attempts": attempts,
            "served_model": getattr(resp, "model", None),
        }
        # truncated: the server stopped at B, or the local count reached past B and was cut.
        return Completion(text, tuple(starts), finish == "length" or cut, extra)

    def _call(self, req: Request) -> tuple[Any, int]:
        openai = _openai()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": req.messages,
            self.token_param: req.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }
        if self.seed is not None:  # profiling draws K samples of one prompt: vary the seed
            kwargs["seed"] = self.seed + getattr(req, "sample", 0)
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._client.chat.completions.create(**kwargs), attempt
            except openai.APIStatusError as exc:
                status = exc.status_code
                retry = status in RETRY_STATUS or status >= 500
                reason, wait_hint = f"HTTP {status}: {self._body(exc)}", _retry_after(exc)
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                status, retry, wait_hint = None, True, None
                kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection error"
                reason = f"{kind} ({type(exc.__cause__ or exc).__name__})"
            if not retry or attempt > self.max_retries:
                tail = f" after {attempt} attempts" if retry else " (not retryable)"
                raise OpenAIPolicyError(
                    self._redact(f"{self.model} at {self._client.base_url}: {reason}{tail}"),
                    status,
                    attempt,
                ) from None  # no chained exception: it holds the request and its headers
            time.sleep(self._delay(attempt, wait_hint))

    def _delay(self, attempt: int, hint: float | None) -> float:
        """Exponential backoff with equal jitter; a server's Retry-After wins when longer."""
        cap = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        delay = cap / 2 + random.uniform(0, cap / 2)
        return min(max(delay, hint or 0.0), self.backoff_max)

    def _body(self, exc: Any) -> str:
        try:
            text = exc.response.text
        except Exception:  # a streamed or closed response has no text
            text = getattr(exc, "message", "")
        return self._redact(str(text)[:500])

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "<redacted>") if self._key != DUMMY_KEY else text


def _retry_after(exc: Any) -> float | None:
    try:
        return float(exc.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None
