"""OpenAI-compatible chat policy: any ``/v1/chat/completions`` endpoint (OpenAI, vLLM serve,
llama.cpp's server, SGLang, ...) behind the ``openai`` client.

The server's budget is authoritative for *cutting*: each request sends ``max_tokens`` = the
exam's budget B. A local tokenizer is authoritative for *attribution*: the returned text is
re-tokenized (``return_offsets_mapping``) to get each token's first character, and if that
count exceeds B the text is cut at the start of local token B (the paper's hard stop, in the
tokens every results file records). The server's ``usage`` and ``finish_reason`` are kept in
``Completion.extra`` beside the local count. The API key is read from the environment variable
``api_key_env`` and never appears in ``describe()``, completions, logs or error messages.

Failures: 408, 429, 5xx, timeouts, connection errors and malformed 200 bodies (not JSON, an
HTML page, ``choices: []``, a choice without text) are retried with exponential backoff and
jitter, ``max_retries`` times per request; any other 4xx fails at once. Requests run on
``concurrency`` threads behind a circuit breaker: while the endpoint is healthy (its latest
attempt succeeded) in parallel; before its first success and after any failure, one request
(the probe) retries alone while the others wait for its outcome. A request that fails for
good stops the batch: no attempt starts after it, backoff sleeps end, attempts in flight
finish. So a batch sent while the endpoint is down costs exactly ``1 + max_retries`` attempts,
whatever its size; one it breaks under costs at most (attempts in flight) + ``max_retries``.

``generate`` returns one completion per request, in order, or raises ``OpenAIPolicyError``
whose ``completions`` maps request index → ``Completion`` for every request that succeeded
(the rest failed or never ran): a caller records those and a rerun redoes the rest. The error
is a ``DataError``: the CLI prints one ``error: <base_url>: ...`` line and exits with code 2.

Run example: ``OPENAI_API_KEY=... roi eval --policy openai --policy-arg model=gpt-4o-mini --policy-arg tokenizer=Qwen/Qwen2.5-1.5B-Instruct --methods base --count 6 --out runs/api``
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from dataclasses import dataclass, field
from typing import Any

from roi_reasoning.errors import DataError, MissingExtra
from roi_reasoning.parsing import text_completion, text_token_starts
from roi_reasoning.policies import Request
from roi_reasoning.records import Completion

DUMMY_KEY = "sk-no-key"  # local servers ignore the key, but the client insists on one
RETRY_STATUS = {408, 429}  # plus every 5xx


class OpenAIPolicyError(DataError):
    """A batch failed for good (non-retryable status, or retries exhausted); key redacted.

    ``status`` and ``attempts`` describe the request that failed first; ``completions`` maps
    request index → completion for the requests of the batch that did succeed.
    """

    def __init__(
        self,
        endpoint: str,
        detail: str,
        status: int | None = None,
        attempts: int = 1,
        completions: dict[int, Completion] | None = None,
    ) -> None:
        super().__init__(endpoint, None, detail)  # str(): "<endpoint>: <detail>"
        self.endpoint, self.detail, self.status, self.attempts = endpoint, detail, status, attempts
        self.completions: dict[int, Completion] = dict(completions or {})


@dataclass(frozen=True)
class _Failure:
    """Why one attempt failed, already redacted; ``retry``: worth another attempt."""

    reason: str
    status: int | None
    retry: bool
    wait_hint: float | None = None  # seconds, from the server's Retry-After


def _backoff_sleep(stopped: threading.Event, seconds: float) -> None:
    """Sleep ``seconds``, waking early when the batch stops (tests swap this to record delays)."""
    stopped.wait(seconds)


class _Gate:
    """Admission for one batch's attempts: the circuit breaker of the module docstring."""

    def __init__(self, healthy: bool) -> None:
        self.healthy = healthy  # the endpoint's latest attempt succeeded
        self.error: OpenAIPolicyError | None = None  # the failure that stopped the batch
        self._probing = False  # a request holds the probe (it alone retries while unhealthy)
        self._stopped = threading.Event()
        self._cond = threading.Condition()

    def enter(self) -> bool | None:
        """Wait for admission: None if the batch stopped, else whether the caller holds the probe."""
        with self._cond:
            self._cond.wait_for(lambda: self._stopped.is_set() or self.healthy or not self._probing)
            if self._stopped.is_set():
                return None
            probe = not self.healthy  # nobody probes now (wait_for): the caller takes the probe
            self._probing |= probe
            return probe

    def report(self, ok: bool, probe: bool) -> None:
        """An attempt ended; a probe that succeeded lets the waiting requests in."""
        with self._cond:
            self.healthy = ok
            if ok and probe:
                self._probing = False
            self._cond.notify_all()

    def stop(self, error: OpenAIPolicyError | None = None) -> None:
        with self._cond:
            self.error = self.error or error
            self._stopped.set()
            self._cond.notify_all()

    def pause(self, seconds: float) -> bool:
        """Back off; True when the batch stopped meanwhile (then no further attempt)."""
        _backoff_sleep(self._stopped, seconds)
        return self._stopped.is_set()


