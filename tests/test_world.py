"""The embedded world: generator, splits, token costs, tokenizer, and a short real training run."""

from __future__ import annotations

import dataclasses
import re
import statistics
from pathlib import Path

import pytest

from roi_reasoning.data import TierSpec, load_jsonl, load_tier
from roi_reasoning.exams import build_exams
from roi_reasoning.formats import TEMPLATES, render_prompt
from roi_reasoning.records import Problem
from roi_reasoning.world import (
    TIERS,
    WorldConfig,
    generate_tier,
    load_world,
    world_tiers,
    write_world,
)
from roi_reasoning.world.problems import HARD_STEPS, TUNE_SIZE, split_tier

SMALL = WorldConfig(train_size=120, test_size=40)

# ------------------------------------------------------------------ independent gold answers

_ADD = ("finds", "gets", "wins", "buys", "receives", "orders", "collects", "makes", "add")
_ADD += ("loads", "packs", "stacks", "brings")
_SUB = ("loses", "gives away", "breaks", "sells", "returns", "donates", "ships", "throws away")
_SUB += ("exports", "unloads", "trades", "moves out")


def recompute(question: str, solution: str) -> int:
    """The answer from the question's words alone (not from the generator's code); a hard
    problem's die roll is the one thing read from the solution (it is the gamble)."""
    lines = question.split("\n")
    x = int(re.search(r"\d+", lines[0]).group())
    rolls = re.findall(r"\. It shows (\d)\. ", solution)
    for line in lines[1:-1]:
        if re.fullmatch(r"[A-Za-z]+: rolls a die and loads as many more as it shows\.", line):
            x += int(rolls.pop(0))
            continue
        m = re.fullmatch(r"[A-Za-z]+(?: \d+)?: ([a-z ]+?) (\d+)( more)?\.", line)
        assert m, line
        verb, v = m.group(1), int(m.group(2))
        if verb in _ADD:
            assert m.group(3) or verb == "add", line
            x += v
        else:
            assert verb in _SUB + ("subtract",), line
            x -= v
    assert not rolls  # one roll named per die, no more
    return x


def check_arithmetic(solution: str) -> None:
    """Every ``a op b [op c...] = r`` written in a solution is true (integers, left to right)."""
    for expr, result in re.findall(r"(\d+(?: [+\-*] \d+)+) = (\d+)", solution):
        nums = [int(n) for n in re.findall(r"\d+", expr)]
        ops = re.findall(r"[+\-*]", expr)
        value = nums[0]
        for op, n in zip(ops, nums[1:], strict=True):
            value = value + n if op == "+" else value - n if op == "-" else value * n
        assert value == int(result), f"{expr}={result}"


# ------------------------------------------------------------------ generator


def test_generator_is_seeded_and_prefix_stable():
    for tier in TIERS:
        a = generate_tier(tier, 30, seed=3)
        assert a == generate_tier(tier, 30, seed=3)
        assert a[10:] == generate_tier(tier, 20, seed=3, start=10)
        assert [r["question"] for r in a] != [r["question"] for r in generate_tier(tier, 30, 4)]
    with pytest.raises(ValueError, match="valid: easy, medium, hard"):
        generate_tier("impossible", 1)


@pytest.mark.parametrize("tier", TIERS)
def test_golds_are_exact(tier):
    for row in generate_tier(tier, 300, seed=1):
        assert str(recompute(row["question"], row["solution"])) == row["answer"]
        assert row["solution"].endswith(f"\\boxed{{{row['answer']}}}.")
        check_arithmetic(row["solution"])
        assert int(row["answer"]) > 0
        assert set(row) >= {"id", "question", "answer", "solution", "source", "level"}


