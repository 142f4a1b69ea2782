"""TRL trainer arguments from our recipes: TRL's own field names, and a checked passthrough.

``MFTTrainConfig`` (→ ``trl.SFTConfig``) and ``RARLConfig`` (→ ``trl.GRPOConfig``) name the TRL
fields they set at the top level with TRL's own names (``per_device_train_batch_size``, ...);
any other field of the TRL dataclass goes in the recipe's ``trainer:`` mapping, passed through
as written. ``check_trainer`` checks that mapping when the config is built, before anything is
written or trained, and raises ``ConfigError("trainer.<key>", ...)`` for:

- a key that is no field of the TRL dataclass (with the closest field name, and the new name of
  a field transformers 5 / TRL 1.x removed, e.g. ``warmup_ratio`` → ``warmup_steps``);
- a key that is a top-level setting of the recipe (one place per setting);
- a field roi sets itself (``controlled``: ``output_dir`` is ``out``, ...) or must keep at one
  value (``fixed``: e.g. RARL's ``loss_type: dr_grpo``);
- the aliases ``gradient_checkpointing(_kwargs)``: recipes say ``activation_checkpointing``
  (transformers ≥ 5.23's name, which silently wins over the deprecated alias there);
  ``checkpointing_args`` renames it to ``gradient_checkpointing`` on older transformers, whose
  ``TrainingArguments`` have only that field (vLLM 0.31 caps transformers at < 5.18);
- a value of the wrong type (TRL's annotations via ``validate.check_type``; enum-valued and
  ``choices`` fields against their valid values).

Device defaults (``device_defaults``) are ours, not TRL's: ``use_cpu`` when no CUDA device is
present, ``bf16`` only on a CUDA device that supports it (TRL's default ``bf16=None`` means True),
and never together with a ``trainer.fp16: true``; a recipe may override both in ``trainer``.

Run example: ``python -c "from roi_reasoning.training.trl_args import check_trainer as c; c('SFTConfig', {'warmup_ratoi': 0.1})"``
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from roi_reasoning.errors import ConfigError

# Fields transformers 5 / TRL 1.x removed or renamed: a recipe written for older versions
# gets the new name instead of "unknown field".
MOVED = {
    "warmup_ratio": "use warmup_steps (a value below 1 is a fraction of the training steps)",
    "no_cuda": "use use_cpu",
    "evaluation_strategy": "use eval_strategy",
    "max_seq_length": "use max_length",
    "torch_dtype": "use model_init_kwargs: {dtype: ...}",
    "max_prompt_length": "removed in TRL 1.x: prompts are not truncated",
}
# Deprecated aliases (transformers 5) of fields roi always passes: the alias would lose silently.
ALIASES = {
    "gradient_checkpointing": "activation_checkpointing",
    "gradient_checkpointing_kwargs": "activation_checkpointing_kwargs",
}


# activation_checkpointing(_kwargs) → the name of transformers < 5.23 (the same setting).
OLD_NAMES = {new: old for old, new in ALIASES.items()}


def checkpointing_args(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` for this transformers' ``TrainingArguments``: ``activation_checkpointing(_kwargs)``
    as written where the field exists (transformers ≥ 5.23), else under its older name
    ``gradient_checkpointing(_kwargs)``; TRL's GRPO/SFT configs read whichever exists."""
    from transformers import TrainingArguments

    have = {f.name for f in dataclasses.fields(TrainingArguments)}
    return {(k if k in have else OLD_NAMES.get(k, k)): v for k, v in kwargs.items()}


def trl_fields(name: str) -> tuple[dict[str, dataclasses.Field], dict[str, Any]]:
    """The fields of ``trl.<name>`` (``SFTConfig`` / ``GRPOConfig``) and their type hints."""
    import trl

    cls = getattr(trl, name)
    return {f.name: f for f in dataclasses.fields(cls)}, typing.get_type_hints(cls)


