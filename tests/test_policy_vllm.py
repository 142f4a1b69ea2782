"""vLLM policy on a tiny model saved here (GPU machines only; deselected by default)."""

import pytest

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_vllm_accounting_matches_budget(tmp_path, chat_tokenizer):
    pytest.importorskip("vllm")
    from roi_reasoning.data import DEFAULT_TIERS, load_tier
    from roi_reasoning.exams import build_exams
    from roi_reasoning.formats import render_prompt
    from roi_reasoning.parsing import split_segments
    from roi_reasoning.policies import Request
    from roi_reasoning.policies.vllm import VLLMPolicy
    from roi_reasoning.testing import tiny_causal_lm

    model = tiny_causal_lm(chat_tokenizer)
    model.save_pretrained(tmp_path / "tiny")
    chat_tokenizer.save_pretrained(tmp_path / "tiny")
    tiers = {name: load_tier(spec, name) for name, spec in DEFAULT_TIERS.items()}
    exams = build_exams(tiers, kinds=("easy", "hard"), budgets=(16, 40), count=2, seed=1)
    policy = VLLMPolicy(str(tmp_path / "tiny"), dtype="float32", gpu_memory_utilization=0.3)
    comps = policy.generate([Request(render_prompt(e, "base"), e.budget, e, "base") for e in exams])
    for exam, comp in zip(exams, comps, strict=True):
        assert 0 < comp.tokens <= exam.budget
        assert comp.truncated == (comp.extra["finish_reason"] == "length")
        segs = split_segments(comp.text, comp.token_starts, 3, truncated=comp.truncated)
        outside = sum(1 for s in comp.token_starts if s < (segs[0].start if segs else 0))
        assert sum(s.tokens for s in segs) + outside == comp.tokens
