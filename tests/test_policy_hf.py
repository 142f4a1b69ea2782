"""The hf policy on a tiny model built here (config + locally trained tokenizer, no hub)."""

import pytest

from conftest import tiny_causal_lm
from roi_reasoning.data import DEFAULT_TIERS, load_tier
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import render_prompt
from roi_reasoning.parsing import split_segments
from roi_reasoning.policies import Request
from roi_reasoning.policies.hf import HFPolicy


@pytest.fixture(scope="module")
def exams():
    tiers = {name: load_tier(spec, name) for name, spec in DEFAULT_TIERS.items()}
    return build_exams(tiers, kinds=("easy", "hard"), budgets=(16, 40), count=2, seed=1)


@pytest.fixture(scope="module")
def policy(chat_tokenizer):
    return HFPolicy(tiny_causal_lm(chat_tokenizer), tokenizer=chat_tokenizer, batch_size=8)


def _requests(exams):
    return [Request(render_prompt(e, "base"), e.budget, e, "base") for e in exams]


def test_batched_generation_accounts_every_token_within_budget(policy, exams):
    comps = policy.generate(_requests(exams))
    assert len(comps) == len(exams)
    for exam, comp in zip(exams, comps, strict=True):
        assert 0 < comp.tokens <= exam.budget
        assert comp.tokens == comp.extra["generated_ids"]
        segs = split_segments(comp.text, comp.token_starts, 3, truncated=comp.truncated)
        outside = sum(1 for s in comp.token_starts if s < (segs[0].start if segs else 0))
        assert sum(s.tokens for s in segs) + outside == comp.tokens
        if comp.truncated:
            assert comp.tokens == exam.budget


def test_left_padding_does_not_change_greedy_outputs(policy, exams):
    reqs = _requests(exams)
    batched = policy.generate(reqs)
    single = [policy.generate([r])[0] for r in reqs]
    assert [c.text for c in batched] == [c.text for c in single]
    assert [c.token_starts for c in batched] == [c.token_starts for c in single]


def test_sampling_is_seeded(chat_tokenizer, exams):
    model = tiny_causal_lm(chat_tokenizer)
    a = HFPolicy(model, tokenizer=chat_tokenizer, temperature=1.0, seed=3).generate(
        _requests(exams[:2])
    )
    b = HFPolicy(model, tokenizer=chat_tokenizer, temperature=1.0, seed=3).generate(
        _requests(exams[:2])
    )
    assert [c.text for c in a] == [c.text for c in b]
    assert HFPolicy(model, tokenizer=chat_tokenizer).describe()["decoding"]["temperature"] == 0
