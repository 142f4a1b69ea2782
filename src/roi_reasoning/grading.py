"""Answer extraction, NA detection and answer equivalence.

Run example: ``roi grade pairs.jsonl > graded.jsonl``
"""

from __future__ import annotations

import re

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")


def boxed_spans(text: str) -> tuple[list[tuple[int, int]], bool]:
    """Content spans (start, end) of every closed ``\\boxed{...}`` in ``text``, nested braces
    handled, and whether an unclosed ``\\boxed{`` remains after the last closed one (the model was
    cut while writing an answer). Boxes nested inside a box are part of the outer content."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while True:
        m = _BOX_OPEN.search(text, pos)
        if m is None:
            return spans, False
        depth, i = 1, m.end()
        while i < len(text) and depth:
            c = text[i]
            if c == "\\" and i + 1 < len(text):  # skip escaped braces \{ \}
                i += 2
                continue
            depth += (c == "{") - (c == "}")
            i += 1
        if depth:
            return spans, True
        spans.append((m.end(), i - 1))
        pos = i


def last_boxed(text: str) -> str | None:
    """Content of the last closed ``\\boxed{}`` in ``text`` (stripped), or None."""
    spans, _ = boxed_spans(text)
    if not spans:
        return None
    start, end = spans[-1]
    return text[start:end].strip()
