"""The GPU path on CPU (issue 20): TRL configs of the GPU recipes on this transformers, fp32 master
weights, one decoding for hf and vLLM (a fake ``vllm`` module), no auto-compile, RARL validation
on the colocated vLLM engine, and the device check's smoke mode.

``make test-gpu-compat`` runs the ``trl_config`` tests again under the oldest and the newest
transformers the ``gpu`` extra allows (5.10.4, 5.17.0).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from conftest import REPO
from roi_reasoning.config import load_config, load_yaml
from roi_reasoning.testing import tiny_causal_lm

RECIPES = {
    "mft": REPO / "configs/mft/qwen2.5-1.5b.yaml",
    "rarl": REPO / "configs/rarl/qwen2.5-1.5b.yaml",
}


def _args_fields() -> set[str]:
    from transformers import TrainingArguments

    return {f.name for f in dataclasses.fields(TrainingArguments)}


@pytest.mark.parametrize("kind", ["mft", "rarl"])
def test_trl_config_builds_from_the_gpu_recipe(kind, tmp_path):
    """SFTConfig / GRPOConfig from the recipe as written, checkpointing on under the name this
    transformers has, checkpoints bounded, the policy loaded in fp32."""
    from trl import GRPOConfig, SFTConfig

    from roi_reasoning.training import mft, rarl
    from roi_reasoning.training.trl_args import model_kwargs

    recipe = load_yaml(RECIPES[kind])
    over = {"out": str(tmp_path / kind)}
    if kind == "rarl":  # the RARL recipe leaves it to the device: on with CUDA only
        over["trainer"] = {**recipe["trainer"], "activation_checkpointing": True}
    else:
        assert recipe["activation_checkpointing"] is True  # top-level in the MFT recipe
    if kind == "mft":
        cfg = load_config(mft.MFTTrainConfig, RECIPES[kind], over)
        args = SFTConfig(**mft.sft_args(cfg))
    else:
        cfg = load_config(rarl.RARLConfig, RECIPES[kind], over)
        args = GRPOConfig(**rarl.grpo_args(cfg))
    name = "activation_checkpointing" if "activation_checkpointing" in _args_fields() else None
    assert getattr(args, name or "gradient_checkpointing") is True
    assert args.gradient_checkpointing is True  # the field or alias TRL reads
    assert recipe["trainer"]["save_total_limit"] >= 1
    assert args.save_total_limit == recipe["trainer"]["save_total_limit"]
    assert model_kwargs(cfg.trainer)["dtype"] == torch.float32


def test_trl_config_refuses_the_old_alias_and_checks_the_new_name_everywhere(tmp_path):
    from roi_reasoning.errors import ConfigError
    from roi_reasoning.training import rarl

    with pytest.raises(ConfigError, match="activation_checkpointing"):
        rarl.RARLConfig(model="m", out="o", trainer={"gradient_checkpointing": True})
    with pytest.raises(ConfigError, match="trainer.activation_checkpointing"):  # its type
        rarl.RARLConfig(model="m", out="o", trainer={"activation_checkpointing": "yes"})


# ---------------------------------------------------------------- fp32 master weights


@pytest.fixture
def bf16_checkpoint(tmp_path, chat_tokenizer):
    """A tiny model saved in bf16, as Qwen2.5 is: transformers 5 loads it bf16 by default."""
    path = tmp_path / "bf16"
    tiny_causal_lm(chat_tokenizer).to(torch.bfloat16).save_pretrained(path)
    chat_tokenizer.save_pretrained(path)
    return path


def test_full_fine_tunes_load_fp32_master_weights(bf16_checkpoint, tmp_path, chat_tokenizer):
    import datasets
    from transformers import AutoModelForCausalLM

    from roi_reasoning.training import mft, rarl

    assert AutoModelForCausalLM.from_pretrained(bf16_checkpoint).dtype == torch.bfloat16
    rows = [
        {
            "prompt": [{"role": "user", "content": "1+1?"}],
            "completion": [{"role": "assistant", "content": "2"}],
        }
    ]
    sft = mft.sft_trainer(
        mft.MFTTrainConfig(model=str(bf16_checkpoint), dataset="unused", out=str(tmp_path / "m")),
        dataset=datasets.Dataset.from_list(rows),
    )
    cfg = rarl.RARLConfig(
        model=str(bf16_checkpoint), out=str(tmp_path / "r"), count=1, budgets=[16]
    )
    grpo = rarl.grpo_trainer(cfg)
    for trainer in (sft, grpo):
        assert {p.dtype for p in trainer.model.parameters()} == {torch.float32}
    cfg = rarl.RARLConfig(
        model=str(bf16_checkpoint),
        out=str(tmp_path / "r2"),
        count=1,
        budgets=[16],
        trainer={"model_init_kwargs": {"dtype": "bfloat16"}},  # a recipe may still ask for bf16
    )
    assert rarl.grpo_trainer(cfg).model.dtype == torch.bfloat16


# ---------------------------------------------------------------- one decoding


@dataclass
class FakeSamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    stop_token_ids: list[int] | None = None
    seed: int | None = None


class FakeLLM:
    """Records prompts and params; answers every prompt with the prompt's first 3 ids + EOS."""

    def __init__(self, tokenizer, eos):
        self.tokenizer, self.eos, self.calls = tokenizer, eos, []

    def get_tokenizer(self):
        return self.tokenizer

    def generate(self, prompts, params, use_tqdm=False):
        self.calls.append((list(prompts), list(params)))
        outs = []
        for prompt, p in zip(prompts, params, strict=True):
            ids = (list(prompt["prompt_token_ids"][:3]) + [self.eos])[: p.max_tokens]
            gen = types.SimpleNamespace(token_ids=ids, finish_reason="stop")
            outs.append(types.SimpleNamespace(outputs=[gen]))
        return outs


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = FakeLLM, FakeSamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