def check_trainer(
    name: str,
    trainer: Mapping[str, Any],
    *,
    ours: Iterable[str] = (),
    controlled: Mapping[str, str] | None = None,
    fixed: Mapping[str, tuple[Any, str]] | None = None,
) -> None:
    """Check a recipe's ``trainer:`` mapping for ``trl.<name>`` (see the module docstring).
    ``ours``: the recipe's top-level settings; ``controlled``: field → why roi sets it;
    ``fixed``: field → (the only value allowed, why)."""
    if not isinstance(trainer, Mapping):
        raise ConfigError("trainer", f"expected a mapping of {name} fields, got {trainer!r}")
    if not trainer:
        return
    fields, hints = trl_fields(name)
    ours, controlled, fixed = set(ours), controlled or {}, fixed or {}
    for key, value in trainer.items():
        path = f"trainer.{key}"
        if key in ours:
            raise ConfigError(path, f"`{key}` is a top-level setting of this recipe; set it there")
        if key in controlled:
            raise ConfigError(path, f"set by roi, not settable: {controlled[key]}")
        if key in fixed:
            want, why = fixed[key]
            if value != want:
                raise ConfigError(path, f"must be {want!r} ({why}), got {value!r}")
        if key in ALIASES:
            new = ALIASES[key]
            where = f"the top-level `{new}`" if new in ours else f"trainer.{new}"
            raise ConfigError(path, f"deprecated alias of {new} (transformers 5); use {where}")
        field = OLD_NAMES.get(key, key) if key not in fields else key
        if field not in fields:
            raise ConfigError(path, f"unknown {name} field{_hint(key, fields)}")
        check_value(value, hints[field], fields[field], path)


def _hint(key: Any, fields: Iterable[str]) -> str:
    if key in MOVED:
        return f" in this TRL/transformers version; {MOVED[key]}"
    close = difflib.get_close_matches(str(key), list(fields), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def check_value(value: Any, hint: Any, field: dataclasses.Field, path: str) -> None:
    """``value`` fits the TRL field: its ``choices``, its enum's values, else its annotation."""
    from roi_reasoning.validate import check_type

    choices = field.metadata.get("choices")
    if choices is not None and value not in list(choices):
        raise ConfigError(path, f"expected one of {sorted(choices)}, got {value!r}")
    enums = [a for a in typing.get_args(hint) if isinstance(a, type) and issubclass(a, enum.Enum)]
    if enums and isinstance(value, str):  # e.g. lr_scheduler_type: SchedulerType | str
        valid = sorted({str(m.value) for e in enums for m in e})
        if value not in valid:
            raise ConfigError(path, f"expected one of {valid}, got {value!r}")
        return
    if field.name == "model_init_kwargs" and not isinstance(value, Mapping):
        raise ConfigError(path, f"expected a mapping of from_pretrained arguments, got {value!r}")
    check_type(value, hint, path)


def device_defaults(trainer: Mapping[str, Any]) -> dict[str, Any]:
    """Our device handling (TRL would default ``bf16`` on and the GPU on): CPU when no CUDA
    device is present, bf16 only on a CUDA device that supports it and not with fp16."""
    import torch

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported() and not trainer.get("fp16")
    return {"use_cpu": not cuda, "bf16": bool(bf16)}


def model_kwargs(trainer: Mapping[str, Any]) -> dict[str, Any]:
    """``from_pretrained`` arguments of the policy roi loads: ``trainer.model_init_kwargs`` and
    ``trainer.trust_remote_code`` (TRL would apply them only to a model it loads itself), with
    ``dtype`` float32 unless set there, as TRL's own loader does: transformers 5's default
    ``dtype="auto"`` loads Qwen2.5 in bf16, where AdamW steps at lr 1e-6 round away in most
    weights. On a GPU the forward/backward still run in bf16 (``bf16=True``: autocast) over these
    fp32 master weights. A string dtype ("bfloat16", "auto") is passed as TRL would."""
    import torch

    kwargs = dict(trainer.get("model_init_kwargs") or {})
    if "trust_remote_code" in trainer:
        kwargs.setdefault("trust_remote_code", trainer["trust_remote_code"])
    dtype = kwargs.get("dtype", "float32")
    if isinstance(dtype, str) and dtype != "auto":
        dtype = getattr(torch, dtype)
    kwargs["dtype"] = dtype
    return kwargs
