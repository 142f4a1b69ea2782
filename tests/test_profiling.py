"""roi profile's records: each row is the render → Request(sample=k) → generate → score result
of one (problem, sample), in the documented format, the same however samples are batched, and
a rerun after a cut resumes to the same file."""

from __future__ import annotations

import json

from roi_reasoning.formats import render_prompt
from roi_reasoning.policies import Request
from roi_reasoning.policies.scripted import ScriptedPolicy
from roi_reasoning.records import Exam
from roi_reasoning.scoring import score_completions
from roi_reasoning.training.profiling import ProfileConfig, run_profile, select_problems

KEYS = ["problem_id", "tier", "sample", "tokens", "correct", "status", "answer", "text"]


def _cfg(tmp_path, name: str, batch_size: int) -> ProfileConfig:
    return ProfileConfig(
        out=str(tmp_path / name),
        policy="scripted",
        per_tier=2,
        k=3,
        max_tokens=300,
        batch_size=batch_size,
    )


def _rows(path) -> list[dict]:
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def _expected(cfg: ProfileConfig, policy: ScriptedPolicy) -> list[dict]:
    """The loop written out by hand, one request at a time."""
    rows = []
    for p in select_problems(cfg):
        for k in range(cfg.k):
            exam = Exam(f"{p.id}#{k}", p.id, "single", cfg.max_tokens, (p,))
            prompt = render_prompt(exam, "base", cfg.level_bounds)
            comp = policy.generate([Request(prompt, cfg.max_tokens, exam, "base", sample=k)])[0]
            res = score_completions([exam], [comp], method="profile", bounds=cfg.level_bounds)
            o = res[0].outcomes[0]
            values = [p.id, p.tier, k, comp.tokens, o.correct, o.status, o.answer, comp.text]
            rows.append(dict(zip(KEYS, values, strict=True)))
    return rows


def test_rows_are_the_per_sample_loop_whatever_the_batching(tmp_path):
    policy = ScriptedPolicy()
    cfg = _cfg(tmp_path, "a.jsonl", batch_size=4)  # batches straddle problems
    rows = _rows(run_profile(cfg, policy, progress=False))
    assert rows == _expected(cfg, policy) and all(list(r) == KEYS for r in rows)
    assert len(rows) == 6 * 3 and {r["sample"] for r in rows} == {0, 1, 2}
    one_by_one = _rows(run_profile(_cfg(tmp_path, "b.jsonl", batch_size=1), policy, progress=False))
    assert one_by_one == rows
    by_problem: dict[str, set[str]] = {}
    for r in rows:
        by_problem.setdefault(r["problem_id"], set()).add(r["text"])
    assert any(len(texts) > 1 for texts in by_problem.values())  # samples are distinct draws


def test_a_rerun_after_a_cut_resumes_to_the_same_file(tmp_path):
    policy = ScriptedPolicy()
    cfg = _cfg(tmp_path, "p.jsonl", batch_size=5)
    out = run_profile(cfg, policy, progress=False)
    text = out.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    out.write_text("".join(lines[:7]), encoding="utf-8")  # seven samples survived a crash
    run_profile(cfg, policy, progress=False)
    assert out.read_text(encoding="utf-8") == text