@pytest.fixture
def tuned_checkpoint(tmp_path, chat_tokenizer):
    """A tiny model whose generation_config sets sampling and a second EOS id, like Qwen2.5's."""
    model = tiny_causal_lm(chat_tokenizer)
    second = chat_tokenizer.convert_tokens_to_ids("<|endoftext|>")
    gc = model.generation_config
    gc.do_sample, gc.top_k, gc.top_p, gc.repetition_penalty = True, 7, 0.9, 1.3
    gc.eos_token_id = [chat_tokenizer.eos_token_id, second]
    path = tmp_path / "tuned"
    model.save_pretrained(path)
    chat_tokenizer.save_pretrained(path)
    return path, second


def _requests(n=3):
    from roi_reasoning.data import DEFAULT_TIERS, load_tier
    from roi_reasoning.exams import build_exams
    from roi_reasoning.formats import render_prompt
    from roi_reasoning.policies import Request

    tiers = {name: load_tier(spec, name) for name, spec in DEFAULT_TIERS.items()}
    exams = build_exams(tiers, kinds=("easy",), budgets=(12,), count=n, seed=2)
    return [Request(render_prompt(e, "base"), e.budget, e, "base") for e in exams]


def _hf_calls(policy, monkeypatch):
    """The kwargs of every ``model.generate`` call and the row sampler of each."""
    import roi_reasoning.policies.hf as hf

    calls, samplers, real = [], [], policy.model.generate
    real_sampler = hf._RowSampler

    def spy(**kw):
        calls.append(kw)
        return real(**kw)

    def sampler(*a, **kw):
        samplers.append((a, kw))
        return real_sampler(*a, **kw)

    monkeypatch.setattr(policy.model, "generate", spy)
    monkeypatch.setattr(hf, "_RowSampler", sampler)
    return calls, samplers