def test_difficulty_grows_with_the_tier():
    steps = {t: [r["level"] for r in generate_tier(t, 200)] for t in TIERS}
    assert set(steps["easy"]) == {1, 2}
    assert set(steps["medium"]) == {3, 4, 5}
    assert set(steps["hard"]) == set(range(HARD_STEPS[0], HARD_STEPS[1] + 1))  # long chains
    hard = generate_tier("hard", 600)
    dice = [r["question"].count("rolls a die") for r in hard]
    assert set(dice) == {0, 1} and 0.4 < sum(dice) / len(hard) < 0.6  # half plain, half a gamble
    rolls = [int(v) for r in hard for v in re.findall(r"It shows (\d)\.", r["solution"])]
    assert len(rolls) == sum(dice) and set(rolls) == set(range(1, 7))  # the die's six faces
    assert max(rolls.count(v) for v in range(1, 7)) / len(rolls) < 0.25  # none a model could prefer


def test_each_tier_has_an_opening_and_verbs_of_its_own():
    """A model can tell a problem's tier from its first words (the level tag it predicts comes
    before the solution), and medium and hard share no verb."""
    openings = {
        t: {re.sub(r"\d+.*", "", r["question"].split("\n")[0]) for r in generate_tier(t, 300)}
        for t in TIERS
    }
    assert openings["medium"] == {"A shop owns "} and openings["hard"] == {"A warehouse holds "}
    assert all(o.endswith(" has ") for o in openings["easy"])

    def verbs(tier):
        lines = [x for r in generate_tier(tier, 300) for x in r["question"].split("\n")[1:-1]]
        return {re.sub(r"^[A-Za-z]+: | \d.*$", "", x) for x in lines if "die" not in x}

    assert verbs("medium") and verbs("hard") and not verbs("medium") & verbs("hard")


class _TextTokenizer:
    """Enough of a tokenizer for ``encode_examples``: a text is its own single "token"."""

    eos_token_id = -1

    def apply_chat_template(self, messages, **_):
        return "\n".join(m["content"] for m in messages)

    def __call__(self, texts, **_):
        return {"input_ids": [[t] for t in texts]}


def test_base_model_skips_only_where_its_prompt_allows_and_at_random():
    from roi_reasoning.world.model import NA, encode_examples

    problems = {
        t: [Problem(r["id"], r["question"], r["answer"], tier=t) for r in generate_tier(t, 30)]
        for t in TIERS
    }
    exams = build_exams(problems, n=3, budgets=[128, 320], count=30)
    cfg = WorldConfig(skip_fraction=0.25)
    rows = encode_examples(exams * 4, _TextTokenizer(), cfg)
    allowed = [c[0] for p, c in rows if "boxed{NA} for it" in p[0]]
    others = [c[0] for p, c in rows if "boxed{NA} for it" not in p[0]]
    assert allowed and others and not any(NA in c for c in others)
    share = sum(c.count(NA) for c in allowed) / (3 * len(allowed))
    assert 0.15 < share < 0.35
    for c in allowed:  # a skipped problem keeps its header; the next one follows as usual
        assert [int(h) for h in re.findall(r"## Problem (\d)", c)] == [1, 2, 3]
    none = encode_examples(exams, _TextTokenizer(), WorldConfig(skip_fraction=0.0))
    assert not any(NA in c[0] for _, c in none)


def test_write_world_splits_are_disjoint_and_load(tmp_path):
    files = write_world(tmp_path, SMALL)
    for tier in TIERS:
        train = load_jsonl(files[tier]["train"])
        test = load_jsonl(files[tier]["test"])
        everything = load_jsonl(files[tier]["all"])
        assert (len(train), len(test)) == (SMALL.train_size, SMALL.test_size)
        assert not {p.question for p in train} & {p.question for p in test}
        assert len({p.question for p in everything}) == len(everything)
        assert {p.id for p in everything} == {p.id for p in train} | {p.id for p in test}
        tune = load_jsonl(files[tier]["tune"])  # MFT's and RARL's: unseen by the base model
        assert len(tune) == TUNE_SIZE
        assert not {p.question for p in tune} & {p.question for p in everything}
        spec = TierSpec(source=world_tiers(tmp_path)[tier]["source"])
        assert [p.id for p in load_tier(spec, tier)] == [p.id for p in test]
    assert world_tiers(tmp_path, "train")["hard"]["source"] == files["hard"]["train"]
    with pytest.raises(ValueError, match="valid"):
        world_tiers(tmp_path, "dev")


