"""Dr. GRPO on exams for real: a tiny model, two steps, rewards from the exam reward."""

import json

import torch

import roi_reasoning.rarl as rarl
from conftest import tiny_causal_lm
from roi_reasoning.formats import render_tag
from roi_reasoning.parsing import decode_with_offsets
from roi_reasoning.records import Completion, Exam
from roi_reasoning.rewards import REWARDS
from roi_reasoning.scoring import score_completions

BOUNDS = [64, 128, 256]


def bimodal_model(tokenizer, dataset, tmp_path):
    """A tiny model taught (by a short real SFT) to answer the exam right or wrong about equally
    often, so a GRPO group has reward variance and a non-zero advantage."""
    import datasets

    from roi_reasoning.mft import MFTTrainConfig, sft_trainer

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
        batch_size=2,
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
        budget=48,
        level_bounds=BOUNDS,
        count=1,
        num_generations=8,
        batch_size=8,
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


def test_exam_reward_is_not_constant(chat_tokenizer):
    cfg = rarl.RARLConfig(
        model="unused", out="unused", budget=400, level_bounds=[64, 128, 256], count=1
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
