"""The hf policy on a tiny model built here (config + locally trained tokenizer, no hub)."""

import pytest
import torch

from roi_reasoning.data import DEFAULT_TIERS, load_tier
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import render_prompt
from roi_reasoning.parsing import split_segments
from roi_reasoning.policies import Request
from roi_reasoning.policies.hf import HFPolicy, _RowSampler
from roi_reasoning.testing import tiny_causal_lm


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


# ---------------------------------------------------------------- per-row seeded sampling


def _transformers_probs(scores, temperature, top_p, top_k):
    """``generate``'s sampling distribution, from transformers' own warpers in its order."""
    from transformers import LogitsProcessorList
    from transformers.generation import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    warpers = [TemperatureLogitsWarper(temperature)]
    warpers += [TopKLogitsWarper(top_k)] if top_k else []
    warpers += [TopPLogitsWarper(top_p)] if top_p < 1.0 else []
    return torch.softmax(LogitsProcessorList(warpers)(None, scores.clone()), dim=-1)


@pytest.mark.parametrize(
    "temperature,top_p,top_k", [(1.0, 1.0, 50), (0.7, 0.9, 50), (1.3, 0.5, 0), (2.0, 0.95, 7)]
)
def test_row_sampler_draws_from_generates_distribution(temperature, top_p, top_k):
    scores = torch.randn(3, 400, generator=torch.Generator().manual_seed(0)) * 3
    ours = _RowSampler([1, 2, 3], temperature, top_p, top_k, "cpu").probs(scores)
    assert torch.allclose(ours, _transformers_probs(scores, temperature, top_p, top_k), atol=1e-6)


def test_sampling_uses_generates_default_top_k(chat_tokenizer):
    model = tiny_causal_lm(chat_tokenizer)
    policy = HFPolicy(model, tokenizer=chat_tokenizer, temperature=1.0)
    assert model.generation_config.top_k is None and policy.sampling.top_k == 50  # as generate's
    model.generation_config.top_k = 7
    assert HFPolicy(model, tokenizer=chat_tokenizer, temperature=1.0).sampling.top_k == 7


def test_row_sampler_rows_are_independent_one_hot_draws():
    scores = torch.randn(2, 50, generator=torch.Generator().manual_seed(1))
    pair, alone = _RowSampler([5, 9], 1.0, 1.0, 0, "cpu"), _RowSampler([5], 1.0, 1.0, 0, "cpu")
    picks = []
    for _ in range(30):  # one call per generation step
        out, solo = pair(None, scores), alone(None, scores[:1])
        assert ((out == 0).sum(-1) == 1).all() and (torch.isinf(out).sum(-1) == 49).all()
        assert torch.equal(out[0], solo[0])  # row 0's draws ignore row 1
        picks.append(int(out[0].argmax()))
    assert len(set(picks)) > 1  # sampled, not greedy
    greedy = _RowSampler([5], 1.0, 0.0, 0, "cpu")(None, scores[:1])  # top_p 0 keeps the top token
    assert int(greedy.argmax()) == int(scores[0].argmax())


def test_static_cache_generates_the_same_tokens(chat_tokenizer, exams):
    """``cache_implementation="static"`` (the demo's setting) changes the KV cache only: the same
    requests give the same completions as transformers' default cache, greedy and sampled."""
    model = tiny_causal_lm(chat_tokenizer)
    for temperature in (0.0, 1.0):
        outs = []
        for cache in (None, "static"):
            policy = HFPolicy(
                model,
                tokenizer=chat_tokenizer,
                batch_size=2,
                temperature=temperature,
                cache_implementation=cache,
            )
            reqs = [Request(render_prompt(e, "base"), 12, e, "base", sample=1) for e in exams[:4]]
            outs.append([(c.text, c.tokens) for c in policy.generate(reqs)])
        assert outs[0] == outs[1]


def test_a_missing_local_model_folder_is_named_as_such(tmp_path):
    """A model written as a local path that does not exist is one clear ConfigError, not
    transformers' "Repo id must be in the form ..." (hub ids, org/name, are left to the hub)."""
    import pytest

    from roi_reasoning.errors import ConfigError
    from roi_reasoning.policies import check_model_path, load_policy

    for missing in (str(tmp_path / "none"), "./none", "runs/demo/none/final", "~/none-x"):
        with pytest.raises(ConfigError, match="no such model folder"):
            check_model_path(missing)
    for fine in ("Qwen/Qwen2.5-1.5B-Instruct", "gpt2", str(tmp_path)):
        check_model_path(fine)
    with pytest.raises(ConfigError, match="no such model folder"):
        load_policy("hf", model=str(tmp_path / "none"))
