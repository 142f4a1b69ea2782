"""Shared fixtures: the benchmark data directory and a tokenizer built locally (no hub)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def find_data_dir() -> Path:
    env = os.environ.get("ROI_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates += [p / "shared" / "data" for p in REPO.parents]
    for cand in candidates:
        if (cand / "gsm8k" / "test.jsonl").exists():
            return cand
    raise RuntimeError("benchmark data not found: set ROI_DATA_DIR (see README)")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return find_data_dir()


@pytest.fixture(autouse=True)
def _roi_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROI_DATA_DIR", str(find_data_dir()))


CORPUS = [
    "## Problem 1\n<predicted_level>Level-0</predicted_level>\nWe add 2 and 3 to get 5. \\boxed{5}",
    "Let x = 12. Then 3x + 4 = 40, so the answer is \\boxed{\\frac{1}{2}}.",
    "The café sells crème brûlée for 5€ — naïve façade 😀 Ω ≤ ∑ π.",
] * 20


def build_tokenizer(kind: str = "bytelevel"):
    """A small BPE tokenizer trained here (byte-level or metaspace) wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None if kind == "bytelevel" else "<unk>"))
    specials = ["<|endoftext|>", "<unk>"]
    if kind == "bytelevel":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        alphabet = sorted(set("".join(CORPUS)))
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=alphabet
    )
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", unk_token="<unk>"
    )


@pytest.fixture(scope="session")
def tokenizer():
    return build_tokenizer("bytelevel")


CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_causal_lm(tokenizer, seed: int = 0, hidden: int = 64, layers: int = 2):
    """A randomly initialised Llama small enough for CPU tests (built from a config, offline)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
        initializer_range=0.5,  # large random weights: varied text, so equality checks bite
    )
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="session")
def chat_tokenizer():
    tok = build_tokenizer("bytelevel")
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|endoftext|>"
    tok.chat_template = CHAT_TEMPLATE
    return tok
