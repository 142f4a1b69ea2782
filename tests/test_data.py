import json

import pytest

from roi_reasoning.data import DEFAULT_TIERS, TierSpec, load_jsonl, load_tier, parse_tier_arg
from roi_reasoning.errors import DataError


def test_default_tiers_load_real_data():
    easy = load_tier(DEFAULT_TIERS["easy"], "easy")
    medium = load_tier(DEFAULT_TIERS["medium"], "medium")
    hard = load_tier(DEFAULT_TIERS["hard"], "hard")
    assert len(easy) == 1319 and len(hard) == 30
    assert medium and all(p.level >= 3 for p in medium) and len(medium) < 500
    assert {p.tier for p in easy} == {"easy"}
    assert easy[0].id == "gsm8k-test-00000" and easy[0].answer == "18"


def _write(tmp_path, lines, name="bad.jsonl"):
    path = tmp_path / name
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n")
    return path


GOOD = json.dumps({"id": "a", "question": "1+1?", "answer": "2"})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "b", "question": "q"', "malformed JSON"),
        (json.dumps({"id": "b", "answer": "1"}), "missing required field 'question'"),
        (json.dumps({"id": "b", "question": "q"}), "missing required field 'answer'"),
        (json.dumps({"id": "b", "question": "q", "answer": "  "}), "'answer' must be a non-empty"),
        (json.dumps([1, 2]), "expected a JSON object"),
        (json.dumps({"id": "a", "question": "q", "answer": "1"}), "duplicate id 'a'"),
        (json.dumps({"id": "b", "question": "q", "answer": "1", "level": "3"}), "'level' must be"),
        ("\xff\xfe".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, line, message):
    path = _write(tmp_path, [GOOD, b"", line])
    with pytest.raises(DataError) as err:
        load_jsonl(path)
    assert f"{path}:3:" in str(err.value) and message in str(err.value)


def test_numeric_answers_become_strings_and_missing_ids_get_line_ids(tmp_path):
    path = _write(tmp_path, [json.dumps({"question": "q", "answer": 7})], name="x.jsonl")
    (p,) = load_jsonl(path)
    assert p.answer == "7" and p.id == "x-1"


def test_tier_args_and_filters():
    name, spec = parse_tier_arg("medium=math/test.jsonl#level>=4")
    assert name == "medium" and spec == TierSpec("math/test.jsonl", min_level=4)
    problems = load_tier(spec, name)
    assert problems and all(p.level >= 4 for p in problems)
    assert parse_tier_arg("x=a.jsonl#level=2")[1].max_level == 2
    with pytest.raises(ValueError, match="NAME=SOURCE"):
        parse_tier_arg("no-equals-sign")
    with pytest.raises(DataError, match="keeps no problems"):
        load_tier(TierSpec("aime24/test.jsonl", min_level=1), "hard")
