"""One meaning of ``Request.sample`` in every backend: the k-th sample of the same request,
independent of batching (hf and scripted here; vLLM against a fake ``vllm`` module — it cannot
be installed on these machines — checking what the policy asks of the engine)."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest

from roi_reasoning.data import DEFAULT_TIERS, load_tier
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import render_prompt
from roi_reasoning.parsing import ids_completion
from roi_reasoning.policies import Request, request_seed
from roi_reasoning.policies.scripted import ScriptedPolicy


def _exams(budgets=(24, 40)):
    tiers = {name: load_tier(spec, name) for name, spec in DEFAULT_TIERS.items()}
    return build_exams(tiers, kinds=("easy", "hard"), budgets=budgets, count=2, seed=3)


def _requests(exams, samples=(0,)):
    return [
        Request(render_prompt(e, "base"), e.budget, e, "base", sample=s)
        for e in exams
        for s in samples
    ]


def test_request_seed_depends_on_the_request_and_its_sample_only():
    a, b = _requests(_exams()[:2], samples=(0, 1))[:2]
    assert request_seed(0, a) == request_seed(0, Request(a.messages, a.max_tokens, a.exam, "x"))
    assert request_seed(0, a) != request_seed(0, b)  # the 2nd sample of the same request
    assert request_seed(0, a) != request_seed(1, a)
    assert 0 <= request_seed(7, a) < 2**63


def test_scripted_samples_do_not_depend_on_batching():
    reqs = _requests(_exams(), samples=(0, 1, 2))
    policy = ScriptedPolicy()
    together = [c.text for c in policy.generate(reqs)]
    alone = [policy.generate([r])[0].text for r in reqs]
    assert together == alone and len(set(together)) > 1


def test_hf_samples_do_not_depend_on_batching_and_repeated_samples_differ(chat_tokenizer):
    pytest.importorskip("torch")
    from roi_reasoning.policies.hf import HFPolicy
    from roi_reasoning.testing import tiny_causal_lm

    model = tiny_causal_lm(chat_tokenizer, seed=1)
    policy = HFPolicy(model, chat_tokenizer, temperature=1.0, batch_size=8)
    reqs = _requests(_exams(budgets=(16,)), samples=(0, 1))
    together = [c.text for c in policy.generate(reqs)]
    alone = [policy.generate([r])[0].text for r in reqs]
    reversed_batch = [c.text for c in policy.generate(reqs[::-1])][::-1]
    assert together == alone == reversed_batch
    assert together[0] != together[1]  # sample 0 and sample 1 of the same exam
    again = HFPolicy(model, chat_tokenizer, temperature=1.0, batch_size=3)
    assert [c.text for c in again.generate(reqs)] == together  # another batch size
    greedy = HFPolicy(model, chat_tokenizer, temperature=0.0)
    assert greedy.generate(reqs[:1])[0].text == greedy.generate(reqs[:2])[0].text


# ---------------------------------------------------------------- vLLM against a fake engine


@dataclass
class FakeSamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    stop_token_ids: list[int] | None = None
    seed: int | None = None


def _decode(tokenizer, ids):
    return tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


class FakeLLM:
    """Records what the policy asks; answers each prompt with the tokens of a fixed text, cut at
    ``max_tokens``, ending with EOS when the text fits (as vLLM returns them)."""

    calls: list = []

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def get_tokenizer(self):
        return self.tokenizer

    def generate(self, prompts, params, use_tqdm=False):
        FakeLLM.calls.append((list(prompts), list(params)))
        answer = self.tokenizer("## Problem 1\nSo \\boxed{4}", add_special_tokens=False)
        ids = answer["input_ids"] + [self.tokenizer.eos_token_id]
        outs = []
        for p in params:
            kept = ids[: p.max_tokens]
            reason = "stop" if len(kept) == len(ids) else "length"
            text = _decode(self.tokenizer, kept)  # vLLM's detokenized text: no EOS
            gen = types.SimpleNamespace(token_ids=kept, text=text, finish_reason=reason)
            outs.append(types.SimpleNamespace(outputs=[gen]))
        return outs


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM = FakeLLM
    module.SamplingParams = FakeSamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    FakeLLM.calls = []
    return module


def test_vllm_asks_per_request_budgets_and_batch_independent_seeds(fake_vllm, chat_tokenizer):
    from roi_reasoning.policies.vllm import VLLMPolicy

    policy = VLLMPolicy("unused", temperature=0.8, seed=5, engine=FakeLLM(chat_tokenizer))
    reqs = _requests(_exams(budgets=(4, 64)), samples=(0, 1))
    comps = policy.generate(reqs)
    policy.generate(reqs[::-1])
    (prompts, params), (_, params_reversed) = FakeLLM.calls
    assert [p.max_tokens for p in params] == [r.max_tokens for r in reqs]  # each exam's B
    assert [p.seed for p in params] == [request_seed(5, r) for r in reqs]
    assert [p.seed for p in params_reversed][::-1] == [p.seed for p in params]  # batching aside
    assert len({p.seed for p in params}) == len(reqs)  # samples 0 and 1 differ
    assert all(p.temperature == 0.8 for p in params) and len(prompts) == len(reqs)
    assert {c.extra["finish_reason"] for c in comps} == {"stop", "length"}  # both endings seen
    for req, comp, p in zip(reqs, comps, params, strict=True):
        gen = fake_vllm.LLM(chat_tokenizer).generate([""], [p])[0].outputs[0]
        want = ids_completion(chat_tokenizer, list(gen.token_ids), req.max_tokens)
        assert comp.token_starts == want.token_starts and comp.text == want.text
        assert comp.tokens <= req.max_tokens  # EOS counted, cut at B
        assert comp.truncated == (gen.finish_reason == "length")
        ids = list(gen.token_ids)
        assert comp.text == gen.text and comp.tokens == len(ids)  # every returned id counts
        # Token i starts where the decode of the ids before it ends: offsets come from the ids.
        assert list(comp.token_starts) == [
            len(_decode(chat_tokenizer, ids[:i])) for i in range(len(ids))
        ]
        if gen.finish_reason == "stop":  # EOS: generated, counted, an empty piece at the end
            assert ids[-1] == chat_tokenizer.eos_token_id and not comp.truncated
            assert comp.token_starts[-1] == len(comp.text)
        else:
            assert comp.tokens == req.max_tokens


def test_vllm_greedy_sends_no_seed(fake_vllm, chat_tokenizer):
    from roi_reasoning.policies.vllm import VLLMPolicy

    policy = VLLMPolicy("unused", engine=FakeLLM(chat_tokenizer))
    policy.generate(_requests(_exams()[:2]))
    assert all(p.seed is None for p in FakeLLM.calls[0][1])