def test_hf_and_vllm_send_the_same_settings_ids_and_eos(
    tuned_checkpoint, chat_tokenizer, fake_vllm, monkeypatch
):
    from roi_reasoning.policies.hf import HFPolicy
    from roi_reasoning.policies.vllm import VLLMPolicy

    path, second = tuned_checkpoint
    hf = HFPolicy(str(path), temperature=0.7, batch_size=8)
    vllm = VLLMPolicy(str(path), temperature=0.7, engine=FakeLLM(hf.tokenizer, second))
    reqs = _requests()
    calls, samplers = _hf_calls(hf, monkeypatch)
    hf.generate(reqs)
    vllm_comps = vllm.generate(reqs)
    (kw,) = calls
    ((sampler_args, _),) = samplers
    ((prompts, params),) = vllm.engine.calls
    # settings: the checkpoint's generation_config, in both, explicitly
    want = {"temperature": 0.7, "top_p": 0.9, "top_k": 7, "repetition_penalty": 1.3}
    assert hf.describe()["decoding"] == vllm.describe()["decoding"] == {**want, "seed": 0}
    assert kw["repetition_penalty"] == 1.3 and sampler_args[1:4] == (0.7, 0.9, 7)
    for p in params:
        assert (p.temperature, p.top_p, p.top_k, p.repetition_penalty) == (0.7, 0.9, 7, 1.3)
    # one EOS set: tokenizer ∪ generation_config, in generate, in vLLM and in the accounting
    eos = sorted({chat_tokenizer.eos_token_id, second})
    assert kw["eos_token_id"] == eos and all(p.stop_token_ids == eos for p in params)
    assert all(not c.truncated and c.tokens == 4 for c in vllm_comps)  # stopped at the 2nd EOS
    # the same prompt ids: hf's unpadded rows are vLLM's prompt_token_ids, in request order
    order = sorted(range(len(reqs)), key=lambda i: len(prompts[i]["prompt_token_ids"]))
    rows = [
        ids[m.bool()].tolist() for ids, m in zip(kw["input_ids"], kw["attention_mask"], strict=True)
    ]
    assert rows == [prompts[i]["prompt_token_ids"] for i in order]
    assert kw["disable_compile"] is True


def test_explicit_settings_win_and_prompts_get_no_second_bos(chat_tokenizer):
    from tokenizers import processors

    from roi_reasoning.policies import Sampling, prompt_ids

    gc = types.SimpleNamespace(top_k=7, top_p=0.9, repetition_penalty=1.3)
    got = Sampling.resolve(gc, 0.0, top_k=0, repetition_penalty=1.0)
    assert (got.top_k, got.top_p, got.repetition_penalty) == (0, 0.9, 1.0)
    assert Sampling.resolve(None, 1.0).top_k == 50  # transformers' default when nothing is set
    # a tokenizer that adds a BOS, with a chat template that writes it too (Llama-3, Gemma)
    backend = chat_tokenizer.backend_tokenizer.__class__.from_str(
        chat_tokenizer.backend_tokenizer.to_str()
    )
    bos = chat_tokenizer.convert_tokens_to_ids("<|endoftext|>")
    backend.post_processor = processors.TemplateProcessing(
        single="<|endoftext|> $A", special_tokens=[("<|endoftext|>", bos)]
    )
    tok = chat_tokenizer.__class__(tokenizer_object=backend, eos_token="<|im_end|>")
    tok.chat_template = "<|endoftext|>" + chat_tokenizer.chat_template
    messages = [{"role": "user", "content": "2+2?"}]
    text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert tok(text)["input_ids"][:2] == [bos, bos]  # re-tokenizing the text: a second BOS
    ids = prompt_ids(tok, messages)
    assert ids[0] == bos and ids.count(bos) == 1 and ids == tok(text)["input_ids"][1:]


