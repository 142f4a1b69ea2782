"""Nothing lost, nothing doubled: a crash while a checkpoint or ``final/`` is written, one
writer per run folder, torn state files of ours, a run whose loss or weights stop being finite,
and resumes that must share their settings. Tiny models train for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import transformers
from test_mft import _mft_cfg, profile

from roi_reasoning.cli import main
from roi_reasoning.data import read_records
from roi_reasoning.errors import DataError, RunBusy, TrainingError
from roi_reasoning.runlock import hold, lock_path
from roi_reasoning.testing import tiny_causal_lm
from roi_reasoning.training.mft import MFTTrainConfig, train
from roi_reasoning.training.mft_data import build_dataset

__all__ = ["profile"]  # test_mft's profile fixture, used through mft_data


class Killed(BaseException):
    """Stands in for SIGKILL inside the process: nothing after it runs, files stay as they are."""


@pytest.fixture
def mft_data(profile, tmp_path, chat_tokenizer):
    cfg = _mft_cfg(profile, tmp_path, budgets=[200], exams=2)
    build_dataset(cfg, tokenizer=chat_tokenizer)
    return cfg.out


def _sft(data: str, out: Path, **kw) -> MFTTrainConfig:
    settings = dict(
        model="unused",
        dataset=data,
        out=str(out),
        max_steps=3,
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        logging_steps=1,
        save_steps=1,
    )
    return MFTTrainConfig(**{**settings, **kw})


def _train(cfg, tok, **kw):
    return train(cfg, model=tiny_causal_lm(tok), tokenizer=tok, **kw)


def test_a_kill_while_a_checkpoint_is_saved_leaves_the_run_resumable(
    mft_data, tmp_path, chat_tokenizer, monkeypatch, capsys
):
    """Killed after checkpoint-2's weights, before its trainer_state.json (written last): the
    rerun drops the torn checkpoint-2, resumes from checkpoint-1 and finishes. (Before the fix
    transformers resumed from the newest folder and failed on every rerun.)"""
    out = tmp_path / "sft"
    real = transformers.TrainerState.save_to_json

    def save(self, path):
        if self.global_step == 2:
            raise Killed
        return real(self, path)

    monkeypatch.setattr(transformers.TrainerState, "save_to_json", save)
    with pytest.raises(Killed):
        _train(_sft(mft_data, out), chat_tokenizer)
    assert (out / "checkpoint-2" / "model.safetensors").exists()
    assert (
        not (out / "checkpoint-2" / "trainer_state.json").exists() and not (out / "final").exists()
    )
    monkeypatch.setattr(transformers.TrainerState, "save_to_json", real)
    final = _train(_sft(mft_data, out), chat_tokenizer, resume=True)
    err = capsys.readouterr().err
    assert "removing" in err and "checkpoint-2" in err and "resuming from" in err
    assert "checkpoint-1" in err
    state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3 and (final / "model.safetensors").exists()


def test_a_kill_while_final_is_written_leaves_no_final(
    mft_data, tmp_path, chat_tokenizer, monkeypatch
):
    out = tmp_path / "sft"
    real = type(chat_tokenizer).save_pretrained

    def save(self, *args, **kwargs):
        raise Killed  # the model is written, the tokenizer is not

    monkeypatch.setattr(type(chat_tokenizer), "save_pretrained", save)
    with pytest.raises(Killed):
        _train(_sft(mft_data, out, save_steps=100), chat_tokenizer)
    assert not (out / "final").exists()  # the demo reruns the stage, never loads half a model
    monkeypatch.setattr(type(chat_tokenizer), "save_pretrained", real)
    final = _train(_sft(mft_data, out, save_steps=100), chat_tokenizer, resume=True)
    assert (final / "tokenizer_config.json").exists() and (final / "model.safetensors").exists()
    assert not list(out.glob(".final.tmp*"))


def test_a_diverging_run_stops_with_one_clear_error_and_saves_nothing(
    mft_data, tmp_path, chat_tokenizer
):
    """A NaN weight (as an overflowing update leaves) makes the loss NaN: the stage stops at
    the first logged step with a TrainingError (one ``error:`` line in the CLI), no final/."""
    import torch

    out = tmp_path / "sft"
    model = tiny_causal_lm(chat_tokenizer)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingError, match="(loss|grad_norm) is nan at step 1"):
        train(_sft(mft_data, out, save_steps=100), model=model, tokenizer=chat_tokenizer)
    assert not (out / "final").exists()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from roi_reasoning.runlock import hold
    with hold(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
    """
)