def test_a_built_world_without_the_tune_split_gets_it_written_identically(tmp_path):
    import json

    files = write_world(tmp_path / "data", SMALL)
    (tmp_path / "world.json").write_text(json.dumps({"config": SMALL.to_dict()}))
    before = {t: Path(files[t]["train"]).read_bytes() for t in TIERS}
    for t in TIERS:
        Path(files[t]["tune"]).unlink()
    tiers = world_tiers(tmp_path, "tune")
    assert all(Path(tiers[t]["source"]).exists() for t in TIERS)
    assert {t: Path(files[t]["train"]).read_bytes() for t in TIERS} == before


# ------------------------------------------------------------------ tokenizer and token costs


@pytest.fixture(scope="module")
def world_tok():
    from roi_reasoning.world.tokenizer import build_tokenizer, world_corpus

    cfg = WorldConfig()
    rows = [r for t in TIERS for r in split_tier(t, SMALL)[0]]
    tiers = {t: _problems(t, 12) for t in TIERS}
    return build_tokenizer(world_corpus(rows, tiers), cfg.vocab_size)


def _problems(tier: str, n: int) -> list[Problem]:
    return [Problem.from_dict({**r, "tier": tier}) for r in generate_tier(tier, n, seed=9)]


def _all_prompts(tiers: dict[str, list[Problem]]) -> list[str]:
    texts = []
    for n, names in ((1, ["hard"]), (3, list(TIERS))):
        exams = build_exams(
            {t: tiers[t] for t in names}, n=n, kinds=("easy", "hard"), budgets=[77, 1000], count=2
        )
        for exam in exams:
            for bounds in ((48, 96, 192), (10, 300, 5000), (256, 512, 1024)):
                for method in TEMPLATES:
                    texts += [m["content"] for m in render_prompt(exam, method, bounds)]
    return texts


def test_tokenizer_round_trips_every_prompt_and_solution(world_tok):
    tiers = {t: _problems(t, 6) for t in TIERS}
    texts = _all_prompts(tiers) + [p.solution for ps in tiers.values() for p in ps]
    unk = world_tok.unk_token_id
    for text in texts:
        ids = world_tok(text, add_special_tokens=False)["input_ids"]
        assert unk not in ids, text
        assert world_tok.decode(ids) == text
    from roi_reasoning.world.tokenizer import TAG_TOKENS, template_phrases

    extra = len(TAG_TOKENS) + 4 + len(template_phrases())  # + NA and the roles
    assert len(world_tok) <= WorldConfig().vocab_size + extra


def test_template_boilerplate_is_compact_and_keeps_tags_visible(world_tok):
    from roi_reasoning.world.tokenizer import template_phrases

    phrases = template_phrases()
    assert "You are a careful mathematician." in phrases
    assert not [p for p in phrases if "<predicted_level>" in p or "Level-" in p or p[-1:].isdigit()]
    exam = build_exams({"hard": _problems("hard", 2)}, n=1, kinds=("easy",), budgets=[128])[0]
    question = world_tok.tokenize(exam.problems[0].question)
    for method in ("base", "plan-and-solve", "least-to-most", "budget"):
        text = world_tok.apply_chat_template(
            render_prompt(exam, method), add_generation_prompt=True, tokenize=False
        )
        assert len(world_tok.tokenize(text)) <= len(question) + 45, (
            method
        )  # ~150 without phrase tokens
    roi = "\n".join(m["content"] for m in render_prompt(exam, "roi", (48, 96, 192)))
    assert world_tok.tokenize(roi).count("<predicted_level>") == 2


