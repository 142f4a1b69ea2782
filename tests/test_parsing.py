import re

import pytest

from roi_reasoning.formats import leading_tag, refusal, render_prompt, render_tag
from roi_reasoning.parsing import _incremental_offsets, decode_with_offsets, split_segments
from roi_reasoning.records import Exam, Problem
from roi_reasoning.testing import build_tokenizer


def ws_starts(text: str) -> list[int]:
    """A whitespace tokenizer's token starts: one token per word (+ trailing space)."""
    return [m.start() for m in re.finditer(r"\S+\s*", text)]


def seg_view(text, n, truncated=False, bounds=(4, 8, 16)):
    segs = split_segments(text, ws_starts(text), n, truncated=truncated, bounds=bounds)
    return [(s.index, s.predicted_level, s.answer, s.tokens, s.truncated) for s in segs]


L0, L1, L3 = render_tag(0), render_tag(1), render_tag(3)


@pytest.mark.parametrize(
    ("text", "n", "truncated", "expected"),
    [
        # complete, tagged, two problems
        (
            f"## Problem 1\n{L0} 2+3=5 \\boxed{{5}}\n## Problem 2\n{L3} \\boxed{{NA}}",
            2,
            False,
            [(0, 0, "5", 6, False), (1, 3, "NA", 5, False)],
        ),
        # budget cut mid-reasoning in problem 2: exhausted (no answer), problem 3 unreached
        (
            f"## Problem 1\n{L0} \\boxed{{5}}\n## Problem 2\n{L1} first we compute",
            3,
            True,
            [(0, 0, "5", 5, False), (1, 1, None, 7, True)],
        ),
        # cut mid-\boxed{: the unclosed box is no answer, even after an earlier closed one
        ("## Problem 1\nmaybe \\boxed{3} no wait \\boxed{1", 1, True, [(0, None, None, 8, True)]),
        # cut after a closed box while still explaining: the closed answer stands
        ("## Problem 1\nso \\boxed{12} because", 1, True, [(0, None, "12", 6, True)]),
        # cut mid-tag: no level, no answer
        ("## Problem 1\n<predicted_le", 2, True, [(0, None, None, 4, True)]),
        # cut mid-header of problem 2: the partial header stays in problem 1
        ("## Problem 1\nx \\boxed{7}\n## Prob", 2, True, [(0, None, "7", 7, True)]),
        # missing tags, headers in other styles
        (
            "**Problem 1:** a \\boxed{1}\nProblem 2. b \\boxed{2}",
            2,
            False,
            [(0, None, "1", 4, False), (1, None, "2", 4, False)],
        ),
        # a preamble is problem 1's cost (9 tokens, not 4); a problem that was not asked is tail
        (
            "Sure! ## Problem 1 x\n## Problem 1\n\\boxed{4}\n## Problem 2\n\\boxed{9}",
            1,
            False,
            [(0, None, "4", 9, False)],
        ),
        # restated header stays in the current segment; skipped numbering leaves a gap
        (
            "## Problem 1\nq\n## Problem 1 again\n\\boxed{1}\n## Problem 3\n\\boxed{3}",
            3,
            False,
            [(0, None, "1", 9, False), (2, None, "3", 4, False)],
        ),
        # no headers: tags start segments; extra tags beyond N are ignored
        (
            f"{L0} \\boxed{{1}} {L1} \\boxed{{2}} {L0} \\boxed{{3}}",
            2,
            False,
            [(0, 0, "1", 2, False), (1, 1, "2", 2, False)],
        ),
        # no headers and no tags: boxes delimit problems, nested braces kept
        (
            "a \\boxed{\\frac{1}{2}} then b \\boxed{3}",
            3,
            False,
            [(0, None, "\\frac{1}{2}", 2, False), (1, None, "3", 3, False)],
        ),
        # tags strict about k: Level-7 is out of range, Level-x is no tag; lenient spacing
        (
            "## Problem 1\n<predicted_level>Level-7</predicted_level> \\boxed{1}\n## Problem 2\n"
            "< PREDICTED_LEVEL > level - 2 </predicted_level> \\boxed{2}",
            2,
            False,
            [(0, None, "1", 5, False), (1, 2, "2", 11, False)],
        ),
        # empty completion: nothing reached
        ("", 2, False, [(0, None, None, 0, False)]),
    ],
)
def test_segments_table(text, n, truncated, expected):
    assert seg_view(text, n, truncated) == expected


def test_every_token_attributed_once_and_never_across_problems():
    text = f"Intro words\n## Problem 1\n{L0} a b \\boxed{{1}}\n## Problem 2\nc \\boxed{{2}}\n## Problem 3 extra"
    starts = ws_starts(text)
    segs = split_segments(text, starts, 2, truncated=False)
    assert [s.tokens for s in segs] == [2 + 7, 5]  # the intro is problem 1's cost
    assert sum(s.tokens for s in segs) + 4 == len(starts)  # + the extra problem (budget only)
    assert segs[0].predicted_level is None  # its tag came after the intro: no prediction
    for s in segs:
        assert "Problem 2" not in text[s.start : s.end] or s.index == 1


def test_tag_parse_and_refusal():
    assert leading_tag("<predicted_level>Level-2</predicted_level>") == 2
    assert leading_tag("<predicted_level>LEVEL 1</predicted_level>") == 1
    assert leading_tag("<predicted_level>Level-4</predicted_level>") is None
    assert leading_tag("<predicted_level>Level-1.5</predicted_level>") is None
    assert leading_tag(refusal()) == 3 and refusal().endswith("\\boxed{NA}")


