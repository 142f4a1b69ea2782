"""The exam reward as a contract RL cannot game (docs/design.md §4): gaming completions earn 0 from
both reward paths (ids and text), controls earn their points, and metamorphic properties over
generated completions — moving a tag later, adding a preamble, adding text after problem N,
appending ids past B never raises the reward; a correct, correctly tagged, in-budget answer
always earns its points."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roi_reasoning import adapters
from roi_reasoning.formats import render_tag
from roi_reasoning.records import Exam, Problem, actual_level
from roi_reasoning.rewards import exam_column, make_reward

BOUNDS = (48, 96, 192)
WORDS = ["we", "add", "then", "so", "the", "sum", "is", "carry", "one", "next", "7", "12", "+"]
L = {k: render_tag(k) for k in range(4)}


def _exam(golds, budget, points=None):
    problems = tuple(
        Problem(f"p{i}", f"q{i}?", str(g), points=(points[i] if points else 1.0))
        for i, g in enumerate(golds)
    )
    return Exam("e", "g", "easy", budget, problems)


def _ids(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]


def rewards_both(tok, exam, text=None, ids=None):
    """(reward from ids, reward from text, reward through the verl/OpenRLHF adapter) of one
    completion."""
    fn = make_reward("exam", tok, bounds=BOUNDS)
    col = [exam_column(exam)]
    ids = _ids(tok, text) if ids is None else ids
    from_ids = fn(prompts=[None], completions=[None], completion_ids=[ids], exam=col)[0]
    if text is None:
        return from_ids, None, None
    msgs = [[{"role": "assistant", "content": text}]]
    from_text = fn(prompts=[None], completions=msgs, completion_ids=None, exam=col)[0]
    with mock.patch.object(adapters, "load_tokenizer", lambda name: tok):
        adapter = adapters.score_one(exam.to_dict(), text, "test-tokenizer", bounds=BOUNDS)
    return from_ids, from_text, adapter


def filler(tok, n):
    """Reasoning text of exactly ``n`` tokens of ``tok`` (as a separate pre-token run)."""
    words, k = [], 0
    while len(tok(" ".join(words), add_special_tokens=False)["input_ids"]) < n:
        words.append(WORDS[k % len(WORDS)])
        k += 1
    text = " ".join(words)
    while len(tok(text, add_special_tokens=False)["input_ids"]) > n:
        text = text[:-1]
    assert len(tok(text, add_special_tokens=False)["input_ids"]) == n
    return text


def _cases(tok):
    r60, r150, r250 = filler(tok, 60), filler(tok, 150), filler(tok, 250)
    gaming = {
        "tag after the solution": (f"## Problem 1\n{r60} \\boxed{{5}} {L[1]}", [5], 1024),
        "reasoning before the first header": (
            f"{r150}\n## Problem 1\n{L[0]} \\boxed{{5}}",
            [5],
            1024,
        ),
        "preamble with a hindsight tag": (f"{r150}\n## Problem 1\n{L[2]} \\boxed{{5}}", [5], 1024),
        "Level-3 with a real answer": (f"## Problem 1\n{L[3]} {r250} \\boxed{{5}}", [5], 1024),
        "answer past the budget": (f"## Problem 1\n{L[1]} {r60} \\boxed{{5}}", [5], 40),
        "tag written later in a second problem": (
            f"## Problem 1\n{L[0]} \\boxed{{5}}\n## Problem 2\n{r60} {L[1]} \\boxed{{7}}",
            [5, 7],
            1024,
        ),
    }
    controls = {
        "correct Level-0": (f"## Problem 1\n{L[0]} 2 + 3 = 5 \\boxed{{5}}", [5], 1024, 1.0),
        "correct then a skip": (
            f"## Problem 1\n{L[0]} \\boxed{{5}}\n## Problem 2\n{L[3]} \\boxed{{NA}}",
            [5, 8],
            1024,
            1.0,
        ),
        "correct Level-1 of 60 reasoning tokens": (
            f"## Problem 1\n{L[1]} {r60} \\boxed{{5}}",
            [5],
            1024,
            1.0,
        ),
        "header with points and two problems paid": (
            f"## Problem 1 (2 points)\n{L[0]} \\boxed{{5}}\n## Problem 2\n{L[0]} \\boxed{{7}}",
            [5, 7],
            1024,
            3.0,
        ),
    }
    return gaming, controls


def test_gaming_completions_earn_nothing_on_both_paths(chat_tokenizer):
    gaming, _ = _cases(chat_tokenizer)
    for name, (text, golds, budget) in gaming.items():
        got = rewards_both(chat_tokenizer, _exam(golds, budget), text)
        honest = 1.0 if "second problem" in name else 0.0  # problem 1's honest point stays
        assert got == (honest,) * 3, name


def test_controls_earn_their_points_on_both_paths(chat_tokenizer):
    _, controls = _cases(chat_tokenizer)
    for name, (text, golds, budget, points) in controls.items():
        pts = [2.0, 1.0] if "points" in name else None
        got = rewards_both(chat_tokenizer, _exam(golds, budget, pts), text)
        assert got == (points, points, points), name


def test_ids_past_the_budget_are_never_seen(chat_tokenizer):
    text = f"## Problem 1\n{L[1]} {filler(chat_tokenizer, 60)} \\boxed{{5}}"
    ids = _ids(chat_tokenizer, text)
    assert len(ids) > 70
    whole = rewards_both(chat_tokenizer, _exam([5], 1024), ids=ids)[0]
    assert whole == 1.0
    assert rewards_both(chat_tokenizer, _exam([5], 40), ids=ids)[0] == 0.0
    # exactly B tokens with the EOS as the B-th: finished in budget, paid
    assert rewards_both(chat_tokenizer, _exam([5], len(ids)), ids=ids)[0] == 1.0
    # one token short: the EOS is cut, the box closed before the cut, the level is still right
    assert rewards_both(chat_tokenizer, _exam([5], len(ids) - 1), ids=ids)[0] == 1.0


def test_eos_is_counted_on_both_paths_at_a_bound(chat_tokenizer):
    """A segment of exactly 48 text tokens is 49 generated tokens: Level-1, not Level-0."""
    head = f"## Problem 1\n{L[0]} "
    base = len(chat_tokenizer(head + " \\boxed{5}", add_special_tokens=False)["input_ids"])
    text = f"{head}{filler(chat_tokenizer, 48 - base)} \\boxed{{5}}"
    assert len(chat_tokenizer(text, add_special_tokens=False)["input_ids"]) == 48
    assert rewards_both(chat_tokenizer, _exam([5], 1024), text) == (0.0, 0.0, 0.0)
    text1 = text.replace(L[0], L[1])
    assert rewards_both(chat_tokenizer, _exam([5], 1024), text1) == (1.0, 1.0, 1.0)


# ------------------------------------------------------------------ properties

problem_st = st.fixed_dictionaries(
    {
        "gold": st.integers(0, 99),
        "answer": st.sampled_from(["correct", "wrong", "NA"]),
        "words": st.integers(0, 40),
        "tag": st.sampled_from(["aligned", "aligned", "none", 0, 1, 2, 3]),
    }
)
exam_st = st.lists(problem_st, min_size=1, max_size=3)


def _segment(spec, index, level, tok_words):
    answer = {"correct": spec["gold"], "wrong": spec["gold"] + 1, "NA": "NA"}[spec["answer"]]
    tag = "" if level is None else f"{L[level]} "
    reasoning = " ".join(tok_words[: spec["words"]])
    return f"## Problem {index}\n{tag}{reasoning} \\boxed{{{answer}}}\n"


def compose(tok, specs):
    """Completion text with 'aligned' tags set to each segment's measured level (segments end in
    a newline and start with '#', so each one tokenizes on its own: the counts add up)."""
    words = [WORDS[k % len(WORDS)] for k in range(60)]
    segs, levels = [], []
    for i, spec in enumerate(specs, start=1):
        level = spec["tag"] if spec["tag"] not in ("aligned", "none") else None
        if spec["tag"] == "aligned":
            level = 0
            for _ in range(4):
                seg = _segment(spec, i, level, words)
                n = len(tok(seg, add_special_tokens=False)["input_ids"]) + (i == len(specs))
                level = actual_level(n, BOUNDS)
        segs.append(_segment(spec, i, level, words))
        levels.append(level)
    return segs, levels


def expected_reward(tok, specs, segs, levels):
    """Independent of the parser: per-segment token counts (+ EOS on the last)."""
    total = 0.0
    for i, (spec, seg, level) in enumerate(zip(specs, segs, levels, strict=True)):
        n = len(tok(seg, add_special_tokens=False)["input_ids"]) + (i == len(specs) - 1)
        if spec["answer"] == "correct" and level is not None and level < 3:
            total += float(level == actual_level(n, BOUNDS))
    return total


PROPS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@PROPS
@given(specs=exam_st)
def test_in_budget_answers_earn_exactly_their_points(chat_tokenizer, specs):
    segs, levels = compose(chat_tokenizer, specs)
    text = "".join(segs)
    exam = _exam([s["gold"] for s in specs], 10_000)
    want = expected_reward(chat_tokenizer, specs, segs, levels)
    assert rewards_both(chat_tokenizer, exam, text) == (want, want, want)
    if all(s["tag"] == "aligned" and s["answer"] == "correct" for s in specs):
        assert want == sum(lv < 3 for lv in levels)


@PROPS
@given(specs=exam_st, pre=st.integers(1, 30), which=st.integers(0, 2), budget=st.integers(8, 400))
def test_moving_a_tag_or_adding_a_preamble_never_raises_the_reward(
    chat_tokenizer, specs, pre, which, budget
):
    segs, _ = compose(chat_tokenizer, specs)
    exam = _exam([s["gold"] for s in specs], budget)
    base = rewards_both(chat_tokenizer, exam, "".join(segs))[0]
    preamble = " ".join(WORDS[: pre % len(WORDS)] or ["ok"]) + "\n"
    assert rewards_both(chat_tokenizer, exam, preamble + "".join(segs))[0] <= base
    i = which % len(segs)
    header, _, rest = segs[i].partition("\n")
    for k in range(4):
        if rest.startswith(L[k]):  # move the tag after the reasoning, then after the box
            body = rest[len(L[k]) :]
            moved_before_box = body.replace(" \\boxed", f" {L[k]} \\boxed", 1)
            for new in (moved_before_box, body.rstrip("\n") + f" {L[k]}\n"):
                text = "".join(segs[:i] + [f"{header}\n{new}"] + segs[i + 1 :])
                assert rewards_both(chat_tokenizer, exam, text)[0] <= base


@PROPS
@given(specs=exam_st, extra=st.integers(0, 30), budget=st.integers(8, 400), junk=st.integers(1, 50))
def test_text_after_problem_n_or_ids_past_b_never_raise_the_reward(
    chat_tokenizer, specs, extra, budget, junk
):
    segs, _ = compose(chat_tokenizer, specs)
    exam = _exam([s["gold"] for s in specs], budget)
    text = "".join(segs)
    ids = _ids(chat_tokenizer, text)
    base = rewards_both(chat_tokenizer, exam, ids=ids)[0]
    n = len(specs)
    tail = f"## Problem {n + 1}\n{L[0]} {' '.join(WORDS[:extra])} \\boxed{{1}}\n"
    assert rewards_both(chat_tokenizer, exam, text + tail)[0] <= base
    padded = ids[:budget] + [(7 * j) % 300 for j in range(junk)]  # anything past B
    assert (
        rewards_both(chat_tokenizer, exam, ids=padded)[0]
        == rewards_both(chat_tokenizer, exam, ids=ids[:budget])[0]
    )
    assert rewards_both(chat_tokenizer, exam, ids=ids[:budget])[0] == base


def test_reward_reads_exam_json_and_dicts(chat_tokenizer):
    exam = _exam([5], 100)
    fn = make_reward("exam", chat_tokenizer, bounds=BOUNDS)
    ids = _ids(chat_tokenizer, f"## Problem 1\n{L[0]} \\boxed{{5}}")
    for col in ([exam_column(exam)], [json.loads(exam_column(exam))]):
        assert fn(prompts=[None], completions=[None], completion_ids=[ids], exam=col) == [1.0]
    with pytest.raises(KeyError, match="exam"):
        fn(prompts=[None], completions=[None], completion_ids=[ids])