def _openai():
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtra("the openai policy", "api") from exc
    return openai


def _load_tokenizer(tokenizer: Any, gguf_file: str | None) -> Any:
    if tokenizer is not None and not isinstance(tokenizer, str):
        return tokenizer
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtra(
            "the openai policy counts tokens with a transformers tokenizer: it", "api,train"
        ) from exc
    extra = {"gguf_file": gguf_file} if gguf_file else {}
    return AutoTokenizer.from_pretrained(tokenizer, **extra)


def token_starts(tokenizer: Any, text: str) -> list[int]:
    """Character offset where each token of ``text`` starts (non-decreasing, ≤ len(text)).

    Re-tokenizing decoded text is the only accounting an API allows; it can differ from the
    server's own token sequence by a few merges, which is why the server's usage is kept too.
    """
    if text and not getattr(tokenizer, "is_fast", False):
        raise TypeError(
            "the openai policy needs a fast (Rust) tokenizer for offset mappings; "
            f"got {type(tokenizer).__name__}"
        )
    return text_token_starts(tokenizer, text)


@dataclass
class OpenAIPolicy:
    model: str
    base_url: str | None = None  # None: the client's default (OPENAI_BASE_URL or api.openai.com)
    api_key_env: str = "OPENAI_API_KEY"  # the *name* of the variable; a missing key sends a dummy
    tokenizer: Any = None  # HF id / path / loaded fast tokenizer; default: same as model
    gguf_file: str | None = None  # tokenizer from a GGUF file inside the ``tokenizer`` folder
    temperature: float = 0.0
    top_p: float = 1.0
    # Sent as seed + request.sample, so the server sees (prompt, seed) per request, whatever the
    # batch or thread (best effort: servers' seeding may not be deterministic); None: not sent.
    seed: int | None = 0
    token_param: str = "max_tokens"  # or "max_completion_tokens" (OpenAI reasoning models)
    count_stop: bool = True  # finish_reason "stop": the end-of-sequence token was generated too
    extra_body: dict[str, Any] = field(default_factory=dict)  # server-specific fields (top_k, ...)
    concurrency: int = 8
    max_retries: int = 5  # retries after the first attempt
    timeout: float = 600.0  # seconds per attempt
    backoff_base: float = 1.0  # seconds; after attempt k: ~base * 2**(k-1), jittered, capped
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
        self._healthy = False  # unknown until an attempt succeeds: the first batch probes

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
        """One completion per request, in order; ``OpenAIPolicyError`` (carrying the
        completions that succeeded, by index) when any request fails for good."""
        if not requests:
            return []
        gate = _Gate(self._healthy)
        workers = min(self.concurrency, len(requests))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-policy") as pool:
            futures = [pool.submit(self._call, r, gate) for r in requests]
            try:
                wait_all(futures)
            except BaseException:  # Ctrl-C: admit nothing more; attempts in flight end
                gate.stop()
                for f in futures:
                    f.cancel()
                raise
        self._healthy = gate.healthy
        return self._collect(requests, futures, gate)

    def _collect(
        self, requests: Sequence[Request], futures: Sequence[Future], gate: _Gate
    ) -> list[Completion]:
        done: dict[int, Completion] = {}
        for i, (req, fut) in enumerate(zip(requests, futures, strict=True)):
            if (exc := fut.exception()) is not None and not isinstance(exc, OpenAIPolicyError):
                raise exc  # a bug, not an endpoint failure: surface it as it is
            if exc is None and (result := fut.result()) is not None:
                # Tokenize on this thread: HF fast tokenizers are not safe to call from many.
                done[i] = self._completion(req, *result)
        n, first = len(requests), gate.error
        if len(done) == n:
            return [done[i] for i in range(n)]
        assert first is not None, "a batch stops only after a failure"
        detail = f"{first.detail}; {len(done)} of {n} requests completed, the rest to redo"
        raise OpenAIPolicyError(first.endpoint, detail, first.status, first.attempts, done)

    # --- one request ---------------------------------------------------------------------

    def _completion(self, req: Request, resp: Any, attempts: int) -> Completion:
        choice = resp.choices[0]  # shape checked by _malformed before the response got here
        text = choice.message.content
        finish = choice.finish_reason
        local = len(token_starts(self.tokenizer, text))
        # The one token accounting (parsing.text_completion): a "stop" means the EOS token was
        # generated and counts; the local count is cut at B like generation would be.
        eos = finish == "stop" and self.count_stop
        comp = text_completion(self.tokenizer, text, req.max_tokens, finished=eos)
        cut = comp.tokens < local + eos
        usage = getattr(resp, "usage", None)
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
        return Completion(comp.text, comp.token_starts, finish == "length" or cut, extra)

    def _kwargs(self, req: Request) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": req.messages,
            self.token_param: req.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }
        if self.seed is not None:  # the k-th sample of a prompt: seed + k (Request.sample)
            kwargs["seed"] = self.seed + req.sample
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        return kwargs

    def _call(self, req: Request, gate: _Gate) -> tuple[Any, int] | None:
        """(response, attempts), or None when the batch stopped before this request finished;
        raises ``OpenAIPolicyError`` when it fails for good (and stops the batch)."""
        kwargs = self._kwargs(req)
        attempt, probe = 0, False
        try:
            while True:
                if not probe:  # the probe holder keeps its slot through its backoff
                    admitted = gate.enter()
                    if admitted is None:
                        return None
                    probe = admitted
                attempt += 1
                resp, failure = self._attempt(kwargs)
                gate.report(failure is None, probe)
                if failure is None:
                    return resp, attempt
                if not failure.retry or attempt > self.max_retries:
                    tail = f" after {attempt} attempts" if failure.retry else " (not retryable)"
                    error = OpenAIPolicyError(
                        str(self._client.base_url),
                        f"{self.model}: {failure.reason}{tail}",
                        failure.status,
                        attempt,
                    )
                    gate.stop(error)
                    raise error
                if gate.pause(self._delay(attempt, failure.wait_hint)):
                    return None
        except BaseException:
            gate.stop()  # whatever went wrong, the rest of the batch must not start
            raise

    def _attempt(self, kwargs: dict[str, Any]) -> tuple[Any, _Failure | None]:
        """One HTTP request: (response, None), or (None, why it failed). Never chains the
        client's exception: it holds the request and its headers (the key)."""
        openai = _openai()
        try:
            resp = self._client.chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            status = exc.status_code
            retry = status in RETRY_STATUS or status >= 500
            reason = f"HTTP {status}: {self._body(exc)}"
            return None, _Failure(reason, status, retry, _retry_after(exc))
        except openai.APIConnectionError as exc:  # includes APITimeoutError
            kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection error"
            return None, _Failure(f"{kind} ({type(exc.__cause__ or exc).__name__})", None, True)
        except openai.APIResponseValidationError as exc:  # JSON, but not a chat completion
            return None, _Failure(f"malformed 200 response: {self._body(exc)}", 200, True)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # "application/json" lied
            body = getattr(exc, "doc", None) or getattr(exc, "object", b"")
            reason = f"malformed 200 response: {type(exc).__name__}: {self._snippet(body)}"
            return None, _Failure(reason, 200, True)
        why = _malformed(resp)
        if why is not None:
            return None, _Failure(f"malformed 200 response: {self._snippet(why)}", 200, True)
        return resp, None

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
        return self._snippet(text)

    def _snippet(self, text: Any, limit: int = 500) -> str:
        """Untrusted body text for a one-line message: redacted (before the cap, so no prefix
        of the key survives), whitespace collapsed, capped."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return " ".join(self._redact(str(text)).split())[:limit]

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "<redacted>") if self._key != DUMMY_KEY else text


def _malformed(resp: Any) -> str | None:
    """Why a 200 response is no usable chat completion, or None. An empty string is a real
    (empty) answer; a missing or null ``content`` is not."""
    if isinstance(resp, bytes | str):  # a non-JSON content type: the client returns the text
        return "not JSON: " + (resp.decode("utf-8", "replace") if isinstance(resp, bytes) else resp)
    choices = getattr(resp, "choices", None)
    if not isinstance(choices, list) or not choices:
        return "no choices"
    message = getattr(choices[0], "message", None)
    if not isinstance(getattr(message, "content", None), str):
        return "a choice without text"
    return None


def _retry_after(exc: Any) -> float | None:
    try:
        return float(exc.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None
