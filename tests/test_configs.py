"""Every shipped YAML recipe loads into its config dataclass (no unknown or missing keys)."""

from pathlib import Path

import pytest

from roi_reasoning.config import load_config
from roi_reasoning.errors import DataError
from roi_reasoning.evaluation.evaluate import EvalConfig
from roi_reasoning.training.mft import MFTTrainConfig
from roi_reasoning.training.rarl import RARLConfig
from roi_reasoning.world import WorldConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
KINDS = {"mft": MFTTrainConfig, "rarl": RARLConfig, "eval": EvalConfig, "world": WorldConfig}


@pytest.mark.parametrize(
    "path", sorted(CONFIGS.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_recipe_loads(path):
    cls = KINDS[path.parent.name]
    overrides = {"out": "x"} if cls is EvalConfig else {}
    cfg = load_config(cls, path, overrides)
    assert isinstance(cfg, cls)


def test_bad_yaml_names_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: a\nout: [unclosed\n")
    with pytest.raises(DataError, match=rf"{bad}:\d+: bad YAML"):
        load_config(MFTTrainConfig, bad, {})
    missing = tmp_path / "missing.yaml"
    missing.write_text("out: x\n")
    with pytest.raises(DataError, match=r"missing required setting\(s\) \['model', 'dataset'\]"):
        load_config(MFTTrainConfig, missing, {})


def test_top_level_training_fields_are_trl_fields():
    """Every top-level setting that is not ours is the TRL config field of the same name."""
    import dataclasses

    from trl import GRPOConfig, SFTConfig

    from roi_reasoning.training.mft import MFT_OWN
    from roi_reasoning.training.rarl import RARL_OWN

    for cls, own, trl_cls in (
        (MFTTrainConfig, MFT_OWN, SFTConfig),
        (RARLConfig, RARL_OWN, GRPOConfig),
    ):
        names = {f.name for f in dataclasses.fields(cls)}
        trl_names = {f.name for f in dataclasses.fields(trl_cls)}
        assert set(own) <= names
        assert names - set(own) <= trl_names, sorted(names - set(own) - trl_names)
        assert not (set(own) - {"out", "model"}) & trl_names  # ours never shadow a TRL field


BAD_TRAINER = [
    (
        MFTTrainConfig,
        {"warmup_ratoi": 0.1},
        "trainer.warmup_ratoi: unknown SFTConfig field; did you mean warmup_steps?",
    ),
    (MFTTrainConfig, {"warmup_ratio": 0.1}, "trainer.warmup_ratio: .*use warmup_steps"),
    (MFTTrainConfig, {"lr_schedular_type": "cosine"}, "did you mean lr_scheduler_type"),
    (MFTTrainConfig, {"lr_scheduler_type": "cosin"}, "trainer.lr_scheduler_type: expected one of"),
    (MFTTrainConfig, {"log_level": "loud"}, "trainer.log_level: expected one of"),
    (MFTTrainConfig, {"warmup_steps": "10%"}, "trainer.warmup_steps: expected a finite number"),
    (
        MFTTrainConfig,
        {"model_init_kwargs": "bf16"},
        "trainer.model_init_kwargs: expected a mapping",
    ),
    (
        MFTTrainConfig,
        {"per_device_train_batch_size": 4},
        "trainer.per_device_train_batch_size: .*top-level",
    ),
    (MFTTrainConfig, {"lora_r": 4}, "trainer.lora_r: .*top-level"),
    (MFTTrainConfig, {"output_dir": "x"}, "trainer.output_dir: set by roi.*`out`"),
    (MFTTrainConfig, {"completion_only_loss": False}, "trainer.completion_only_loss: must be True"),
    (
        MFTTrainConfig,
        {"gradient_checkpointing": True},
        "deprecated alias.*top-level `activation_checkpointing`",
    ),
    (RARLConfig, {"loss_type": "grpo"}, "trainer.loss_type: must be 'dr_grpo'"),
    (
        RARLConfig,
        {"mask_truncated_completions": True},
        "trainer.mask_truncated_completions: must be False",
    ),
    (RARLConfig, {"remove_unused_columns": True}, "trainer.remove_unused_columns: must be False"),
    (
        RARLConfig,
        {"max_completion_length": 64},
        "trainer.max_completion_length: set by roi.*budgets",
    ),
    (RARLConfig, {"use_vllm": True}, "trainer.use_vllm: .*top-level"),
    (RARLConfig, {"budgets": [64]}, "trainer.budgets: .*top-level"),
    (
        RARLConfig,
        {"gradient_checkpointing": True},
        "deprecated alias.*trainer.activation_checkpointing",
    ),
    (
        RARLConfig,
        {"max_prompt_length": 256},
        "trainer.max_prompt_length: unknown GRPOConfig field.*removed",
    ),
    (RARLConfig, {"top_p": "high"}, "trainer.top_p: expected a finite number"),
]


@pytest.mark.parametrize("cls,trainer,match", BAD_TRAINER, ids=lambda x: str(x)[:40])
def test_bad_trainer_keys_are_config_errors_naming_the_key(cls, trainer, match, tmp_path):
    from roi_reasoning.errors import ConfigError

    required = {"model": "m", "out": str(tmp_path / "out")}
    if cls is MFTTrainConfig:
        required["dataset"] = "d"
    with pytest.raises(ConfigError, match=match):
        cls(**required, trainer=trainer)


def test_a_bad_trainer_key_stops_the_cli_before_anything_is_written(tmp_path, capsys):
    from roi_reasoning.cli import main

    recipe = tmp_path / "bad.yaml"
    out = tmp_path / "run"
    recipe.write_text(
        f"model: m\ndataset: d\nout: {out}\ntrainer:\n  lr_scheduler_type: cosine\n  warmup_ratoi: 0.1\n"
    )
    assert main(["mft", "train", "--config", str(recipe)]) == 2
    assert "trainer.warmup_ratoi: unknown SFTConfig field" in capsys.readouterr().err
    assert not out.exists()
    rarl_recipe = tmp_path / "rarl.yaml"
    rarl_recipe.write_text(f"model: m\nout: {out}\ntrainer: {{loss_type: dapo}}\n")
    assert main(["rarl", "train", "--config", str(rarl_recipe)]) == 2
    assert "trainer.loss_type: must be 'dr_grpo'" in capsys.readouterr().err
    assert not out.exists()


def test_trainer_fields_reach_the_trl_configs_over_our_defaults(tmp_path):
    from trl import GRPOConfig, SFTConfig

    from roi_reasoning.training.mft import sft_args
    from roi_reasoning.training.rarl import grpo_args

    extra = {"lr_scheduler_type": "cosine", "warmup_steps": 0.1, "weight_decay": 0.01}
    mft = MFTTrainConfig(model="m", dataset="d", out=str(tmp_path / "m"), trainer=extra)
    args = SFTConfig(**sft_args(mft))
    assert (args.lr_scheduler_type, args.warmup_steps, args.weight_decay) == ("cosine", 0.1, 0.01)
    assert args.completion_only_loss and args.output_dir == mft.out
    trl_default = SFTConfig.__dataclass_fields__["learning_rate"].default
    assert args.learning_rate == mft.learning_rate != trl_default  # ours: 1e-4
    assert not args.activation_checkpointing  # our default (TRL's SFTConfig: on)
    rarl = RARLConfig(model="m", out=str(tmp_path / "r"), budgets=[64, 32])
    args = GRPOConfig(**grpo_args(rarl))
    assert (args.loss_type, args.scale_rewards, args.max_completion_length) == (
        "dr_grpo",
        "none",
        64,
    )
    assert not args.mask_truncated_completions and not args.remove_unused_columns
    if not torch_cuda():
        assert args.use_cpu and not args.bf16 and not args.activation_checkpointing
    mine = {"scale_rewards": "group", "activation_checkpointing": True, "top_p": 0.9}
    args = GRPOConfig(**grpo_args(RARLConfig(model="m", out=str(tmp_path / "r"), trainer=mine)))
    assert (args.scale_rewards, args.activation_checkpointing, args.top_p) == ("group", True, 0.9)
    assert args.loss_type == "dr_grpo"


def torch_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_exponent_floats_are_numbers_in_yaml_and_in_demo_sets(tmp_path):
    """PyYAML reads ``1e-4`` as a string (YAML 1.1); recipes and ``--set`` read it as 0.0001."""
    from roi_reasoning.demo.config import demo_config

    path = tmp_path / "rarl.yaml"
    path.write_text("model: m\nout: o\nlearning_rate: 1e-4\nbeta: 4E-2\n")
    cfg = load_config(RARLConfig, path, {})
    assert cfg.learning_rate == 1e-4 and cfg.beta == 0.04
    demo = demo_config(str(tmp_path / "d"), sets=["rarl.learning_rate=5e-5", "world.lr=3e-3"])
    assert demo.rarl.learning_rate == 5e-5 and demo.world.lr == 3e-3
