"""Meta-Cognitive Fine-Tuning (MFT), docs/design.md §1 stage 1: the TRL SFT run on the dataset
``mft_data`` builds (the targets: tag + shortest correct solution per problem, refusals).

``MFTTrainConfig`` carries ``trl.SFTConfig``'s own field names, and its ``trainer`` mapping
passes any other SFTConfig field through, checked before anything runs (``trl_args``); the loss
covers the completion mask of the dataset only.

Run example: ``roi mft train --config configs/mft/world.yaml``
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from roi_reasoning import runfolder

# MFTTrainConfig: ``model``, ``dataset``, ``out`` and the LoRA settings are ours; every other
# top-level field is the ``trl.SFTConfig`` field of the same name (our default where it differs
# from TRL's, noted); ``trainer`` passes any other SFTConfig field through (``trl_args``).
MFT_OWN = ("model", "dataset", "out", "lora", "lora_r", "lora_alpha", "trainer")
SFT_CONTROLLED = {"output_dir": "it is `out`"}
SFT_FIXED = {"completion_only_loss": (True, "MFT learns the completion only, never the prompt")}


# Numbers checked when the config is made (validate.check_fields), before anything runs.
MFT_RANGES: dict[str, tuple] = {
    "lora_r": (1, 4096),
    "lora_alpha": (1, 1_000_000),
    "learning_rate": (0.0, 10.0, "above"),
    "num_train_epochs": (0.0, 1e6, "above"),
    "max_steps": (-1, 100_000_000),
    "per_device_train_batch_size": (1, 1_000_000),
    "gradient_accumulation_steps": (1, 1_000_000),
    "max_length": (1, 10_000_000),
    "seed": (0, 2**32 - 1),
    "logging_steps": (1, 100_000_000),
    "save_steps": (1, 100_000_000),
}


@dataclass
class MFTTrainConfig:
    model: str  # base model folder / hub id
    dataset: str  # folder written by `roi mft build` (its dataset/ subfolder is read)
    out: str  # SFTConfig.output_dir: checkpoints + final/ (a plain model folder, LoRA merged)
    lora: bool = False  # PEFT LoRA on all linear layers, merged into final/
    lora_r: int = 16
    lora_alpha: int = 32
    learning_rate: float = 1e-4  # TRL: 2e-5
    num_train_epochs: float = 1.0  # TRL: 3
    max_steps: int = -1
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    max_length: int = 2048  # tokens, prompt + completion; TRL: 1024
    seed: int = 0  # TRL: 42
    report_to: str | list[str] = "none"  # tensorboard / wandb
    logging_steps: int = 10
    save_steps: int = 200  # TRL: 500
    # TRL's SFTConfig turns it on (gradient_checkpointing=True); on CPU tiny models it only costs
    # time, so ours is off: recipes for large models turn it on.
    activation_checkpointing: bool = False
    trainer: dict[str, Any] = field(default_factory=dict)  # any other SFTConfig field

    def __post_init__(self) -> None:
        from roi_reasoning.errors import ConfigError
        from roi_reasoning.training.trl_args import check_trainer
        from roi_reasoning.validate import check_fields

        check_fields(self, MFT_RANGES)
        if self.max_steps == 0:
            raise ConfigError("max_steps", "must be -1 (epochs decide) or >= 1")

        check_trainer(
            "SFTConfig",
            self.trainer,
            ours=[f.name for f in fields(self)],
            controlled=SFT_CONTROLLED,
            fixed=SFT_FIXED,
        )


def sft_args(cfg: MFTTrainConfig) -> dict[str, Any]:
    """``SFTConfig`` keyword arguments: our device defaults, then ``trainer``, then the top-level
    TRL fields and the ones roi controls."""
    from roi_reasoning.training.trl_args import checkpointing_args, device_defaults

    top = {k: v for k, v in asdict(cfg).items() if k not in MFT_OWN}
    passed = {k: v for k, v in cfg.trainer.items() if k != "model_init_kwargs"}  # applied by us
    args = {
        **device_defaults(cfg.trainer),
        **passed,
        **top,
        "output_dir": cfg.out,
        "completion_only_loss": True,  # the loss mask covers tags, solutions and NA, never the prompt
    }
    return checkpointing_args(args)  # activation_checkpointing under this transformers' name


def sft_trainer(cfg: MFTTrainConfig, model: Any = None, tokenizer: Any = None, dataset: Any = None):
    """A TRL ``SFTTrainer`` with loss on completion tokens only (prompt/completion data)."""
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from roi_reasoning.training.trl_args import model_kwargs

    args = SFTConfig(**sft_args(cfg))
    load = model_kwargs(cfg.trainer)
    trust = load.get("trust_remote_code", False)
    tokenizer = tokenizer or AutoTokenizer.from_pretrained(cfg.model, trust_remote_code=trust)
    model = model or AutoModelForCausalLM.from_pretrained(cfg.model, **load)  # fp32 by default
    dataset = dataset or datasets.load_from_disk(str(Path(cfg.dataset) / runfolder.MFT_DATASET))
    peft_config = None
    if cfg.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
    )


def train(cfg: MFTTrainConfig, resume: bool = False, **objects: Any) -> Path:
    """Run SFT; save a plain model folder (LoRA merged) with its tokenizer to ``<out>/final``
    (crash-safe: ``checkpoints``). ``resume``: from the newest complete checkpoint."""
    from roi_reasoning.training.checkpoints import train_to_final

    trainer = sft_trainer(cfg, **objects)  # loads and checks model and data; writes nothing

    def final_model() -> Any:
        return trainer.model.merge_and_unload() if cfg.lora else trainer.model

    def write(model: Any, folder: Path) -> None:
        if trainer.is_world_process_zero():  # one writer under multi-process launches
            model.save_pretrained(folder)
            trainer.processing_class.save_pretrained(folder)

    return train_to_final(trainer, cfg.out, "mft", resume, final_model, write)
