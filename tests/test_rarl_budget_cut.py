"""Mixed budgets in one Dr. GRPO run: completion i is cut at its own exam's B_i before reward and
loss (rarl_trainer.BudgetGRPOTrainer), on TRL's real generate → score → loss path."""

import json

import pytest
import torch
from trl import GRPOTrainer

import roi_reasoning.training.rarl as rarl
from roi_reasoning.formats import render_tag
from roi_reasoning.rewards import make_reward
from roi_reasoning.testing import tiny_causal_lm
from roi_reasoning.training.rarl_trainer import check_trl_internals, cut_at_budgets

BOUNDS = [64, 128, 512]


def one_problem_cfg(tmp_path, **kw):
    tier = tmp_path / "one.jsonl"
    tier.write_text(json.dumps({"id": "p1", "question": "What is 1+1?", "answer": "2"}) + "\n")
    base = dict(
        model="unused",
        out=str(tmp_path / "rarl"),
        tiers={"easy": {"source": str(tier)}},
        n=1,
        kinds=["easy"],
        level_bounds=BOUNDS,
        save_steps=1000,
        report_to="none",
    )
    return rarl.RARLConfig(**{**base, **kw})


def forced_completion(tok, length=320, box_at=200):
    """``length`` ids, no EOS: a Level-2 tag, filler, the right answer boxed at token ~box_at."""

    def enc(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    ids, fill = enc(f"## Problem 1\n{render_tag(2)}\n"), enc("We add 2 and 3 to get 5. ")
    while len(ids) < box_at:
        ids += fill
    ids += enc(" so \\boxed{2}\n")
    while len(ids) < length:
        ids += fill
    ids = ids[:length]
    assert tok.eos_token_id not in ids and tok.pad_token_id not in ids
    return ids


def mixed_trainer(tmp_path, tok, monkeypatch):
    """A trainer over two exams (B=128, B=320; G=2) whose reward calls are recorded in ``seen``;
    the batch rows as TRL's sampler gives them, and each row's budget."""
    seen = []
    real = rarl.make_reward

    def spy(name, tokenizer, **kw):
        fn = real(name, tokenizer, **kw)

        def reward(prompts, completions, completion_ids=None, **columns):
            out = fn(prompts, completions, completion_ids, **columns)
            seen.append(([list(c) for c in completion_ids], list(completions), out))
            return out

        return reward

    monkeypatch.setattr(rarl, "make_reward", spy)
    cfg = one_problem_cfg(
        tmp_path, budgets=[128, 320], count=2, num_generations=2, per_device_train_batch_size=4
    )
    dataset = rarl.exam_dataset(cfg)
    budgets = [json.loads(e)["budget"] for e in dataset["exam"]]
    assert sorted(budgets) == [128, 320]  # one exam per budget: the draw is balanced
    for row, b in zip(dataset, budgets, strict=True):  # each prompt states its own budget
        assert f"budget of {b} generated tokens" in row["prompt"][-1]["content"]
    trainer = rarl.grpo_trainer(cfg, model=tiny_causal_lm(tok), tokenizer=tok, dataset=dataset)
    assert trainer.args.max_completion_length == 320 and trainer.args.loss_type == "dr_grpo"
    assert not trainer.args.mask_truncated_completions
    trainer.model.train()
    rows = [dataset[i] for i in (0, 0, 1, 1)]  # the sampler repeats each exam G=2 times
    return trainer, rows, [budgets[i] for i in (0, 0, 1, 1)], seen


def test_320_token_completion_of_a_128_exam_is_cut_for_reward_and_gradient(
    tmp_path, chat_tokenizer, monkeypatch
):
    trainer, rows, row_budget, seen = mixed_trainer(tmp_path, chat_tokenizer, monkeypatch)
    forced = forced_completion(chat_tokenizer)
    # TRL's generation backend (transformers / vLLM) returns 320 ids for every prompt
    monkeypatch.setattr(
        GRPOTrainer,
        "_generate_single_turn",
        lambda self, prompt_ids, *a, **k: (
            [list(forced) for _ in prompt_ids],
            None,
        ),
    )
    batch = trainer._generate_and_score_completions(rows)

    # the loss mask: exactly B_i ones per row; the kept ids are the first B_i generated ones
    mask = batch["completion_mask"]
    assert mask.shape[1] == 320
    assert mask.sum(dim=1).tolist() == row_budget
    for r, b in enumerate(row_budget):
        assert batch["completion_ids"][r, :b].tolist() == forced[:b]
        assert mask[r, :b].all() and not mask[r, b:].any()

    # the reward saw exactly the first B_i ids and equals the reward of that prefix alone
    (ids_seen, texts_seen, rewards), *_ = seen
    assert [len(i) for i in ids_seen] == row_budget
    reward = make_reward("exam", chat_tokenizer, bounds=BOUNDS)
    for r, b in enumerate(row_budget):
        assert ids_seen[r] == forced[:b]
        alone = reward([rows[r]["prompt"]], ["unused"], [forced[:b]], exam=[rows[r]["exam"]])
        assert rewards[r] == alone[0]
        text = chat_tokenizer.decode(forced[:b], skip_special_tokens=True)
        assert texts_seen[r] == [{"role": "assistant", "content": text}]  # decoded from the cut
    by_budget = {b: rewards[r] for r, b in enumerate(row_budget)}
    assert by_budget[128] == 0.0  # the box closes after token 128: cut before its answer
    assert by_budget[320] == 1.0  # the same ids under B=320: right answer, Level-2 = actual

    # gradient: Dr. GRPO's per-token loss w.r.t. the per-token log-probs is zero past B_i and
    # -A / (rows · max_completion_length) before it (constant normaliser, not per-sequence length)
    kept = {}
    real_logps = trainer._get_per_token_logps_and_entropies

    def keep(*a, **k):
        logps, entropies, aux = real_logps(*a, **k)
        logps.retain_grad()
        kept["logps"] = logps
        return logps, entropies, aux

    monkeypatch.setattr(trainer, "_get_per_token_logps_and_entropies", keep)
    batch["advantages"] = torch.ones(4)  # every kept token carries gradient
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer's loop in real training
    trainer.compute_loss(trainer.model, batch).backward()
    grad = kept["logps"].grad
    for r, b in enumerate(row_budget):
        assert torch.equal(grad[r, b:], torch.zeros_like(grad[r, b:]))
        assert torch.allclose(grad[r, :b], torch.full((b,), -1.0 / (4 * 320)))


class FakeVLLM:
    """TRL's ``VLLMGeneration.generate`` contract: (prompt_ids, completion_ids, top-k logprobs,
    logprob token ids), one max_tokens for every request."""

    def __init__(self, completion):
        self.completion = completion

    def sync_weights(self):
        pass

    def generate(self, prompts, images, num_generations, profiler=None):
        n = len(prompts)
        logprobs = [[[-1.0] for _ in self.completion] for _ in range(n)]
        return prompts, [list(self.completion)] * n, logprobs, None


def test_the_vllm_path_cuts_ids_and_sampling_logprobs(tmp_path, chat_tokenizer, monkeypatch):
    """TRL's own use_vllm branch of _generate_single_turn, with vLLM replaced by its contract
    (vLLM cannot be installed on CPU): ids and sampling logprobs are cut at each B_i."""
    trainer, rows, row_budget, seen = mixed_trainer(tmp_path, chat_tokenizer, monkeypatch)
    forced = forced_completion(chat_tokenizer)
    trainer.use_vllm, trainer.vllm_generation = True, FakeVLLM(forced)
    trainer._last_loaded_step = trainer.state.global_step
    batch = trainer._generate_and_score_completions(rows)
    assert batch["completion_mask"].sum(dim=1).tolist() == row_budget
    assert [len(ids) for ids in seen[0][0]] == row_budget
    sampled = batch["sampling_per_token_logps"]
    for r, b in enumerate(row_budget):
        assert torch.equal(sampled[r, :b], torch.full((b,), -1.0))
        assert not sampled[r, b:].any()  # padding past B_i: no importance-sampling term there


def test_cut_keeps_short_completions_and_the_eos():
    ids, lps = cut_at_budgets([[5, 6, 0], [5, 6, 7, 8, 0]], [[0.1] * 3, [0.2] * 5], [4, 4])
    assert ids == [[5, 6, 0], [5, 6, 7, 8]]  # an EOS within B is kept (it is a token)
    assert lps == [[0.1] * 3, [0.2] * 4]
    with pytest.raises(RuntimeError, match="2 completions for 1 exam budgets"):
        cut_at_budgets([[1], [2]], None, [4])


def test_trl_internals_we_hook_into_are_unchanged():
    check_trl_internals()  # raises RuntimeError naming the GRPOTrainer method that changed


def test_changed_trl_internals_fail_loudly_naming_the_method():
    class Moved(GRPOTrainer):
        def _generate_single_turn(self, prompts, num_generations):
            return [], None

    with pytest.raises(RuntimeError, match=r"GRPOTrainer\._generate_single_turn: signature"):
        check_trl_internals(Moved)

    class NoMaskAfterGenerate(GRPOTrainer):
        def _generate_and_score_completions(self, inputs):
            return self._calculate_rewards(inputs, [], [], [])

    with pytest.raises(RuntimeError, match=r"GRPOTrainer\._generate_and_score_completions"):
        check_trl_internals(NoMaskAfterGenerate)


def test_budgets_must_be_distinct_and_positive(tmp_path):
    for bad in ([], [128, 128], [0, 64]):
        with pytest.raises(ValueError, match="budgets: must be distinct positive"):
            rarl.exam_dataset(one_problem_cfg(tmp_path, budgets=bad))