def test_tokenizer_chat_template_and_compact_tags(world_tok):
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q 12"}]
    text = world_tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert (
        text
        == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ 12<|im_end|>\n<|im_start|>assistant\n"
    )
    assert world_tok.eos_token == "<|im_end|>" and world_tok.pad_token == "<|pad|>"
    tag = world_tok.tokenize("<predicted_level>Level-3</predicted_level> \\boxed{NA}")
    assert tag == ["<predicted_level>", "Level-3", "</predicted_level>", " ", "\\boxed{", "NA", "}"]
    assert world_tok.tokenize("2024") == ["2", "0", "2", "4"]  # one token per digit
    assert world_tok.decode(world_tok("NAME NAN")["input_ids"]) == "NAME NAN"


def test_decode_with_offsets_on_world_tokenizer(world_tok):
    from roi_reasoning.parsing import decode_with_offsets, split_segments

    completion = "## Problem 1\n" + _problems("easy", 1)[0].solution + "\n\n## Problem 2\nx"
    ids = world_tok(completion, add_special_tokens=False)["input_ids"] + [world_tok.eos_token_id]
    text, starts = decode_with_offsets(world_tok, ids)
    assert text == completion and len(starts) == len(ids)
    segs = split_segments(text, starts, 2, truncated=False)
    assert [s.index for s in segs] == [0, 1] and segs[0].tokens + segs[1].tokens == len(ids)


def test_token_costs_make_allocation_a_decision(world_tok):
    """Each tier sits at its own level; the three problems of a paper never fit the tight budget
    together, and always fit the loose one (header separators and EOS included); at the tight
    budget the two cheaper ones always fit beside the hard one's refusal, level tags included
    (the roi format's answer), so skipping the hard problem is a real option."""
    from roi_reasoning.formats import refusal, render_tag
    from roi_reasoning.world.tokenizer import solution_cost

    def tokens(text: str) -> int:
        return len(world_tok(text, add_special_tokens=False)["input_ids"])

    b0, b1, b2 = WorldConfig().level_bounds
    tight, loose = WorldConfig().budgets
    costs = {
        t: [solution_cost(world_tok, r["solution"]) for r in generate_tier(t, 300)] for t in TIERS
    }
    share = {t: (lambda f, c=c: sum(map(f, c)) / len(c)) for t, c in costs.items()}
    assert share["easy"](lambda c: c <= b0) >= 0.6  # easy ≈ Level-0 (two-step ones straddle b0)
    assert share["medium"](lambda c: b0 < c <= b1) >= 0.7  # medium ≈ Level-1
    assert share["hard"](lambda c: b1 < c <= b2) == 1.0  # hard is Level-2, never over the top
    assert min(costs["easy"]) + min(costs["medium"]) + min(costs["hard"]) > tight
    assert max(costs["easy"]) + max(costs["medium"]) + max(costs["hard"]) + 4 <= loose
    assert statistics.median(costs["easy"]) + statistics.median(costs["medium"]) < tight
    bounds = WorldConfig().level_bounds
    tag = tokens(f"{render_tag(0)} ")  # a tag and its space, as MFT targets write them
    skip = tokens(f"## Problem 1\n{refusal(bounds)}\n")
    pairs = [e + m + 2 * tag + skip + 1 for e in costs["easy"] for m in costs["medium"]]
    assert sum(c <= tight for c in pairs) / len(pairs) >= 0.95


def test_easy_tier_has_no_carries_and_harder_tiers_do():
    def carries(solution: str) -> int:
        found = 0
        for a, op, b, _ in re.findall(r"(\d+) ([+-]) (\d+) = (\d+)", solution):
            ua, ub = int(a) % 10, int(b) % 10
            found += (ua + ub > 9) if op == "+" else (ub > ua)
        return found

    assert sum(carries(r["solution"]) for r in generate_tier("easy", 300)) == 0
    assert sum(carries(r["solution"]) > 0 for r in generate_tier("medium", 100)) > 50