def test_a_second_writer_exits_2_naming_the_holder_and_a_dead_holder_never_blocks(tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        argv = ["eval", "--policy", "scripted", "--count", "2", "--out", str(out), "--no-plots"]
        assert main([*argv, "--no-progress"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"pid {holder.pid}" in err[0] and "another roi process" in err[0]
        assert not (out / "samples.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
    assert lock_path(out).exists()  # the stale lock file of a killed holder ...
    assert main([*argv, "--no-progress"]) == 0  # ... does not block
    assert len(read_records(out / "samples.jsonl")) == 2 * 3 * 2  # once each: no doubles


def test_a_second_writer_is_refused_before_it_loads_a_model(tmp_path, capsys):
    """The lock is probed before the policy loads: a busy folder is reported at once, not
    after minutes of loading (here the model does not even exist)."""
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        model = ["--policy", "hf", "--policy-arg", f"model={tmp_path / 'no-model'}"]
        for argv in (
            ["eval", *model, "--count", "1", "--out", str(out), "--no-plots"],
            ["profile", *model, "--k", "1", "--per-tier", "1", "--out", str(tmp_path / "p")],
        ):
            if argv[0] == "profile":  # a profile file's lock is beside it
                HOLDER_FILE = HOLDER.replace("hold(sys.argv[1])", "hold(sys.argv[1], False)")
                second = subprocess.Popen(
                    [sys.executable, "-c", HOLDER_FILE, str(tmp_path / "p")],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert second.stdout.readline().strip() == "held"
            try:
                assert main([*argv, "--no-progress"]) == 2
                err = capsys.readouterr().err.strip().splitlines()
                assert len(err) == 1 and "another roi process" in err[0], err
            finally:
                if argv[0] == "profile":
                    second.kill()
                    second.wait()
    finally:
        holder.kill()
        holder.wait()


def test_one_world_builder_at_a_time(tmp_path):
    """Two builds of one world config would train into the same checkpoints: the second
    process is refused, naming the first, before it writes anything."""
    from roi_reasoning.demo.config import DemoConfig
    from roi_reasoning.world import build_world_model
    from roi_reasoning.world.model import config_hash

    cfg = DemoConfig.quick("unused").world
    final = tmp_path / config_hash(cfg)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.replace("hold(sys.argv[1])", "hold(sys.argv[1], False)")]
        + [str(final)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunBusy, match=f"pid {holder.pid}"):
            build_world_model(cfg, tmp_path, progress=False)
        assert sorted(p.name for p in tmp_path.iterdir()) == [f".{final.name}.lock"]
    finally:
        holder.kill()
        holder.wait()


def test_holds_nest_in_one_process_and_conflict_across_processes(tmp_path):
    with hold(tmp_path / "x"), hold(tmp_path / "x"):  # the demo holds; its stages hold again
        code = subprocess.run(
            [sys.executable, "-c", HOLDER.replace("time.sleep(60)", "pass"), str(tmp_path / "x")],
            capture_output=True,
            text=True,
        )
        assert code.returncode == 1 and "RunBusy" in code.stderr
    with hold(tmp_path / "x"):  # released at the end of the outer block
        pass
    assert issubclass(RunBusy, DataError)


def test_a_torn_curve_line_is_dropped_and_rewritten_on_resume(tmp_path):
    from roi_reasoning.training.curve import CurveCallback, curve_row, read_curve

    path = tmp_path / "curve.jsonl"
    rows = "".join(json.dumps(curve_row(s, {"reward": 1.0})) + "\n" for s in (0, 5))
    path.write_text(rows + '{"step": 10, "train_rew')  # killed mid-append
    assert [r["step"] for r in read_curve(path)] == [0, 5]
    trainer = SimpleNamespace(args=SimpleNamespace(output_dir=str(tmp_path)))
    CurveCallback(trainer, [], 0).on_train_begin(
        None, SimpleNamespace(global_step=5, is_world_process_zero=True), None
    )
    assert path.read_text() == rows


def test_demo_settings_record_is_atomic_and_ignores_the_folders_spelling(tmp_path, capsys):
    from roi_reasoning.demo.config import demo_config
    from roi_reasoning.demo.config import record_settings as _check_out

    cfg = demo_config(str(tmp_path / "d"), quick=True)
    _check_out(cfg)
    _check_out(demo_config(str(tmp_path / "d") + "/", quick=True))  # X/ is X
    moved = tmp_path / "moved"
    (tmp_path / "d").rename(moved)
    _check_out(demo_config(str(moved), quick=True))  # a moved folder is the same run
    (moved / "demo.json").write_text('{"out": "x", "seed"')  # torn by an older version
    assert main(["demo", "--quick", "--out", str(moved), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "demo.json" in err[0] and "use another --out" in err[0]


def test_a_profile_resumes_only_with_its_own_settings(tmp_path, capsys):
    base = ["profile", "--policy", "scripted", "--k", "1", "--per-tier", "2", "--no-progress"]
    out = ["--out", str(tmp_path / "p.jsonl")]
    assert main([*base, *out, "--max-tokens", "300"]) == 0
    before = (tmp_path / "p.jsonl").read_bytes()
    for flag in (["--max-tokens", "200"], ["--seed", "3"]):
        assert main([*base, *out, "--max-tokens", "300", *flag]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "other settings" in err[0]
    assert (tmp_path / "p.jsonl").read_bytes() == before
    assert main([*base, *out, "--max-tokens", "300", "--k", "2"]) == 0  # k may grow
    assert len(read_records(tmp_path / "p.jsonl")) == 2 * 3 * 2


def test_a_foreign_record_in_samples_is_one_error_line(tmp_path, capsys):
    argv = ["eval", "--policy", "scripted", "--count", "1", "--out", str(tmp_path / "r")]
    argv += ["--no-plots", "--no-progress"]
    assert main(argv) == 0
    with open(tmp_path / "r" / "samples.jsonl", "a") as fh:
        fh.write("{}\n")
    capsys.readouterr()
    assert main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "samples.jsonl" in err[0] and "not a graded exam" in err[0]


def test_a_killed_world_builds_folder_is_removed_a_live_ones_kept(tmp_path):
    from roi_reasoning.world.model import _remove_dead_builds

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f"abc.tmp-{dead.pid}").mkdir()
    (tmp_path / f"abc.tmp-{os.getpid()}").mkdir()
    _remove_dead_builds(tmp_path, "abc")
    assert [p.name for p in tmp_path.iterdir()] == [f"abc.tmp-{os.getpid()}"]


def test_the_hindsight_oracle_stays_within_its_memory_estimate():
    """Peak bytes measured with tracemalloc (numpy reports its buffers to it) against
    ``hindsight_bytes``: the documented limit is the real one (it was 35% over)."""
    import tracemalloc

    from roi_reasoning.knapsack import hindsight_bytes, hindsight_oracle

    budget = 2_000_000
    attempts = [[(100, 1.0), (2000, 1.0)], [(5000, 1.0), (10, 0.5)], [(3, 1.0)]]
    tracemalloc.start()
    value, picks = hindsight_oracle(budget, attempts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert value == 3.0 and picks == [0, 0, 0]
    assert peak <= hindsight_bytes(3, budget, 2) * 1.05


def test_a_full_disk_while_saving_is_an_os_error_other_runtime_errors_stay(tmp_path, monkeypatch):
    """torch.save's RuntimeError on a full disk becomes the OSError it is (one line, exit 2);
    with room left on the device a RuntimeError is a bug and stays one."""
    import shutil

    from roi_reasoning.training.checkpoints import disk_errors

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=4096))
    with pytest.raises(OSError, match="no space left on device"), disk_errors(tmp_path / "x"):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=2**40))
    with pytest.raises(RuntimeError, match="a bug"), disk_errors(tmp_path / "x"):
        raise RuntimeError("a bug")
