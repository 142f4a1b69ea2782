import pytest

from roi_reasoning.data import DEFAULT_TIERS, load_tier
from roi_reasoning.errors import DataError
from roi_reasoning.exams import build_exams, load_exams, order_positions, write_exams


@pytest.fixture(scope="module")
def tiers():
    return {name: load_tier(spec, name) for name, spec in DEFAULT_TIERS.items()}


def test_kinds_share_problems_and_order_by_difficulty(tiers):
    exams = build_exams(tiers, count=5, budgets=(512, 1024), seed=3)
    assert len(exams) == 5 * 2 * 3
    by_group = {}
    for e in exams:
        by_group.setdefault(e.group, []).append(e)
    assert len(by_group) == 5
    for papers in by_group.values():
        ids = {frozenset(p.id for p in e.problems) for e in papers}
        assert len(ids) == 1  # every kind and budget uses the same drawn problems
        order = {e.kind: [p.tier for p in e.problems] for e in papers}
        assert order["easy"] == ["easy", "medium", "hard"]
        assert order["hard"] == ["hard", "medium", "easy"]
        assert order["medium"] == ["easy", "hard", "medium"]
    assert len({e.id for e in exams}) == len(exams)


def test_seeded_reproducible_and_prefix_stable(tiers):
    a = build_exams(tiers, count=4, seed=7)
    b = build_exams(tiers, count=4, seed=7)
    c = build_exams(tiers, count=8, seed=7)
    d = build_exams(tiers, count=4, seed=8)
    assert a == b and c[: len(a)] == a and a != d


def test_composition_points_and_arbitrary_n(tiers):
    exams = build_exams(
        tiers,
        composition=["easy", "hard", "hard", "medium"],
        kinds=("composition", "hard"),
        budgets=(300,),
        count=3,
        points=(1, 2, 3, 4),
    )
    comp = [e for e in exams if e.kind == "composition"][0]
    assert [p.tier for p in comp.problems] == ["easy", "hard", "hard", "medium"]
    assert [p.points for p in comp.problems] == [1, 2, 3, 4]
    assert comp.problems[1].id != comp.problems[2].id
    hard = [e for e in exams if e.kind == "hard" and e.group == comp.group][0]
    assert [p.tier for p in hard.problems] == ["hard", "hard", "medium", "easy"]
    assert {p.id: p.points for p in hard.problems} == {p.id: p.points for p in comp.problems}
    six = build_exams(tiers, n=6, kinds=("easy",), budgets=(1000,), count=1)[0]
    assert [p.tier for p in six.problems] == ["easy", "easy", "medium", "medium", "hard", "hard"]


def test_more_exams_than_problems_reuses_across_exams_not_within(tiers):
    small = {"easy": tiers["easy"][:2], "hard": tiers["hard"][:2]}
    exams = build_exams(
        small, composition=["easy", "easy"], kinds=("easy",), budgets=(10,), count=5
    )
    assert all(len({p.id for p in e.problems}) == 2 for e in exams)


def test_medium_order_general_n():
    assert order_positions([0, 1, 2, 3, 4], "medium") == [0, 1, 4, 2, 3]
    with pytest.raises(ValueError, match="valid: easy"):
        order_positions([0], "weird")


def test_roundtrip_and_bad_file(tiers, tmp_path):
    exams = build_exams(tiers, count=2)
    path = tmp_path / "exams.jsonl"
    write_exams(exams, path)
    assert load_exams(path) == exams
    path.write_text(path.read_text() + '{"id": "x"}\n')
    with pytest.raises(DataError, match=rf"{path}:{len(exams) + 1}: not an exam record"):
        load_exams(path)


def test_bad_options(tiers):
    with pytest.raises(ValueError, match="unknown tier"):
        build_exams(tiers, composition=["easy", "expert"])
    with pytest.raises(ValueError, match="points"):
        build_exams(tiers, points=(1, 2))
