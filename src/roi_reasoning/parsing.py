"""Split a completion into per-problem segments; the one token accounting (docs/design.md §4).

The contract every path shares (eval, MFT targets, reward from ids, reward from text, world
costs):

- The budget counts *generated* tokens, the end-of-sequence token (EOS) included, with the
  policy's own tokenizer. A completion known only as text is measured by
  ``text_completion``: its tokens as the policy would generate them, plus EOS, cut at B.
- Every generated token belongs to exactly one place. Problem 1's segment starts at the first
  generated character (a preamble is problem 1's cost); problem i ends where problem i+1's
  header starts; text after problem N (a header numbered > N) counts against the budget only;
  EOS (and any token that decodes to nothing at the very end) belongs to the last problem's
  segment. A segment's tokens are the generated tokens whose first character lies inside it.
- Without headers, segments start at level tags; without tags either ("box fallback", e.g.
  profiling samples), problem i+1 starts after problem i's first closed box and the last
  problem runs to the end, so its last box is its answer.
- A predicted level counts only when the tag opens the segment (``formats.leading_tag``).
- A segment the budget cut is graded only on a box that closed before the cut, and not at all
  when a new box was still open at the cut (the model was revising its answer).

Run example: ``python -c "from roi_reasoning.parsing import split_segments; help(split_segments)"``
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from roi_reasoning.formats import HEADER_RE, TAG_RE, leading_tag
from roi_reasoning.grading import boxed_spans
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Completion, Segment

Region = tuple[int, int]  # (problem index, or -1 for the tail after problem N; start character)


def _header_starts(text: str, n: int) -> list[Region]:
    """Headers with increasing numbers; the first region starts at character 0."""
    starts: list[Region] = []
    last = 0
    for m in HEADER_RE.finditer(text):
        k = int(m.group(1))
        if k <= last:  # a restated or out-of-order header stays inside the current segment
            continue
        starts.append((k - 1 if k <= n else -1, m.start()))
        if k > n:
            break
        last = k
    if not starts or starts[0][1] == 0:
        return starts
    first, pos = starts[0]
    if first == 0 or not text[:pos].strip():
        starts[0] = (max(first, 0), 0)  # a preamble is problem 1's; whitespace joins the first
    else:
        starts.insert(0, (0, 0))  # problem 1 wrote no header: the text before the first is its
    return starts


def _tag_starts(text: str, n: int) -> list[Region]:
    starts = [(i if i < n else -1, m.start()) for i, m in enumerate(TAG_RE.finditer(text))]
    starts = starts[: n + 1]
    if starts:
        starts[0] = (0, 0)
    return starts


def _box_starts(text: str, n: int) -> list[Region]:
    """No headers, no tags: problem i+1 begins right after the i-th closed box (i < N)."""
    spans, _ = boxed_spans(text)
    starts: list[Region] = [(0, 0)]
    for i, (_, end) in enumerate(spans[: n - 1], start=1):
        start = end + 1  # past the closing brace
        if start < len(text) and text[start:].strip():
            starts.append((i, start))
    return starts


def _regions(text: str, n: int) -> list[tuple[int, int, int]]:
    """(index or -1, start, end) covering the whole text, in order."""
    starts = _header_starts(text, n) or _tag_starts(text, n) or _box_starts(text, n)
    return [
        (idx, start, starts[j + 1][1] if j + 1 < len(starts) else len(text))
        for j, (idx, start) in enumerate(starts)
    ]


def _token_counts(regions: list[tuple[int, int, int]], starts: Sequence[int], size: int):
    """Tokens per region; tokens at the very end (EOS, pieces that decode to nothing) go to the
    last problem's region even when a tail after problem N follows it."""
    counts = [
        bisect.bisect_left(starts, min(end, size)) - bisect.bisect_left(starts, start)
        for _, start, end in regions
    ]
    owner = max((j for j, (idx, _, _) in enumerate(regions) if idx >= 0), default=len(regions) - 1)
    counts[owner] += len(starts) - bisect.bisect_left(starts, size)
    return counts


def split_segments(
    text: str,
    token_starts: Sequence[int],
    n: int,
    *,
    truncated: bool,
    bounds: Sequence[int] = DEFAULT_LEVEL_BOUNDS,
) -> list[Segment]:
    """Segments for problems that have one (problems without a segment are unreached).

    ``token_starts``: the character offset where each generated token begins (non-decreasing).
    ``truncated``: generation was cut by the budget, so the last region was cut mid-way.
    """
    regions = _regions(text, n)
    counts = _token_counts(regions, token_starts, len(text))
    segments = []
    for j, (idx, start, end) in enumerate(regions):
        if idx < 0:
            break
        body = text[start:end]
        spans, open_box = boxed_spans(body)
        cut = truncated and j == len(regions) - 1
        answer = (
            body[spans[-1][0] : spans[-1][1]].strip() if spans and not (cut and open_box) else None
        )
        level = leading_tag(body, bounds)
        segments.append(Segment(idx, start, end, counts[j], level, answer, cut))
    return segments


def text_token_starts(tokenizer: Any, text: str) -> list[int]:
    """Character offset where each token of ``text`` starts, as ``tokenizer`` splits it (no
    special tokens; monotone, ≤ len(text)). Pieces of one multi-byte character share a start."""
    if not text:
        return []
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    starts, last = [], 0
    for begin, _end in enc["offset_mapping"]:
        last = min(max(last, int(begin)), len(text))
        starts.append(last)
    return starts


