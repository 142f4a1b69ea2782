"""Every recipe under configs/ loads, validates and runs as written on CPU, smoke-sized.

MFT and RARL recipes train 2 optimizer steps; the eval recipe evaluates one problem set. The
model is swapped for a tiny randomly initialised one of the recipe's architecture family (a
Qwen2 for the Qwen2.5 recipes, the world's own small Llama for the world ones), saved to
tmp_path with the world's tokenizer and loaded from there by the recipe's own code path. The
world tokenizer is built locally as `roi world build` builds it, ChatML like Qwen2.5's, and its
template sentences are single tokens: a 3-problem roi prompt is ~130 tokens (~660 with the
shared byte-level chat tokenizer of conftest), which keeps this file fast. A new recipe is
covered by the glob; one whose folder or model family is unknown fails here until added.

Overrides, and why (every other key is the recipe as written: batch sizes, gradient
accumulation, LoRA, activation checkpointing, learning rates, β, temperature, report_to,
logging/save steps, level bounds, validation settings, ``trainer:``):
- paths ``model`` / ``dataset`` / ``out`` / ``tiers`` (``val_tiers``) / ``policy_args.model``:
  tmp_path; the recipe's files do not exist in a checkout;
- ``max_steps: 2``: a smoke run;
- ``budgets`` (length-type, RARL and eval): each recipe budget // ``SHRINK``, so the count of
  budgets and their order stay. A random tiny model never writes EOS, so every rollout and
  every greedy validation would run to the full budget (1024 tokens for Qwen) and the file
  would take minutes;
- ``use_vllm: false`` where a recipe sets it (vLLM needs a GPU; the recipe value is asserted);
- device keys in ``trainer:`` (bf16 / fp16 / tf32) set false on a machine without CUDA, only
  where a recipe sets them (none does today: bf16 is chosen in code by the device);
- eval ``count: 1``: one problem set per paper and budget.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

import roi_reasoning.training.mft as mft
import roi_reasoning.training.rarl as rarl
from roi_reasoning.config import load_config, load_yaml
from roi_reasoning.evaluation.evaluate import EvalConfig, run_eval
from roi_reasoning.formats import render_prompt, render_tag
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Exam, Problem
from roi_reasoning.training.curve import read_curve

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
RECIPES = sorted(CONFIGS.glob("**/*.yaml"))
# world/*.yaml runs in tests/test_world.py (test_world_recipe_builds_through_roi)
KINDS = {"mft": mft.MFTTrainConfig, "rarl": rarl.RARLConfig, "eval": EvalConfig, "world": None}
SHRINK = 32  # budgets // SHRINK: Qwen's 512/1024 → 16/32 tokens, the world's 128/320 → 4/10
DEVICE_KEYS = ("bf16", "fp16", "tf32")


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """One intra-op thread while this file runs (restored after): tiny models gain nothing from
    a second one, and on a 2-core machine shared with other jobs every op of a 2-thread pool
    waits for its descheduled thread (measured at load ~4: the Qwen RARL run took 52 s with 2
    threads, 3.6 s with 1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def kind(path: Path) -> str:
    return path.relative_to(CONFIGS).parts[0]


def recipes(name: str) -> list[Path]:
    return [p for p in RECIPES if kind(p) == name]


def rid(path: Path) -> str:
    return str(path.relative_to(CONFIGS))


def family(model: str) -> str:
    """The architecture family of a recipe's model (a hub id or a roi run folder)."""
    m = model.lower()
    if "qwen2" in m or m.startswith("runs/qwen/"):  # Qwen2.5 and the MFT model trained from it
        return "qwen2"
    if m.startswith("runs/demo/"):  # the embedded world's base model and its MFT / RARL models
        return "llama"
    raise AssertionError(f"recipe model {model!r}: add its architecture family to family()")


def world_tokenizer(folder: Path) -> Any:
    """The world's own tokenizer, built as `roi world build` builds it (world/model.py) from the
    default world's data written to ``folder``."""
    from roi_reasoning.data import TierSpec, load_tier
    from roi_reasoning.world.problems import TIERS, WorldConfig, write_world
    from roi_reasoning.world.tokenizer import build_tokenizer, world_corpus

    files = write_world(folder, WorldConfig())
    rows = [p.to_dict() for t in TIERS for p in load_tier(TierSpec(files[t]["train"]), t)[:500]]
    test = {t: load_tier(TierSpec(files[t]["test"]), t)[:20] for t in TIERS}
    return build_tokenizer(world_corpus(rows, test), WorldConfig().vocab_size)


def tiny_model(name: str, tokenizer: Any) -> Any:
    """A tiny randomly initialised model of family ``name``: the world's Llama (world/model.py,
    its default size), or a Qwen2 of Qwen2.5's shape in miniature (grouped KV heads, tied
    embeddings)."""
    if name == "llama":
        from roi_reasoning.world.model import new_model
        from roi_reasoning.world.problems import WorldConfig

        return new_model(WorldConfig(), tokenizer)
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    return Qwen2ForCausalLM(config)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """family → folder with a tiny model and the world tokenizer (built once per family)."""
    root, built = tmp_path_factory.mktemp("models"), {}
    tokenizer = world_tokenizer(root / "world-data")

    def get(name: str) -> Path:
        if name not in built:
            built[name] = root / name
            tiny_model(name, tokenizer).save_pretrained(built[name])
            tokenizer.save_pretrained(built[name])
        return built[name]

    return get


PROBLEMS = [Problem(f"p{i}", f"What is {i} + 3?", str(i + 3)) for i in range(1, 5)]


@pytest.fixture
def tiers(tmp_path) -> dict[str, dict[str, str]]:
    out = {}
    for t, tier in enumerate(("easy", "medium", "hard")):
        path = tmp_path / f"{tier}.jsonl"
        rows = [
            {**p.to_dict(), "id": f"{tier}-{p.id}", "answer": str(int(p.answer) + t)}
            for p in PROBLEMS
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        out[tier] = {"source": str(path)}
    return out


def mft_dataset(folder: Path) -> Path:
    """`roi mft build`'s layout (<folder>/dataset): prompt/completion rows in the roi format."""
    import datasets

    rows = []
    for p in PROBLEMS * 2:
        exam = Exam(f"mft-{p.id}", p.id, "single", 512, (p,))
        sum_ = p.question.removeprefix("What is ").rstrip("?")
        text = f"## Problem 1\n{render_tag(0)} {sum_} = \\boxed{{{p.answer}}}\n"
        rows.append(
            {
                "prompt": render_prompt(exam, "roi", DEFAULT_LEVEL_BOUNDS),
                "completion": [{"role": "assistant", "content": text}],
            }
        )
    datasets.Dataset.from_list(rows).save_to_disk(str(folder / "dataset"))
    return folder


def device_overrides(recipe: dict[str, Any]) -> dict[str, Any]:
    """``trainer`` with its device-only keys off where this machine has no CUDA device."""
    trainer = dict(recipe.get("trainer") or {})
    if torch.cuda.is_available() or not any(trainer.get(k) for k in DEVICE_KEYS):
        return {}
    return {"trainer": {**trainer, **{k: False for k in DEVICE_KEYS if trainer.get(k)}}}


def captured(monkeypatch, module: Any, name: str) -> list[Any]:
    """The trainers ``module.<name>`` builds, recorded while ``train`` runs."""
    seen, real = [], getattr(module, name)

    def build(*args: Any, **kwargs: Any) -> Any:
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(module, name, build)
    return seen


def _norm(key: str, value: Any) -> Any:
    if key == "report_to":  # TRL keeps a list; "none" is the empty one
        value = [value] if isinstance(value, str) else list(value)
        return [v for v in value if v != "none"]
    return value


def assert_reached_trl(recipe: dict[str, Any], args: Any, own: tuple[str, ...], overridden) -> None:
    """Every TRL-named top-level key and every ``trainer`` key of the recipe is the value the
    TRL config holds."""
    settings = {k: v for k, v in recipe.items() if k not in own}
    settings.update({k: v for k, v in (recipe.get("trainer") or {}).items()})
    for key, value in settings.items():
        if key not in overridden:
            assert _norm(key, getattr(args, key)) == _norm(key, value), key


def weights(folder: Path) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(folder).state_dict()


def test_every_recipe_has_a_run_here():
    assert recipes("mft") and recipes("rarl") and recipes("eval")
    unknown = [rid(p) for p in RECIPES if kind(p) not in KINDS]
    assert not unknown, f"no config class / run for {unknown}: add them to KINDS and a test"


@pytest.mark.parametrize("path", recipes("mft"), ids=rid)
def test_mft_recipe_trains_two_steps(path, tmp_path, models, monkeypatch):
    recipe = load_yaml(path)
    base = models(family(recipe["model"]))
    overrides = {
        "model": str(base),
        "dataset": str(mft_dataset(tmp_path / "data")),
        "out": str(tmp_path / "mft"),
        "max_steps": 2,
        **device_overrides(recipe),
    }
    cfg = load_config(mft.MFTTrainConfig, path, overrides)
    seen = captured(monkeypatch, mft, "sft_trainer")
    final = mft.train(cfg)
    (trainer,) = seen
    assert trainer.state.global_step == 2
    assert_reached_trl(recipe, trainer.args, mft.MFT_OWN, overrides)
    assert trainer.args.completion_only_loss and trainer.args.output_dir == cfg.out
    if cfg.lora:  # PEFT as the recipe sets it, merged into final/
        peft = trainer.model.peft_config["default"]
        assert (peft.r, peft.lora_alpha) == (cfg.lora_r, cfg.lora_alpha)
        assert not (final / "adapter_config.json").exists()
    before, after = weights(base), weights(final)
    assert json.loads((final / "config.json").read_text())["model_type"] == family(recipe["model"])
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before), "SFT moved no weight"


@pytest.mark.parametrize("path", recipes("rarl"), ids=rid)
def test_rarl_recipe_trains_two_steps(path, tmp_path, models, tiers, monkeypatch):
    recipe = load_yaml(path)
    budgets = recipe.get(
        "budgets", rarl.RARLConfig.__dataclass_fields__["budgets"].default_factory()
    )
    overrides = {
        "model": str(models(family(recipe["model"]))),
        "out": str(tmp_path / "rarl"),
        "tiers": tiers,
        "max_steps": 2,
        "budgets": [b // SHRINK for b in budgets],
        **device_overrides(recipe),
    }
    if recipe.get("val_tiers"):
        overrides["val_tiers"] = tiers
    if recipe.get("use_vllm"):
        overrides["use_vllm"] = False  # vLLM needs a GPU; the rest of the recipe runs as written
    cfg = load_config(rarl.RARLConfig, path, overrides)
    rewards: list[tuple[list[int], list[int]]] = []
    real_reward = rarl.make_reward

    def spy(name, tokenizer, **kw):
        fn = real_reward(name, tokenizer, **kw)

        def reward(prompts, completions, completion_ids=None, **columns):
            limits = [json.loads(e)["budget"] for e in columns["exam"]]
            rewards.append(([len(c) for c in completion_ids], limits))
            return fn(prompts, completions, completion_ids, **columns)

        return reward

    monkeypatch.setattr(rarl, "make_reward", spy)
    seen = captured(monkeypatch, rarl, "grpo_trainer")
    final = rarl.train(cfg)
    (trainer,) = seen
    assert trainer.state.global_step == 2
    assert_reached_trl(recipe, trainer.args, rarl.RARL_OWN, overrides)
    args = trainer.args
    assert (args.loss_type, args.scale_rewards, args.max_completion_length) == (
        "dr_grpo",
        "none",
        max(cfg.budgets),
    )
    assert len(rewards) == 2  # one generation per optimizer step (steps_per_generation = accum)
    for lengths, limits in rewards:
        assert len(lengths) == args.generation_batch_size
        assert all(n <= b for n, b in zip(lengths, limits, strict=True))
    assert {b for _, limits in rewards for b in limits} <= set(cfg.budgets)
    assert json.loads((final / "config.json").read_text())["model_type"] == family(recipe["model"])
    if cfg.val_every:  # validation before any update and at the last step
        rows = {r["step"]: r for r in read_curve(Path(cfg.out) / "curve.jsonl")}
        for step in (0, 2):
            assert set(rows[step]["val_reward_by_budget"]) == {str(b) for b in cfg.budgets}


@pytest.mark.parametrize("path", recipes("eval"), ids=rid)
def test_eval_recipe_runs_on_a_tiny_model(path, tmp_path, models, tiers):
    cfg = load_config(EvalConfig, path, {"out": str(tmp_path / "unused")})
    # load_config made it: the recipe as written is valid (EvalConfig checks itself)
    assert cfg.policy == "hf", f"{rid(path)}: teach this test the {cfg.policy!r} policy"
    overrides = {
        "out": str(tmp_path / "eval"),
        "policy_args": {**cfg.policy_args, "model": str(models(family(cfg.policy_args["model"])))},
        "tiers": tiers,
        "count": 1,
        "budgets": [b // SHRINK for b in cfg.budgets],
    }
    cfg = load_config(EvalConfig, path, overrides)
    results = run_eval(cfg, progress=False)
    cells = {(c["method"], c["kind"], c["budget"]) for c in results["cells"]}
    assert cells == {(m, k, b) for m in cfg.methods for k in cfg.kinds for b in cfg.budgets}
    for line in (Path(cfg.out) / "samples.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert row["tokens_used"] <= row["budget"], (row["method"], row["exam_id"])


def test_the_world_recipes_run_through_roi(tmp_path, models, tiers):
    """`roi mft train --config configs/mft/world.yaml`, then `roi rarl train --config
    configs/rarl/world.yaml` on its model: the demo's two training stages from the command
    line, with the overrides above given as flags."""
    from roi_reasoning.cli import main

    mft_args = ["--model", str(models("llama")), "--dataset", str(mft_dataset(tmp_path / "data"))]
    mft_out = tmp_path / "mft"
    argv = ["mft", "train", "--config", str(CONFIGS / "mft" / "world.yaml"), *mft_args]
    assert main([*argv, "--out", str(mft_out), "--max-steps", "2"]) == 0
    budgets = [b // SHRINK for b in load_yaml(CONFIGS / "rarl" / "world.yaml")["budgets"]]
    flags = [f"--tier={name}={spec['source']}" for name, spec in tiers.items()]
    flags += ["--budgets", ",".join(map(str, budgets)), "--max-steps", "2"]
    rarl_out = tmp_path / "rarl"
    argv = ["rarl", "train", "--config", str(CONFIGS / "rarl" / "world.yaml"), *flags]
    assert main([*argv, "--model", str(mft_out / "final"), "--out", str(rarl_out)]) == 0
    assert (rarl_out / "final" / "config.json").exists()
    validated = [
        r["step"] for r in read_curve(rarl_out / "curve.jsonl") if r["val_reward"] is not None
    ]
    assert validated[0] == 0 and validated[-1] == 2  # before any update, and at the last step
