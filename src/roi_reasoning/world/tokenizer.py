"""The world tokenizer: a small BPE built locally with ``tokenizers``, wrapped for transformers.

- Pre-tokenisation splits every digit into its own token, the first digit of a number with its
  leading space (`` 5``, ``0``: arithmetic stays learnable, a number of d digits costs d tokens,
  and an operand is the same token in a question and in ``50 + 9 = 59``); words keep their
  leading space (`` has``) and a colon right after them (``Monday:``); punctuation runs and
  whitespace runs are pieces of their own. BPE merges only inside pieces, so frequent words
  become single tokens; the initial alphabet is printable ASCII + newline + tab, so any ASCII
  text encodes without ``<|unk|>`` (non-ASCII characters map to ``<|unk|>``: the world is ASCII).
- The decoder concatenates pieces (``Fuse``): ``decode(encode(text)) == text`` for ASCII text,
  and per-token pieces concatenate to the full decode (``parsing.decode_with_offsets``' fast path).
- Tag vocabulary is compact: ``<predicted_level>``, ``</predicted_level>``, ``Level-0..3``,
  ``\\boxed{`` and ``NA`` are single (added) tokens, so MFT can learn tags cheaply.
- Prompt boilerplate is compact: every sentence of the system prompt and of the method
  instructions in ``formats.TEMPLATES`` that does not depend on the exam (N, B, level bounds) is
  one added token (``template_phrases``), so a full prompt costs little more than its problem
  list and the tiny world model reads every method's prompt. Sentences that do vary (``Answer the
  following 3 problems in order.``) stay ordinary BPE text.
- Special tokens ``<|im_start|>``, ``<|im_end|>`` (= eos), ``<|pad|>``; a ChatML chat template
  whose role names are single tokens.

Run example: ``python -c "from roi_reasoning.world.tokenizer import build_tokenizer; t = build_tokenizer(['1+2=3']); print(t.tokenize('Ann has 12 apples.'))"``
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from typing import Any

from roi_reasoning.exams import build_exams
from roi_reasoning.formats import TEMPLATES, render_prompt
from roi_reasoning.records import Exam, Problem

SPECIALS = ("<|im_start|>", "<|im_end|>", "<|pad|>", "<|unk|>")
# Tag and answer vocabulary as single tokens (ROI-Reasoning's cost tags, Level-3 refusal, boxes).
TAG_TOKENS = (
    "<predicted_level>",
    "</predicted_level>",
    "Level-0",
    "Level-1",
    "Level-2",
    "Level-3",
    "\\boxed{",
)
ROLES = ("system", "user", "assistant")  # the chat template's role names, one token each
# A digit, the first one with its leading space (an operand is the same token in a question and
# in ``50 + 9 = 59``) | a word with its leading space and a colon right after it (``Monday:``) |
# a punctuation run | whitespace.
SPLIT_PATTERN = r" ?\d| ?[A-Za-z]+:?| ?[^\sA-Za-z\d]+|\s+"
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def prompt_corpus(
    tiers: dict[str, list[Problem]],
    bounds_options: Sequence[Sequence[int]] = ((48, 96, 192), (256, 512, 1024)),
    budgets: Sequence[int] = (96, 128, 256, 512, 1024),
    count: int = 4,
) -> list[str]:
    """Rendered prompts (system + user text) of every template in ``formats.TEMPLATES`` for
    N=1 and N=3 exams of all paper kinds, several budgets and level bounds."""
    texts = []
    for n in (1, 3):
        names = list(tiers)[:n] if n > 1 else list(tiers)[:1]
        exams = build_exams(
            {t: tiers[t] for t in names},
            n=n,
            kinds=("easy", "medium", "hard"),
            budgets=budgets,
            count=count,
        )
        for exam in exams:
            for bounds in bounds_options:
                for method in TEMPLATES:
                    msgs = render_prompt(exam, method, bounds)
                    texts.append("\n".join(m["content"] for m in msgs))
    return texts


def _pieces(text: str) -> list[str]:
    """Lines, then sentences (split after ``.``/``;`` before a capital), then the text between
    numbers and tags (a budget, a bound or a level tag inside a sentence stays ordinary text)."""
    sentences = [s for line in text.split("\n") for s in re.split(r"(?<=[.;]) (?=[A-Z])", line)]
    # Tags stay visible as their own tokens: a phrase never swallows one.
    return [p for s in sentences for p in re.split(r"\d+|<[^>]*>|Level-\w*", s) if p]


def template_phrases() -> list[str]:
    """Pieces of the system prompt and of every method's instructions that are identical for
    exams with different N, budgets and level bounds (the boilerplate), longest first."""
    problem = Problem("p", "Q", "1")
    variants = [
        (Exam("a", "a", "easy", 77, (problem,)), (11, 22, 33)),
        (Exam("b", "b", "easy", 999, (problem,) * 3), (44, 55, 66, 88)),
        (Exam("c", "c", "easy", 4321, (problem,) * 2), (7, 9)),
    ]
    phrases: set[str] = set()
    for method in TEMPLATES:
        seen = []
        for exam, bounds in variants:
            msgs = render_prompt(exam, method, bounds)
            head = msgs[-1]["content"].split("\n\n## Problem 1", 1)[0]  # instructions only
            seen.append(set(_pieces(msgs[0]["content"] + "\n" + head)))
        phrases |= set.intersection(*seen)
    return sorted((p for p in phrases if len(p) >= 12), key=lambda p: (-len(p), p))


def _backend(corpus: Iterable[str], vocab_size: int) -> Any:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<|unk|>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated")
    tok.decoder = decoders.Fuse()
    alphabet = sorted(set(string.printable) - set("\r\x0b\x0c"))
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIALS),
        initial_alphabet=alphabet,
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    tok.add_tokens([AddedToken(t, normalized=False) for t in TAG_TOKENS + ROLES])
    tok.add_tokens([AddedToken(t, normalized=False) for t in template_phrases()])
    # "NA" only as a whole word (\boxed{NA}), never inside a name.
    tok.add_tokens([AddedToken("NA", single_word=True, normalized=False)])
    return tok


def build_tokenizer(corpus: Iterable[str], vocab_size: int = 384) -> Any:
    """A ``PreTrainedTokenizerFast`` trained on ``corpus`` (deterministic for a given corpus).

    ``vocab_size`` counts the BPE vocabulary with the special tokens; the added tokens (tags,
    role names, template phrases, ``NA``) come on top.
    """
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(
        tokenizer_object=_backend(corpus, vocab_size),
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        unk_token="<|unk|>",
        additional_special_tokens=["<|im_start|>"],
        clean_up_tokenization_spaces=False,
        model_max_length=4096,
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def world_corpus(rows: Sequence[dict], tiers: dict[str, list[Problem]]) -> list[str]:
    """Training text for the tokenizer: the rows' questions and solutions, all prompt templates,
    and the tag/refusal strings MFT will need."""
    from roi_reasoning.formats import refusal, render_tag

    texts = [r["question"] for r in rows] + [r["solution"] for r in rows]
    texts += prompt_corpus(tiers)
    texts += [f"## Problem {i}\n{render_tag(i % 4)} {refusal((1, 2, 3))}" for i in range(1, 10)]
    return texts


def solution_cost(tokenizer: Any, solution: str, index: int = 1, last: bool = True) -> int:
    """Generated tokens of a problem's segment: ``## Problem i`` header, the worked solution,
    the blank line before the next header (or the end-of-sequence token when ``last``), counted
    by the one token accounting every path uses (``parsing.text_completion``)."""
    from roi_reasoning.parsing import text_completion

    text = f"## Problem {index}\n{solution}" + ("" if last else "\n\n")
    return text_completion(tokenizer, text, finished=last).tokens