def text_completion(
    tokenizer: Any, text: str, budget: int | None = None, *, finished: bool = True
) -> Completion:
    """THE token accounting of a completion known as text: its tokens as the policy would
    generate them, then — when the model ``finished`` by itself — the EOS token (generated, so
    counted, as an empty piece at ``len(text)``); cut at ``budget`` tokens like generation would
    be. A completion whose tokens and EOS do not fit keeps exactly ``budget`` tokens and is
    truncated; one that did not finish is truncated."""
    starts = text_token_starts(tokenizer, text) + ([len(text)] if finished else [])
    if budget is not None and len(starts) > budget:
        return Completion(text[: starts[budget]], tuple(starts[:budget]), truncated=True)
    return Completion(text, tuple(starts), truncated=not finished)


def _ids(value: Any) -> set[int]:
    if value is None:
        return set()
    return {int(v) for v in value} if isinstance(value, (list, tuple, set)) else {int(value)}


# Tokenizer → the EOS ids of the model it serves (its generation_config's), registered by the hf
# and vllm policies and the RARL trainer so every path that measures a completion with that
# tokenizer (rewards, MFT targets, eval) stops at the same ids as generation did.
_MODEL_EOS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def register_eos(tokenizer: Any, generation_config: Any) -> set[int]:
    """Record the model's ``generation_config.eos_token_id`` for ``tokenizer``; returns the
    one EOS set (``eos_ids``) every path now uses with it."""
    extra = _ids(getattr(generation_config, "eos_token_id", None))
    if extra:
        try:
            _MODEL_EOS[tokenizer] = _MODEL_EOS.get(tokenizer, set()) | extra
        except TypeError:  # an object that takes no weak reference: callers pass the set on
            return eos_ids(tokenizer) | extra
    return eos_ids(tokenizer)


def eos_ids(tokenizer: Any) -> set[int]:
    """THE end-of-sequence set: the tokenizer's eos ∪ the registered model's generation_config
    eos (Qwen2.5-Instruct: <|im_end|> and <|endoftext|>), as TRL's GRPOTrainer stops on."""
    try:
        model = _MODEL_EOS.get(tokenizer, set())
    except TypeError:
        model = set()
    return _ids(getattr(tokenizer, "eos_token_id", None)) | model


def ids_completion(
    tokenizer: Any, ids: Sequence[int], budget: int, eos: set[int] | None = None
) -> Completion:
    """THE token accounting of generated ``ids``: cut at the exam's ``budget`` and after the first
    EOS (which is generated, so it is counted). Truncated = no EOS within the budget. ``eos``:
    the stop set (default ``eos_ids(tokenizer)``)."""
    ids = [int(i) for i in ids[:budget]]
    stops = eos_ids(tokenizer) if eos is None else eos
    stop = next((k for k, t in enumerate(ids) if t in stops), None)
    if stop is not None:
        ids = ids[: stop + 1]
    text, starts = decode_with_offsets(tokenizer, ids)
    truncated = stop is None and len(ids) >= budget
    return Completion(text, tuple(starts), truncated, {"generated_ids": len(ids)})


Decode = Callable[[list[int]], str]


def _decoder(tokenizer: Any) -> Decode:
    return lambda ids: tokenizer.decode(
        ids, skip_special_tokens=True, clean_up_tokenization_spaces=False
    )


def _pieces(tokenizer: Any, ids: list[int]) -> tuple[str, list[str]] | None:
    """(full decode, per-token decodes) in batched calls, or None for slow tokenizers. The Rust
    backend is called directly when there is one, skipping transformers' per-call Python
    overhead (bench/grpo_reward.py; docs/findings.md §8)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:  # same text as decode(..., clean_up_tokenization_spaces=False)
        full = backend.decode(ids, skip_special_tokens=True)
        return full, backend.decode_batch([[i] for i in ids], skip_special_tokens=True)
    if hasattr(tokenizer, "batch_decode"):
        pieces = tokenizer.batch_decode(
            [[i] for i in ids], skip_special_tokens=True, clean_up_tokenization_spaces=False
        )
        return _decoder(tokenizer)(ids), pieces
    return None


def decode_with_offsets(tokenizer: Any, ids: Sequence[int]) -> tuple[str, list[int]]:
    """Decoded text of generated ``ids`` and the character offset where each token starts.

    Fast path: per-token pieces (one batched call) when they concatenate to the full decode
    (byte-level BPE on ASCII); otherwise an incremental decode over a sliding window that holds
    back incomplete UTF-8 characters, linear in the number of tokens.
    """
    ids = [int(i) for i in ids]
    fast = _pieces(tokenizer, ids)
    if fast is not None and "".join(fast[1]) == fast[0]:
        starts, pos = [], 0
        for piece in fast[1]:
            starts.append(pos)
            pos += len(piece)
        return fast[0], starts
    return _incremental_offsets(_decoder(tokenizer), ids)


def _incremental_offsets(decode: Decode, ids: list[int]) -> tuple[str, list[int]]:
    starts: list[int] = []
    emitted = ""
    prefix, read = 0, 0  # token indices: context window start, first token not yet emitted
    for k in range(len(ids)):
        starts.append(len(emitted))
        before = decode(ids[prefix:read])
        after = decode(ids[prefix : k + 1])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            emitted += after[len(before) :]
            prefix, read = read, k + 1
    if read < len(ids):
        emitted += decode(ids[prefix:])[len(decode(ids[prefix:read])) :]
    return emitted, starts