def test_prompts_per_method():
    exam = Exam(
        "e",
        "g",
        "easy",
        512,
        (Problem("a", "What is 1+1?", "2"), Problem("b", "2+2?", "4", points=2)),
    )
    roi = render_prompt(exam, "roi", bounds=(256, 512, 1024))
    assert roi[0]["role"] == "system" and roi[-1]["role"] == "user"
    user = roi[-1]["content"]
    for needle in (
        "512 generated tokens",
        "Level-0: at most 256",
        "Level-3",
        "\\boxed{NA}",
        "## Problem 1",
        "## Problem 2 (2 points)",
        "What is 1+1?",
    ):
        assert needle in user
    base = render_prompt(exam, "base")[-1]["content"]
    assert "predicted_level" not in base and "512" not in base and "\\boxed{}" in base
    budget = render_prompt(exam, "budget")[-1]["content"]
    assert "512 generated tokens" in budget and "NA" in budget and "predicted_level" not in budget
    assert "plan" in render_prompt(exam, "plan-and-solve")[-1]["content"]
    assert "subproblems" in render_prompt(exam, "least-to-most")[-1]["content"]
    assert "Do not solve" in render_prompt(exam, "tags-only")[-1]["content"]
    with pytest.raises(ValueError, match="valid: roi"):
        render_prompt(exam, "cot")


TEXTS = [
    f"## Problem 1\n{L0} 2+3=5 \\boxed{{5}}\n## Problem 2\nThe café costs 5€ 😀 \\boxed{{\\frac{{1}}{{2}}}}",
    "  leading spaces and Ω ≤ ∑ π 😀😀 done",
]


@pytest.mark.parametrize("kind", ["bytelevel", "metaspace"])
@pytest.mark.parametrize("text", TEXTS)
def test_token_offsets_match_a_real_tokenizer(kind, text):
    tok = build_tokenizer(kind)
    ids = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    decoded, starts = decode_with_offsets(tok, ids)
    assert decoded == tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    assert len(starts) == len(ids) and starts == sorted(starts) and starts[-1] == len(decoded)
    # each token's text begins at its offset: decoding a prefix of tokens ends where the next starts
    slow_text, slow_starts = _incremental_offsets(
        lambda x: tok.decode(x, skip_special_tokens=True, clean_up_tokenization_spaces=False), ids
    )
    assert slow_text == decoded and slow_starts == starts
    for k in range(1, len(ids)):
        prefix = tok.decode(ids[:k], skip_special_tokens=True, clean_up_tokenization_spaces=False)
        if "\ufffd" not in prefix:  # a cut inside a multi-byte character has no clean prefix
            assert starts[k] == len(prefix)


def test_segment_tokens_sum_to_generated_length_with_real_tokenizer(tokenizer):
    text = TEXTS[0]
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    decoded, starts = decode_with_offsets(tokenizer, ids)
    segs = split_segments(decoded, starts, 2, truncated=False)
    assert sum(s.tokens for s in segs) == len(ids)
    first = decoded.index("## Problem 2")
    assert segs[0].tokens == sum(1 for s in starts if s < first)


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        # box fallback: the last problem runs to the end, so its LAST box is its answer
        ("2+2 = \\boxed{4}, no: 2+3 = \\boxed{5}", 1, [(0, None, "5", 7, False)]),
        (
            "a \\boxed{1} b \\boxed{2} c \\boxed{3}",
            2,
            [(0, None, "1", 2, False), (1, None, "3", 4, False)],
        ),
        # a tag counts only right after the header; a tag after reasoning predicts nothing
        (f"## Problem 1\n{L1}\n  x \\boxed{{5}}", 1, [(0, 1, "5", 6, False)]),
        (f"## Problem 1\nx {L1} \\boxed{{5}}", 1, [(0, None, "5", 6, False)]),
        (f"## Problem 1\n\\boxed{{5}} {L1}", 1, [(0, None, "5", 5, False)]),
        (f"## Problem 1 (2 points)\n{L0} \\boxed{{5}}", 1, [(0, 0, "5", 7, False)]),
        (f"**Problem 1:** {L0} \\boxed{{5}}", 1, [(0, 0, "5", 4, False)]),
        # problem 1 wrote no header: the text before problem 2's header is problem 1's
        (
            f"x \\boxed{{1}}\n## Problem 2\n{L0} \\boxed{{2}}",
            2,
            [(0, None, "1", 2, False), (1, 0, "2", 5, False)],
        ),
        # tags without headers: a preamble before the first tag makes it no prediction
        (
            f"think {L0} \\boxed{{1}} {L1} \\boxed{{2}}",
            2,
            [(0, None, "1", 3, False), (1, 1, "2", 2, False)],
        ),
    ],
)
def test_contract_segments(text, n, expected):
    assert seg_view(text, n) == expected


def test_eos_belongs_to_the_last_problem_even_after_a_tail():
    text = "## Problem 1\n\\boxed{5}\n## Problem 2\nextra"
    starts = ws_starts(text) + [len(text)]  # + EOS
    (seg,) = split_segments(text, starts, 1, truncated=False)
    assert seg.tokens == 4 + 1  # "## ", "Problem ", "1\n", the box + EOS; the tail: budget only
