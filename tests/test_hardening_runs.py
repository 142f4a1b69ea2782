"""Hardening of runs, not just of arguments: a failed run never blocks its fix, inputs are never
rewritten, a changed input is noticed, outputs are atomic, limits are refused up front, Ctrl-C
is one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_hardening import make_inputs

from roi_reasoning import cli
from roi_reasoning.data import read_records, repair_records
from roi_reasoning.errors import ConfigError, DataError
from roi_reasoning.exams import write_exams
from roi_reasoning.knapsack import bellman_plan, hindsight_oracle
from roi_reasoning.profiles import load_profile_rows


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _eval(out: str, *extra: str) -> list[str]:
    tiers = []
    for t in ("easy", "medium", "hard"):
        tiers += ["--tier", f"{t}=in/{t}.jsonl"]
    return ["eval", "--out", out, "--no-progress", "--no-plots", "--count", "1", *tiers, *extra]


def test_failed_eval_leaves_nothing_and_the_fix_runs(probe, capsys):
    assert cli.main(_eval("out/run", "--budgets", "0")) == 2
    assert not (probe / "out" / "run").exists()  # no run.json to block the corrected rerun
    assert cli.main(_eval("out/run", "--budgets", "64")) == 0
    assert (probe / "out" / "run" / "results.json").exists()


def test_read_samples_is_read_only_and_repair_is_explicit(tmp_path):
    path = tmp_path / "p.jsonl"
    good = json.dumps({"problem_id": "a", "tokens": 3, "correct": True}) + "\n"
    path.write_text(good + '{"problem_id": "a", "tok')
    before = path.read_bytes()
    with pytest.raises(DataError, match=rf"{path}:2: truncated last line"):
        read_records(path)
    assert path.read_bytes() == before  # an input is never cut
    assert len(read_records(path, allow_torn_tail=True)) == 1 and path.read_bytes() == before
    assert len(repair_records(path)) == 1 and path.read_text() == good  # own output: repaired
    path.write_text(good + '{"problem_id": "b", "tokens": 1, "correct": false}')  # no newline
    assert len(read_records(path)) == 2  # a hand-written file may end without a newline
    assert len(repair_records(path)) == 1 and path.read_text() == good  # ours never does


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"correct": "no"}, "'correct' must be bool"),
        ({"correct": 2}, "'correct' must be bool"),
        ({"correct": 1.0}, "'correct' must be bool"),
        ({"tokens": -1}, "'tokens' must be non-negative"),
        ({"tokens": 2.5}, "'tokens' must be int"),
        ({"tokens": True}, "'tokens' must be int"),
        ({"problem_id": 3}, "'problem_id' must be str"),
    ],
)
def test_profile_rows_are_typed(tmp_path, row, message):
    path = tmp_path / "p.jsonl"
    base = {"problem_id": "a", "tokens": 3, "correct": True}
    path.write_text(json.dumps(base) + "\n" + json.dumps({**base, **row}) + "\n")
    with pytest.raises(DataError, match=rf"{path}:2: {message}"):
        load_profile_rows(path)


def test_changed_input_is_refused_naming_the_file(probe, capsys):
    exams = probe / "in" / "exams.jsonl"
    assert cli.main(_eval("out/run", "--exams", "in/exams.jsonl")) == 0
    samples = (probe / "out" / "run" / "samples.jsonl").read_bytes()
    exams.write_text(exams.read_text().replace('"1+1?"', '"1+2?"'))  # same ids, other problems
    capsys.readouterr()
    assert cli.main(_eval("out/run", "--exams", "in/exams.jsonl")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: in/exams.jsonl: changed since the run") and err.count("\n") == 1
    assert (probe / "out" / "run" / "samples.jsonl").read_bytes() == samples


def test_yaml_types_name_file_and_key(tmp_path):
    from roi_reasoning.config import load_config
    from roi_reasoning.evaluation.evaluate import EvalConfig

    cfg = tmp_path / "c.yaml"
    cfg.write_text("methods: base\n")
    with pytest.raises(ConfigError, match=rf"{cfg}: methods: expected a list of a string"):
        load_config(EvalConfig, cfg, {"out": "x"})


def test_dp_limits_are_refused_before_allocating():
    with pytest.raises(ValueError, match="GiB"):
        hindsight_oracle(10**12, [[(1, 1.0)]])
    with pytest.raises(ValueError, match="GiB"):
        bellman_plan(10**9, [{"a": [(1, 1.0)]}])


def test_exams_write_is_atomic(probe, monkeypatch):
    path = probe / "out" / "exams.jsonl"
    assert (
        cli.main(
            ["exams", "build", "--count", "2", "--out", str(path), "--tier", "easy=in/easy.jsonl"]
        )
        == 0
    )
    before = path.read_bytes()

    def killed(fd: int) -> None:
        raise KeyboardInterrupt  # the process dies after writing part of the new file

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        write_exams([], path)
    assert path.read_bytes() == before  # the old file stands, whole
    assert sorted(p.name for p in path.parent.iterdir()) == ["exams.jsonl"]  # no temp left


def test_os_errors_are_one_line(probe, monkeypatch, capsys):
    import tempfile

    def denied(*a, **kw):
        raise PermissionError(13, "Permission denied", str(probe / "out"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    argv = [
        "exams",
        "build",
        "--count",
        "1",
        "--out",
        "out/e.jsonl",
        "--tier",
        "easy=in/easy.jsonl",
    ]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"error: {probe / 'out'}: Permission denied\n"


def test_ctrl_c_is_one_line_exit_130(probe, monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.tools, "cmd_oracle", interrupted)
    assert cli.main(["oracle", "in/o_neg.json"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("error: interrupted") and err.count("\n") == 1