def test_config_from_yaml_lists_hashes_like_tuples():
    from roi_reasoning.world.model import config_hash

    d = WorldConfig()
    a = WorldConfig(level_bounds=list(d.level_bounds), budgets=list(d.budgets))
    assert a == d and config_hash(a) == config_hash(d)
    assert config_hash(dataclasses.replace(a, seed=1)) != config_hash(a)
    with pytest.raises(ValueError, match="strictly increasing"):
        WorldConfig(level_bounds=(96, 48, 192))


def test_scripted_eval_runs_on_world_tiers(tmp_path):
    from roi_reasoning.evaluation.evaluate import EvalConfig, run_eval

    write_world(tmp_path / "w", SMALL)
    cfg = EvalConfig(
        out=str(tmp_path / "run"),
        tiers=world_tiers(tmp_path / "w"),
        level_bounds=[48, 96, 192],
        budgets=[128],
        count=2,
    )
    results = run_eval(cfg, progress=False)
    assert {c["kind"] for c in results["cells"]} == {"easy", "medium", "hard"}


# ------------------------------------------------------------------ a real (tiny) build

TINY = WorldConfig(
    train_size=60,
    test_size=12,
    vocab_size=300,
    hidden_size=32,
    intermediate_size=64,
    num_layers=2,
    num_heads=2,
    steps=4,
    warmup=1,
    examples=40,
    eval_size=2,
    profile_size=2,
    profile_k=2,
    level_bounds=(8, 16, 24),  # tokens: short generations keep the measurement cheap
    budgets=(16, 32),
)


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory):
    from roi_reasoning.world import build_world_model

    root = tmp_path_factory.mktemp("world-cache")
    return root, build_world_model(TINY, root, progress=False)


def test_tiny_build_trains_saves_and_loads(tiny_world):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from roi_reasoning.policies import Request
    from roi_reasoning.policies.hf import HFPolicy
    from roi_reasoning.world.model import config_hash, new_model

    _, path = tiny_world
    assert path.name == config_hash(TINY)
    meta = load_world(path)
    assert meta["config"] == TINY.to_dict() and meta["training"]["steps"] == TINY.steps
    assert set(meta["quality"]["single"]) == set(TIERS)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    assert tok.chat_template and tok.eos_token == "<|im_end|>"
    initial = new_model(TINY, tok).state_dict()  # the same seeded initialisation
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, initial[k])]
    assert len(changed) >= len(initial) // 2  # training moved the weights
    exam = build_exams({"easy": _problems("easy", 2)}, n=1, kinds=("easy",), budgets=[9])[0]
    policy = HFPolicy(str(path), batch_size=2)
    [comp] = policy.generate([Request(render_prompt(exam, "base"), 9, exam, "base")])
    assert 1 <= comp.tokens <= 9 and isinstance(comp.text, str)
    tiers = world_tiers(path)
    assert all(Path(spec["source"]).is_absolute() for spec in tiers.values())
    assert len(load_tier(TierSpec(**tiers["hard"]), "hard")) == TINY.test_size


def test_cache_hit_returns_without_retraining(tiny_world, monkeypatch):
    import roi_reasoning.world.model as world_model

    root, path = tiny_world
    stamp = (path / "world.json").stat().st_mtime_ns

    def boom(*args, **kwargs):
        raise AssertionError("retrained a cached world")

    monkeypatch.setattr(world_model, "train_model", boom)
    assert world_model.build_world_model(TINY, root, progress=False) == path
    assert (path / "world.json").stat().st_mtime_ns == stamp
    other = dataclasses.replace(TINY, seed=1)
    assert not world_model.is_complete(root / world_model.config_hash(other), other)
    with pytest.raises(AssertionError, match="retrained"):
        world_model.build_world_model(TINY, root, progress=False, force=True)
    assert world_model.is_complete(path, TINY)  # a failed rebuild leaves the old build intact


