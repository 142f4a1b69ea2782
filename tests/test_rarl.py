"""Dr. GRPO on exams for real: a tiny model, two steps, rewards from the exam reward; mixed
budgets end to end with the validation curve."""

import json
import statistics

import pytest
import torch
from test_rarl_budget_cut import one_problem_cfg

import roi_reasoning.training.rarl as rarl
from roi_reasoning.formats import render_tag
from roi_reasoning.parsing import decode_with_offsets
from roi_reasoning.records import Completion, Exam
from roi_reasoning.report.plots import plot_curve
from roi_reasoning.rewards import REWARDS
from roi_reasoning.scoring import score_completions
from roi_reasoning.testing import tiny_causal_lm
from roi_reasoning.training.curve import curve_row, read_curve

BOUNDS = [64, 128, 256]


def bimodal_model(tokenizer, dataset, tmp_path):
    """A tiny model taught (by a short real SFT) to answer the exam right or wrong about equally
    often, so a GRPO group has reward variance and a non-zero advantage."""
    import datasets

    from roi_reasoning.training.mft import MFTTrainConfig, sft_trainer

    prompt = dataset[0]["prompt"]
    rows = [
        {
            "prompt": prompt,
            "completion": [
                {"role": "assistant", "content": f"## Problem 1\n{render_tag(0)} \\boxed{{{a}}}\n"}
            ],
        }
        for a in ("2", "3")
    ]
    model = tiny_causal_lm(tokenizer)
    cfg = MFTTrainConfig(
        model="unused",
        dataset="unused",
        out=str(tmp_path / "sft"),
        max_steps=40,
        per_device_train_batch_size=2,
        learning_rate=3e-3,
        logging_steps=100,
        save_steps=1000,
    )
    sft_trainer(
        cfg, model=model, tokenizer=tokenizer, dataset=datasets.Dataset.from_list(rows)
    ).train()
    return model


