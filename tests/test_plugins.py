"""Registries with a dotted-path escape hatch: rewards (and policies, methods) by name or
``module:attr``; an unknown name is a ConfigError that lists the valid ones."""

import pytest

from roi_reasoning.errors import ConfigError
from roi_reasoning.plugins import resolve
from roi_reasoning.records import ExamOutcome, Problem, ProblemOutcome
from roi_reasoning.rewards import REWARDS, get_reward


def half_score(outcome: ExamOutcome) -> float:  # a user reward, reached as tests.test_plugins:...
    return outcome.score / 2


def _outcome() -> ExamOutcome:
    p = Problem(id="p", question="1 + 1?", answer="2")
    o = ProblemOutcome(
        problem_id=p.id,
        position=0,
        status="correct",
        tokens=5,
        predicted_level=0,
        actual_level=0,
        answer="2",
    )
    return ExamOutcome(
        exam_id="e",
        group="g",
        kind="easy",
        budget=64,
        method="roi",
        outcomes=(o,),
        tokens_used=5,
        top_level=3,
    )


def test_registered_and_dotted_rewards():
    assert get_reward("exam") is REWARDS["exam"]
    reward = get_reward("tests.test_plugins:half_score")
    assert reward(_outcome()) == 0.5 and REWARDS["exam"](_outcome()) == 1.0


@pytest.mark.parametrize(
    "name, message",
    [
        ("nosuch", r"unknown reward 'nosuch'; valid: exam, score or module:attr"),
        ("no_such_module_xyz:f", r"no module 'no_such_module_xyz'"),
        ("json:no_such_function", r"module 'json' has no 'no_such_function'"),
    ],
)
def test_unknown_plugins_are_config_errors_listing_valid_names(name, message):
    with pytest.raises(ConfigError, match=message) as info:
        get_reward(name)
    assert info.value.key == "reward"


def test_a_registered_dotted_path_is_imported_lazily():
    assert resolve({"dumps": "json:dumps"}, "dumps", "thing")({"a": 1}) == '{"a": 1}'


def echo_base(policy, exams, method, bounds, **opts):  # a user method: the base format's run
    from roi_reasoning.policies.methods import run_requests

    return run_requests(policy, exams, "base", bounds, opts["timeout"], method=method)


def test_a_dotted_path_method_runs_in_roi_eval(tmp_path):
    from roi_reasoning.cli import main

    out = tmp_path / "run"
    args = ["eval", "--methods", "base,tests.test_plugins:echo_base", "--count", "2"]
    assert (
        main([*args, "--kinds", "easy", "--budgets", "512", "--no-plots", "--out", str(out)]) == 0
    )
    import json

    cells = json.loads((out / "results.json").read_text())["cells"]
    by = {c["method"]: c["score"]["mean"] for c in cells}
    assert by["tests.test_plugins:echo_base"] == by["base"]  # the same prompts, same policy


def test_an_unknown_method_is_exit_2_listing_valid_names(tmp_path, capsys):
    from roi_reasoning.cli import main

    args = ["eval", "--methods", "nope", "--count", "1", "--out", str(tmp_path / "r")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "methods[0]" in err and "valid: base" in err and "module:attr" in err
    assert not (tmp_path / "r").exists()
