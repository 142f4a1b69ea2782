"""Mixed budgets in one Dr. GRPO run: TRL's GRPOTrainer with every rollout cut at its own exam's B_i.

docs/design.md §1 (RARL): the rollout of exam i is cut at *its own* budget B_i; tokens past B_i get
neither reward nor gradient. TRL generates every completion up to one ``max_completion_length``,
which we set to max_i B_i; ``BudgetGRPOTrainer`` then keeps only the first B_i ids of completion i
(the end-of-sequence token counts as a token, so a completion whose EOS falls past B_i ends
truncated at the budget).

Where we hook, and why there (TRL 1.16, ``trl/trainer/grpo_trainer.py``):

- ``_generate_single_turn(prompt_ids, images, multimodal_fields, num_generations)`` returns the
  raw ``(completion_ids, logprobs)`` lists of every generation backend (transformers ``generate``,
  continuous batching, vLLM colocate and server). Everything TRL builds afterwards derives from
  them: the decoded completion text, the length / ``clipped_ratio`` metrics, ``completion_mask``
  (ones over each list, zero padding), the ``completion_ids`` the reward functions receive, and
  the sampling logprobs of vLLM's importance-sampling correction. Cutting the lists there makes all
  of them agree, with no copy of TRL's long ``_generate_and_score_completions``. Positions past
  B_i become padding with mask 0, so the per-token loss there is multiplied by 0: zero gradient.
- ``_generate_and_score_completions(inputs)`` is the last place that sees the dataset rows; we
  only read each row's ``exam`` column (the same JSON the reward reads) into the list of budgets,
  then call TRL's method unchanged.
- ``_calculate_rewards(inputs, prompts, completions, completion_ids_list)`` returns the rewards
  gathered from every process, each prompt's group contiguous; we only read them to log
  ``reward_group_std`` (``GROUP_STD``: the reward std within a group, averaged over groups),
  which TRL does not log (its ``reward_std`` is the std over the whole batch).
- ``rollout_func`` was the alternative: experimental in TRL 1.16 (it warns), it replaces the
  generation backends (we would re-implement HF and vLLM generation) and still sees no dataset
  column. Tools / environments re-enter ``_generate_single_turn`` with other prompts: refused.

The Dr. GRPO objective (Liu et al. 2025, "Understanding R1-Zero-Like Training") divides Σ_i Σ_t by the constant G·L with
L = ``max_completion_length`` (TRL 1.16: ``per_token_loss.size(0) * self.max_completion_length``);
it stays max_i B_i for every sequence, never a per-sequence length.

With vLLM the same cut applies after generation (TRL passes one ``max_tokens`` to vLLM), so an
exam with B_i < max B still samples up to max B tokens: extra generation, never extra reward or
gradient. ``check_trl_internals`` fails loudly, naming the method, if TRL moves these seams.

Run example: ``python -c "from roi_reasoning.training.rarl_trainer import check_trl_internals as c; c()"``
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Sequence
from typing import Any

import trl
from packaging.version import Version
from trl import GRPOTrainer

TESTED_TRL = (Version("1.16"), Version("1.17"))  # [low, high): the pyproject pin "trl>=1.16,<1.17"
# logged metric: the mean over groups of the reward std within a group (TRL's ``reward_std`` is
# the std over the whole batch, ``frac_reward_zero_std`` the share of groups with std 0)
GROUP_STD = "reward_group_std"


def exam_budget(exam: Any) -> int:
    """B of one ``exam`` dataset cell (JSON string or dict, see ``rewards.exam_column``)."""
    row = json.loads(exam) if isinstance(exam, str) else exam
    return int(row["budget"])


def group_reward_std(rewards_per_func: Any, weights: Any, group: int) -> float:
    """Mean over groups of ``group`` consecutive completions (one prompt's) of the std
    (Bessel-corrected, NaN-aware, as TRL's ``nanstd``) of the weighted reward TRL logs as
    ``reward``; rows every reward function left unscored are NaN, as in TRL. NaN when no group
    has two scored rows (TRL's ``log`` then drops it); 0.0 for groups of one."""
    import torch
    from trl.trainer.utils import nanstd

    rewards = (rewards_per_func * weights.to(rewards_per_func.device).unsqueeze(0)).nansum(dim=1)
    rewards[torch.isnan(rewards_per_func).all(dim=1)] = torch.nan
    if group < 2:
        return 0.0
    return torch.nanmean(nanstd(rewards.view(-1, group), dim=1)).item()


def cut_at_budgets(
    completion_ids: Sequence[Sequence[int]],
    logprobs: Sequence[Sequence[Any]] | None,
    budgets: Sequence[int],
) -> tuple[list[list[int]], list[list[Any]] | None]:
    """The first B_i ids (and sampling logprobs) of completion i; an EOS past B_i is dropped."""
    if len(completion_ids) != len(budgets):
        raise RuntimeError(
            f"BudgetGRPOTrainer: {len(completion_ids)} completions for {len(budgets)} exam budgets"
        )
    ids = [list(c[:b]) for c, b in zip(completion_ids, budgets, strict=True)]
    if logprobs is None:
        return ids, None
    return ids, [list(lp[:b]) for lp, b in zip(logprobs, budgets, strict=True)]


class BudgetGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` that cuts completion i at ``exam_i.budget`` tokens before reward and loss,
    adds ``pending_logs`` (the validation reward, ``training.curve``) to its next log call and logs
    ``GROUP_STD``, the reward std within groups, beside TRL's reward metrics."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        check_trl_internals(strict_version=False)
        super().__init__(*args, **kwargs)
        if self.rollout_func is not None or self.tools:
            raise ValueError("BudgetGRPOTrainer supports neither rollout_func nor tools")
        if self.mask_truncated_completions:
            # a budget-cut exam is a truncated completion whose reward still counts (0 or not)
            raise ValueError("BudgetGRPOTrainer needs mask_truncated_completions=False")
        self._exam_budgets: list[int] | None = None
        self.pending_logs: dict[str, float] = {}  # validation metrics for the next ``log``

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        # transformers' documented extension point: report_to callbacks see these keys too
        logs.update(self.pending_logs)
        self.pending_logs = {}
        super().log(logs, start_time)

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        if any("exam" not in x for x in inputs):
            raise KeyError("BudgetGRPOTrainer needs an 'exam' dataset column (rewards.exam_column)")
        self._exam_budgets = [exam_budget(x["exam"]) for x in inputs]
        try:
            return super()._generate_and_score_completions(inputs)
        finally:
            self._exam_budgets = None  # never reuse one batch's budgets for another

    def _calculate_rewards(self, inputs: Any, prompts: Any, completions: Any, ids: Any) -> Any:
        # TRL returns the rewards gathered from every process, groups contiguous (its own
        # grouping: ``rewards.view(-1, num_generations)``)
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, ids)
        assert self.model is not None  # GRPOTrainer.__init__ requires a model
        mode = "train" if self.model.training else "eval"
        group = self.num_generations if mode == "train" else self.num_generations_eval
        assert group is not None  # GRPOTrainer sets num_generations_eval (else num_generations)
        std = group_reward_std(rewards_per_func, self.reward_weights, group)
        self._metrics[mode][GROUP_STD].append(std)
        return rewards_per_func

    def _generate_single_turn(self, *args: Any, **kwargs: Any) -> tuple[list[list[int]], Any]:
        completion_ids, logprobs = super()._generate_single_turn(*args, **kwargs)
        if self._exam_budgets is None:
            raise RuntimeError(
                "BudgetGRPOTrainer._generate_single_turn ran outside _generate_and_score_completions"
            )
        return cut_at_budgets(completion_ids, logprobs, self._exam_budgets)


def _params(fn: Any) -> list[str]:
    return list(inspect.signature(fn).parameters)


def _source(fn: Any) -> str:
    return inspect.getsource(fn)


def check_trl_internals(
    cls: type[GRPOTrainer] = GRPOTrainer, *, strict_version: bool = True
) -> None:
    """Raise ``RuntimeError`` naming the ``GRPOTrainer`` method whose TRL internals we rely on
    changed (signatures, the order generation → mask → reward, the Dr. GRPO normaliser).
    A TRL version outside ``TESTED_TRL`` raises when ``strict_version``, else warns."""
    low, high = TESTED_TRL
    version = Version(trl.__version__)
    if not low <= version < high:
        msg = f"BudgetGRPOTrainer was tested with trl>={low},<{high}; found {version}"
        if strict_version:
            raise RuntimeError(msg)
        warnings.warn(msg, stacklevel=2)

    def fail(method: str, why: str) -> None:
        raise RuntimeError(f"TRL changed GRPOTrainer.{method}: {why}; update rarl_trainer.py")

    hooked = ("_generate_and_score_completions", "_generate", "_generate_single_turn")
    for method in (*hooked, "_calculate_rewards"):
        if not callable(getattr(cls, method, None)):
            fail(method, "method missing")
    if _params(cls._generate_and_score_completions) != ["self", "inputs"]:
        fail("_generate_and_score_completions", "signature is not (self, inputs)")
    want = ["self", "inputs", "prompts", "completions", "completion_ids_list"]
    if _params(cls._calculate_rewards) != want:
        fail("_calculate_rewards", f"signature is not {want}")
    want = ["self", "prompt_ids", "images", "multimodal_fields", "num_generations"]
    if _params(cls._generate_single_turn)[:5] != want:
        fail("_generate_single_turn", f"signature does not start with {want}")
    if "completion_ids, logprobs = self._generate_single_turn(" not in _source(cls._generate):
        fail("_generate", "no longer takes (completion_ids, logprobs) from _generate_single_turn")
    score = _source(cls._generate_and_score_completions)
    steps = [
        "= self._generate(prompts)",
        "completion_mask = [torch.ones_like(ids, dtype=torch.long) for ids in completion_ids]",
        "self._calculate_rewards(inputs, prompts, completions, completion_ids_list)",
    ]
    at = [score.find(s) for s in steps]
    if -1 in at or at != sorted(at):
        fail("_generate_and_score_completions", f"expected, in order: {steps}")
    loss = _source(cls._compute_loss)
    if "per_token_loss.size(0) * self.max_completion_length" not in loss:
        fail("_compute_loss", "dr_grpo no longer divides by the constant max_completion_length")
    # training.curve.colocated_engine validates on TRL's vLLM engine after the same weight sync
    sync = "if self.state.global_step != self._last_loaded_step:"
    if sync not in _source(cls._generate_single_turn):
        fail("_generate_single_turn", "vLLM weight sync no longer tagged by _last_loaded_step")