def test_in_order_accepts_only_ordered_headers_cut_by_the_budget():
    from roi_reasoning.records import ExamOutcome
    from roi_reasoning.world.quality import in_order

    def outcome(text: str, truncated: bool) -> ExamOutcome:
        return ExamOutcome(
            exam_id="e",
            group="g",
            kind="hard",
            budget=128,
            method="base",
            outcomes=(),
            tokens_used=9,
            completion=text,
            truncated=truncated,
        )

    assert in_order(outcome("## Problem 1\na\n## Problem 2\nb\n## Problem 3\nc", False), 3)
    assert in_order(outcome("## Problem 1\na\n## Problem 2\nb", True), 3)  # cut by the budget
    assert not in_order(outcome("## Problem 1\na\n## Problem 2\nb", False), 3)  # stopped early
    assert not in_order(outcome("## Problem 2\nb\n## Problem 1\na", True), 3)
    assert not in_order(outcome("no headers at all", True), 3)


# ------------------------------------------------------------------ the quality gate


def _gated(tiny_world, monkeypatch, tmp_path, passed):
    """Run the gate over the tiny world with scripted attempts (``passed[k]`` of attempt k's
    three checks pass); return the kept attempt, the records and the init seeds trained with."""
    from transformers import AutoTokenizer

    import roi_reasoning.world.model as world_model
    import roi_reasoning.world.quality as quality

    _, path = tiny_world
    seeds, queue = [], list(passed)

    def fake_train(model, examples, cfg, pad_id, progress, checkpoint):
        seeds.append(cfg.seed)
        return {"steps": cfg.steps, "seconds": 0.0}

    def fake_measure(model, tokenizer, test, cfg, profile):
        profile.write_text(f"attempt {len(seeds) - 1}\n")
        ok = queue.pop(0)
        checks = {name: i < ok for i, name in enumerate(("a", "b", "c"))}
        return {"single": {}, "papers": {"score": {}}, "checks": checks}

    monkeypatch.setattr(world_model, "train_model", fake_train)
    monkeypatch.setattr(quality, "measure", fake_measure)
    cfg = dataclasses.replace(TINY, attempts=3)
    tok = AutoTokenizer.from_pretrained(path)
    (kept, _), records = world_model._train_gated(
        tmp_path, cfg, tok, [], {}, progress=False, partial=tmp_path
    )
    assert (tmp_path / "config.json").exists()  # the kept model is saved
    # the kept attempt's profile is the world's, the others' are gone
    assert (tmp_path / "profile-test.jsonl").read_text() == f"attempt {kept}\n"
    assert not list(tmp_path.glob("profile-test.*.jsonl"))
    return kept, records, seeds


def test_gate_stops_at_the_first_attempt_that_passes(tiny_world, monkeypatch, tmp_path):
    kept, records, seeds = _gated(tiny_world, monkeypatch, tmp_path, [1, 3, 3])
    assert kept == 1 and [r["gate_score"] for r in records] == [1, 3]
    assert seeds[0] == TINY.seed and len(set(seeds)) == 2  # another initialisation each time


def test_gate_keeps_the_best_attempt_when_none_passes(tiny_world, monkeypatch, tmp_path):
    kept, records, seeds = _gated(tiny_world, monkeypatch, tmp_path, [1, 2, 2])
    assert kept == 1 and len(records) == 3 and len(set(seeds)) == 3


def test_gate_records_every_attempt_in_world_json(tiny_world):
    meta = load_world(tiny_world[1])
    gate = meta["gate"]
    assert 1 <= len(gate["attempts"]) <= TINY.attempts
    kept = gate["attempts"][gate["kept_attempt"]]
    assert gate["passed"] == all(meta["quality"]["checks"].values())
    assert kept["gate_score"] == sum(meta["quality"]["checks"].values())
    assert kept["gate_score"] == max(a["gate_score"] for a in gate["attempts"])
    assert all(a["training"]["steps"] == TINY.steps for a in gate["attempts"])