def test_eos_set_is_tokenizer_and_generation_config(chat_tokenizer):
    from roi_reasoning.parsing import eos_ids, ids_completion, register_eos

    second = chat_tokenizer.convert_tokens_to_ids("<|endoftext|>")
    tok = chat_tokenizer.__class__(tokenizer_object=chat_tokenizer.backend_tokenizer)
    tok.eos_token = chat_tokenizer.eos_token
    ids = tok("So \\boxed{4}", add_special_tokens=False)["input_ids"]
    assert ids_completion(tok, ids + [second] + ids, 64).tokens == 2 * len(ids) + 1  # not an EOS
    assert register_eos(tok, types.SimpleNamespace(eos_token_id=[second])) == eos_ids(tok)
    assert eos_ids(tok) == {tok.eos_token_id, second}
    comp = ids_completion(tok, ids + [second] + ids, 64)  # what the reward computes
    assert comp.tokens == len(ids) + 1 and not comp.truncated


# ---------------------------------------------------------------- fast paths


def test_static_cache_never_auto_compiles(chat_tokenizer, monkeypatch):
    from roi_reasoning.policies.hf import HFPolicy

    model = tiny_causal_lm(chat_tokenizer)
    seen, real = [], model._valid_auto_compile_criteria

    def spy(model_kwargs, generation_config):
        seen.append(generation_config.disable_compile)
        return real(model_kwargs, generation_config)

    monkeypatch.setattr(model, "_valid_auto_compile_criteria", spy)
    HFPolicy(model, chat_tokenizer, cache_implementation="static").generate(_requests(2))
    assert seen and all(seen)  # transformers' compile decision saw disable_compile=True


def test_rarl_validation_goes_through_the_colocated_vllm_engine(
    chat_tokenizer, fake_vllm, monkeypatch
):
    from roi_reasoning.training.curve import colocated_engine, validate

    model = tiny_causal_lm(chat_tokenizer)
    engine = FakeLLM(chat_tokenizer, chat_tokenizer.eos_token_id)
    synced = []
    args = types.SimpleNamespace(
        vllm_mode="colocate", vllm_enable_sleep_mode=False, vllm_tensor_parallel_size=1
    )
    trainer = types.SimpleNamespace(
        args=args,
        use_vllm=True,
        state=types.SimpleNamespace(global_step=3),
        _last_loaded_step=1,
        vllm_generation=types.SimpleNamespace(sync_weights=lambda: synced.append(1), llm=engine),
    )
    assert colocated_engine(trainer) is engine and synced == [1]  # weights of step 3 pushed
    assert colocated_engine(trainer) is engine and synced == [1]  # not twice for one step
    trainer.args.vllm_enable_sleep_mode = True
    assert colocated_engine(trainer) is None  # TRL sleeps/wakes it: the hf policy validates
    monkeypatch.setattr(model, "generate", lambda **kw: pytest.fail("hf generate was used"))
    exams = [r.exam for r in _requests(5)]
    metrics = validate(model, chat_tokenizer, exams, bounds=[4, 8, 12], engine=engine)
    ((prompts, params),) = engine.calls  # every exam in one call
    assert len(prompts) == len(exams) and all(p.temperature == 0 and p.seed is None for p in params)
    assert set(metrics) == {"val/reward", "val/reward_B12"}


# ---------------------------------------------------------------- the prepared device check


def test_gpu_check_smoke_runs_every_section(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "bench/gpu_check.py")
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    out = gpu_check.main(["--smoke", "--out", str(tmp_path / "g.json")])
    assert json.loads(Path(tmp_path / "g.json").read_text()) == out
    assert {r["batch"] for r in out["decode"]["rows"]} == set(gpu_check.SMOKE["batches"])
    assert all(r["tok_s"] > 0 and r["limit_tok_s"] > 0 for r in out["decode"]["rows"])
    assert out["rarl_step"]["master_dtype"] == "float32" and out["rarl_step"]["seconds"] > 0
    # at lr 1e-6 the fp32 masters move (almost) every weight; bf16 weights would keep most
    assert out["moves"]["fp32_changed"] > 0.9 > 0.2 > out["moves"]["bf16_would_change"]