def test_dr_grpo_trains_two_steps_with_the_exam_reward(tmp_path, chat_tokenizer, monkeypatch):
    calls = []
    real = rarl.make_reward

    def spy(name, tokenizer, **kw):
        fn = real(name, tokenizer, **kw)

        def wrapped(prompts, completions, completion_ids=None, **columns):
            out = fn(prompts, completions, completion_ids, **columns)
            calls.append((completion_ids, columns["exam"], out))
            return out

        return wrapped

    monkeypatch.setattr(rarl, "make_reward", spy)
    tier = tmp_path / "one.jsonl"
    tier.write_text(json.dumps({"id": "p1", "question": "What is 1+1?", "answer": "2"}) + "\n")
    cfg = rarl.RARLConfig(
        model="unused",
        out=str(tmp_path / "rarl"),
        tiers={"easy": {"source": str(tier)}},
        n=1,
        kinds=["easy"],
        budgets=[48],
        level_bounds=BOUNDS,
        count=1,
        num_generations=8,
        per_device_train_batch_size=8,
        max_steps=2,
        learning_rate=1e-2,
        save_steps=1000,
    )
    dataset = rarl.exam_dataset(cfg)
    model = bimodal_model(chat_tokenizer, dataset, tmp_path)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = rarl.grpo_trainer(cfg, model=model, tokenizer=chat_tokenizer, dataset=dataset)
    assert trainer.args.loss_type == "dr_grpo" and trainer.args.scale_rewards == "none"
    assert trainer.args.beta == 0 and trainer.args.max_completion_length == 48
    trainer.train()
    changed = [n for n, p in model.named_parameters() if not torch.equal(before[n], p.detach())]
    assert changed, "no parameter moved"
    assert len(calls) == 2
    seen = set()
    for ids_list, exam_cols, rewards in calls:
        exams = [Exam.from_dict(json.loads(e)) for e in exam_cols]
        comps = []
        for ids, exam in zip(ids_list, exams, strict=True):
            assert len(ids) <= exam.budget
            text, starts = decode_with_offsets(chat_tokenizer, ids)
            comps.append(Completion(text, tuple(starts), len(ids) >= exam.budget))
        outcomes = score_completions(exams, comps, method="x", bounds=BOUNDS)
        assert rewards == [REWARDS["exam"](o) for o in outcomes]
        seen.update(rewards)
    assert {0.0, 1.0} <= seen  # the exam reward varied within groups: a real learning signal
    rows = read_curve(tmp_path / "rarl" / "curve.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    for r, (_, _, rewards) in zip(rows, calls, strict=True):  # one group of 8 per step
        assert r["train_reward_group_std"] == pytest.approx(statistics.stdev(rewards), rel=1e-5)
        assert r["frac_zero_std"] == (0.0 if len(set(rewards)) > 1 else 1.0)


def test_exam_reward_is_not_constant(chat_tokenizer):
    cfg = rarl.RARLConfig(
        model="unused", out="unused", budgets=[400], level_bounds=[64, 128, 256], count=1
    )
    ds = rarl.exam_dataset(cfg)
    exam = Exam.from_dict(json.loads(ds[0]["exam"]))
    reward = rarl.make_reward("exam", chat_tokenizer, bounds=BOUNDS)
    right = "".join(
        f"## Problem {i + 1}\n{render_tag(0)} so \\boxed{{{p.answer}}}\n"
        for i, p in enumerate(exam.problems)
    )
    wrong = right.replace(render_tag(0), render_tag(2))  # right answers, wrong level: 0 reward
    ids = [chat_tokenizer(t, add_special_tokens=False)["input_ids"] for t in (right, wrong)]
    got = reward(ds[:2]["prompt"], [right, wrong], ids, exam=[ds[0]["exam"]] * 2)
    assert got == [3.0, 0.0]


def test_two_grpo_steps_over_mixed_budgets_log_the_curve(tmp_path, chat_tokenizer, monkeypatch):
    calls = []
    real = rarl.make_reward

    def spy(name, tokenizer, **kw):
        fn = real(name, tokenizer, **kw)

        def wrapped(prompts, completions, completion_ids=None, **columns):
            budgets = [json.loads(e)["budget"] for e in columns["exam"]]
            calls.extend(zip(budgets, [len(c) for c in completion_ids], strict=True))
            return fn(prompts, completions, completion_ids, **columns)

        return wrapped

    monkeypatch.setattr(rarl, "make_reward", spy)
    cfg = one_problem_cfg(
        tmp_path,
        budgets=[16, 40],
        count=2,
        num_generations=2,
        per_device_train_batch_size=4,
        max_steps=2,
        learning_rate=1e-3,
        val_every=1,
        val_exams=1,
    )
    final = rarl.train(cfg, model=tiny_causal_lm(chat_tokenizer), tokenizer=chat_tokenizer)
    assert (final / "config.json").exists() and (final / "tokenizer.json").exists()
    assert {b for b, _ in calls} == {16, 40} and all(n <= b for b, n in calls)
    assert max(n for b, n in calls if b == 40) > 16  # generation ran up to max(budgets) = 40
    assert 16 in {n for b, n in calls if b == 16}  # ... and the B=16 exams were cut at 16

    rows = read_curve(tmp_path / "rarl" / "curve.jsonl")
    assert [r["step"] for r in rows] == [0, 1, 2]  # validation before any update, then per step
    assert rows[0]["train_reward"] is None
    for r in rows:
        assert isinstance(r["val_reward"], float) and set(r["val_reward_by_budget"]) == {"16", "40"}
        mean = sum(r["val_reward_by_budget"].values()) / 2  # one problem set at each budget
        assert abs(r["val_reward"] - mean) < 1e-9
    assert all(isinstance(r["train_reward"], float) for r in rows[1:])
    for r in rows:  # the hardest (here the only) tier's refusals, from the same validation
        assert r["hardest_tier"] == "easy" and set(r["val_skip_hardest_by_budget"]) == {"16", "40"}
        assert all(0.0 <= v <= 1.0 for v in r["val_skip_hardest_by_budget"].values())
        assert r["kl"] is None  # beta = 0: TRL logs no KL
    for r in rows[1:]:  # TRL's spread of the train reward and ours within groups
        for key in ("train_reward_std", "train_reward_group_std", "frac_zero_std"):
            assert isinstance(r[key], float) and r[key] >= 0.0, key
        assert r["frac_zero_std"] <= 1.0
        if r["frac_zero_std"] == 1.0:  # every group constant: no spread within a group
            assert r["train_reward_group_std"] == 0.0
    png = plot_curve(tmp_path / "rarl" / "curve.jsonl", tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000


def test_curve_rows_keep_rewards_only(tmp_path):
    logs = {"reward": 0.5, "val/reward": 0.25, "val/reward_B128": 0.0, "val/reward_B320": 0.5}
    assert curve_row(3, logs) == {
        "step": 3,
        "train_reward": 0.5,
        "train_reward_std": None,  # TRL's spread and KL: not in these logs
        "train_reward_group_std": None,
        "frac_zero_std": None,
        "kl": None,
        "val_reward": 0.25,
        "val_reward_by_budget": {"128": 0.0, "320": 0.5},
        "val_level_accuracy": None,
        "hardest_tier": None,
        "val_skip_hardest_by_budget": {},
    }
    assert curve_row(9, {"train_runtime": 1.0, "train_loss": 0.1}) is None
    path = tmp_path / "curve.jsonl"
    path.write_text(json.dumps(curve_row(1, {"reward": 1.0})) + "\n")
    plot_curve(path, tmp_path / "one.png")  # train reward only, no validation: still a plot
    assert (tmp_path / "one.png").stat().st_size > 1000


def test_a_resumed_run_keeps_the_curve_up_to_its_checkpoint(tmp_path):
    from types import SimpleNamespace

    from roi_reasoning.training.curve import CurveCallback

    trainer = SimpleNamespace(args=SimpleNamespace(output_dir=str(tmp_path)))
    callback = CurveCallback(trainer, [], 0)
    path = tmp_path / "curve.jsonl"
    path.write_text("".join(json.dumps(curve_row(s, {"reward": 1.0})) + "\n" for s in (0, 5, 10)))
    callback.on_train_begin(None, SimpleNamespace(global_step=5, is_world_process_zero=True), None)
    assert [r["step"] for r in read_curve(path)] == [0, 5]
    callback.on_train_begin(None, SimpleNamespace(global_step=0, is_world_process_zero=True), None)
    assert read_curve(path) == []  # a fresh run in the same folder starts a fresh curve


def test_budgets_are_drawn_per_exam_seeded_and_balanced(tmp_path):
    def budgets(seed):
        cfg = one_problem_cfg(tmp_path, budgets=[128, 320, 512], count=7, seed=seed)
        return [json.loads(e)["budget"] for e in rarl.exam_dataset(cfg)["exam"]]

    first = budgets(0)
    assert first == budgets(0) and first != budgets(1)
    assert sorted(first.count(b) for b in (128, 320, 512)) == [2, 2, 3]