def test_a_retry_trains_a_deeper_model_from_another_initialisation():
    from roi_reasoning.world.model import attempt_config

    cfg = dataclasses.replace(TINY, num_layers=2, retry_num_layers=3)
    assert attempt_config(cfg, 0) == cfg  # the first attempt is the recipe itself
    retries = [attempt_config(cfg, k) for k in (1, 2)]
    assert [r.num_layers for r in retries] == [3, 3]
    assert len({cfg.seed, *(r.seed for r in retries)}) == 3
    assert all(dataclasses.replace(r, seed=cfg.seed, num_layers=2) == cfg for r in retries)
    with pytest.raises(ValueError, match="retry_num_layers"):
        WorldConfig(retry_num_layers=0)


def test_attempts_must_be_positive():
    with pytest.raises(ValueError, match="attempts"):
        WorldConfig(attempts=0)


def test_interrupted_training_resumes_step_for_step(tiny_world, monkeypatch, tmp_path):
    """A crash after a checkpoint, then a rerun: the same weights as one uninterrupted run."""
    import random

    import torch
    from transformers import AutoTokenizer

    import roi_reasoning.world.train as world_train
    from roi_reasoning.world.model import new_model

    tok = AutoTokenizer.from_pretrained(tiny_world[1])
    rng = random.Random(0)
    examples = [
        ([rng.randrange(len(tok)) for _ in range(rng.randint(3, 9))], [5, 6, tok.eos_token_id])
        for _ in range(40)
    ]
    cfg = dataclasses.replace(TINY, steps=6, workers=2, batch_tokens=64)
    whole = new_model(cfg, tok)
    world_train.train_model(whole, examples, cfg, tok.pad_token_id, progress=False)

    monkeypatch.setattr(world_train, "CHECKPOINT_EVERY", 2)
    step, calls = world_train._Replicas.step, []

    def crash_on_fourth(self, batches, lr):
        calls.append(lr)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return step(self, batches, lr)

    monkeypatch.setattr(world_train._Replicas, "step", crash_on_fourth)
    ckpt = tmp_path / "attempt-0.pt"
    with pytest.raises(KeyboardInterrupt):
        world_train.train_model(new_model(cfg, tok), examples, cfg, tok.pad_token_id, False, ckpt)
    assert torch.load(ckpt, weights_only=False)["step"] == 2  # the last checkpoint before it
    rerun = []

    def count(self, batches, lr):
        rerun.append(lr)
        return step(self, batches, lr)

    monkeypatch.setattr(world_train._Replicas, "step", count)
    resumed = new_model(cfg, tok)
    stats = world_train.train_model(resumed, examples, cfg, tok.pad_token_id, False, ckpt)
    assert stats["steps"] == cfg.steps and not stats["stopped_early"]
    assert rerun == calls[2:3] + rerun[1:] and len(rerun) == cfg.steps - 2  # from step 3 on
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_world_recipe_builds_through_roi(tmp_path, capsys):
    """`roi world build --config configs/world/default.yaml` with a few steps and problems: the
    recipe's model, tokenizer and measurement run end to end and print the checks."""
    import yaml

    from roi_reasoning.cli import main

    recipe = Path(__file__).resolve().parents[1] / "configs" / "world" / "default.yaml"
    settings = yaml.safe_load(recipe.read_text())
    settings.update(steps=3, warmup=1, examples=30, train_size=40, test_size=6, attempts=1)
    settings.update(eval_size=2, profile_size=2, profile_k=1)
    small = tmp_path / "small.yaml"
    small.write_text(yaml.safe_dump(settings))
    out = tmp_path / "cache"
    assert main(["world", "build", "--config", str(small), "--out", str(out), "--no-progress"]) == 0
    built = Path(capsys.readouterr().out.strip())
    meta = load_world(built)
    assert built.parent == out and meta["training"]["steps"] == 3
    assert set(meta["quality"]["checks"]) >= {"easy_single", "hard_single", "in_order"}
    assert set(meta["quality"]["allocation"]) == {f"B{b}" for b in settings["budgets"]}
