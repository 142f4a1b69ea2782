"""Split a completion into per-problem segments with token accounting (DESIGN.md §4).

A segment starts at problem i's ``## Problem i`` header (fallbacks when the model writes no
headers: at each level tag, else after each closed ``\\boxed{}``) and ends where the next
problem's starts. Its tokens are the *generated* tokens whose first character lies inside it
(character offsets come from the policy's own tokenizer). Text before the first segment and
after problem N (a model writing more problems than asked) belongs to no problem but still
counts against the budget.

Run example: ``python -c "from roi_reasoning.parsing import split_segments; help(split_segments)"``
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

from roi_reasoning.formats import HEADER_RE, TAG_RE, parse_tag
from roi_reasoning.grading import boxed_spans
from roi_reasoning.records import DEFAULT_LEVEL_BOUNDS, Segment


def _header_starts(text: str, n: int) -> list[tuple[int, int]]:
    """(problem index or -1 for 'beyond N', char start) for headers with increasing numbers."""
    starts, last = [], 0
    for m in HEADER_RE.finditer(text):
        k = int(m.group(1))
        if k <= last:  # a restated or out-of-order header stays inside the current segment
            continue
        if k > n:
            starts.append((-1, m.start()))
            break
        starts.append((k - 1, m.start()))
        last = k
    return starts


def _tag_starts(text: str, n: int) -> list[tuple[int, int]]:
    starts = [(i if i < n else -1, m.start()) for i, m in enumerate(TAG_RE.finditer(text))]
    return starts[: n + 1]


def _box_starts(text: str, n: int) -> list[tuple[int, int]]:
    """No headers, no tags: problem i+1 begins right after the i-th closed box."""
    spans, _ = boxed_spans(text)
    starts = [(0, 0)]
    for i, (_, end) in enumerate(spans[:n], start=1):
        start = end + 1  # past the closing brace
        if start < len(text) and text[start:].strip():
            starts.append((i if i < n else -1, start))
    return starts


def _regions(text: str, n: int) -> list[tuple[int, int, int]]:
    """(index or -1, start, end) for every region that begins a problem or the extra tail."""
    starts = _header_starts(text, n) or _tag_starts(text, n) or _box_starts(text, n)
    regions = []
    for j, (idx, start) in enumerate(starts):
        end = starts[j + 1][1] if j + 1 < len(starts) else len(text)
        regions.append((idx, start, end))
    return regions


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
    segments = []
    for j, (idx, start, end) in enumerate(regions):
        if idx < 0:
            break
        is_last = j == len(regions) - 1
        # The last region also owns tokens that decode to nothing at the very end (e.g. EOS).
        hi = bisect.bisect_left(token_starts, end) if not is_last else len(token_starts)
        tokens = hi - bisect.bisect_left(token_starts, start)
        body = text[start:end]
        spans, open_box = boxed_spans(body)
        cut = truncated and is_last
        # A cut segment is only graded if its last box closed and no new box was being written.
        answer = (
            body[spans[-1][0] : spans[-1][1]].strip() if spans and not (cut and open_box) else None
        )
        segments.append(Segment(idx, start, end, tokens, parse_tag(body, bounds), answer, cut))
    return segments


Decode = Callable[[list[int]], str]


def _decoder(tokenizer: Any) -> Decode:
    return lambda ids: tokenizer.decode(
        ids, skip_special_tokens=True, clean_up_tokenization_spaces=False
    )


def _pieces(tokenizer: Any, ids: list[int]) -> tuple[str, list[str]] | None:
    """(full decode, per-token decodes) in batched calls, or None for slow tokenizers. The Rust
    backend is called directly when there is one: transformers' per-call Python overhead was
    80 % of the RARL reward's time (bench/grpo_reward.py)."""
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
