"""Load and validate problem sets: JSONL files (the layout of ``shared/data``), Hugging Face
``datasets`` ids (imported lazily), and named difficulty tiers.

Run example: ``python -c "from roi_reasoning.data import load_tier, DEFAULT_TIERS; print(len(load_tier(DEFAULT_TIERS['hard'])))"``
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roi_reasoning.records import Problem


class DataError(ValueError):
    """Bad input. The message names the file and line; the CLI exits with code 2."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class TierSpec:
    """Where a tier's problems come from and which of them it keeps.

    ``source`` is a JSONL path (absolute, or relative to the data directory) or
    ``hf:<dataset id>[:<config>]@<split>``; ``columns`` maps our field names to the dataset's
    (e.g. ``{"question": "problem"}``) for HF sources.
    """

    source: str
    min_level: int | None = None
    max_level: int | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def keeps(self, problem: Problem) -> bool:
        if self.min_level is None and self.max_level is None:
            return True
        if problem.level is None:
            return False
        lo = self.min_level if self.min_level is not None else problem.level
        hi = self.max_level if self.max_level is not None else problem.level
        return lo <= problem.level <= hi


# The paper's tiers: easy = GSM8K, medium = MATH (levels 3-5 of MATH-500), hard = AIME 2024.
DEFAULT_TIERS: dict[str, TierSpec] = {
    "easy": TierSpec("gsm8k/test.jsonl"),
    "medium": TierSpec("math500/test.jsonl", min_level=3),
    "hard": TierSpec("aime24/test.jsonl"),
}

_TIER_ARG = re.compile(r"^(?P<name>[\w-]+)=(?P<source>[^#]+)(?:#level(?P<op>>=|<=|=)(?P<k>\d+))?$")


def parse_tier_arg(arg: str) -> tuple[str, TierSpec]:
    """Parse ``NAME=SOURCE[#level>=K|#level<=K|#level=K]`` from the command line."""
    m = _TIER_ARG.match(arg.strip())
    if m is None:
        raise ValueError(
            f"bad tier {arg!r}: expected NAME=SOURCE[#level>=K], e.g. medium=math/test.jsonl#level>=3"
        )
    k = int(m["k"]) if m["k"] else None
    lo = k if m["op"] in (">=", "=") else None
    hi = k if m["op"] in ("<=", "=") else None
    return m["name"], TierSpec(m["source"].strip(), min_level=lo, max_level=hi)


def data_dir() -> Path:
    """The benchmark data directory: ``$ROI_DATA_DIR``, else the nearest ``shared/data`` above
    the working directory (the layout of a checkout beside ``shared/``)."""
    env = os.environ.get("ROI_DATA_DIR")
    if env:
        return Path(env)
    for base in (Path.cwd(), *Path.cwd().parents):
        for cand in (base / "shared" / "data", base / "data"):
            if (cand / "README.md").exists() and (cand / "gsm8k").is_dir():
                return cand
    raise FileNotFoundError(
        "benchmark data not found: set ROI_DATA_DIR to the folder holding gsm8k/, math/, aime24/"
    )


def resolve_path(source: str) -> Path:
    path = Path(source).expanduser()
    if path.is_absolute() or path.exists():
        return path
    return data_dir() / path


def _row_to_problem(row: Any, path: Path | str, line: int) -> Problem:
    if not isinstance(row, dict):
        raise DataError(path, line, f"expected a JSON object, got {type(row).__name__}")
    for key in ("question", "answer"):
        if key not in row:
            raise DataError(path, line, f"missing required field {key!r}")
    question, answer = row["question"], row["answer"]
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)
    if not isinstance(question, str) or not question.strip():
        raise DataError(path, line, "'question' must be a non-empty string")
    if not isinstance(answer, str) or not answer.strip():
        raise DataError(path, line, "'answer' must be a non-empty string")
    level = row.get("level")
    if level is not None and (isinstance(level, bool) or not isinstance(level, int)):
        raise DataError(path, line, f"'level' must be an integer or null, got {level!r}")
    return Problem(
        id=str(row.get("id", f"{Path(str(path)).stem}-{line}")),
        question=question,
        answer=answer.strip(),
        source=str(row.get("source", "")),
        level=level,
        solution=str(row.get("solution") or ""),
    )


def read_jsonl(path: str | os.PathLike[str]) -> list[tuple[int, Any]]:
    """(line number, parsed JSON) for every non-blank line; DataError on bad UTF-8 or JSON."""
    out = []
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    path, lineno, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
                ) from None
            if not text.strip():
                continue
            try:
                out.append((lineno, json.loads(text)))
            except json.JSONDecodeError as exc:
                raise DataError(
                    path, lineno, f"malformed JSON: {exc.msg} (column {exc.colno})"
                ) from None
    return out


def load_jsonl(path: str | os.PathLike[str]) -> list[Problem]:
    """Problems from a JSONL file, validated; duplicate ids are an error."""
    problems, seen = [], {}
    for lineno, row in read_jsonl(path):
        problem = _row_to_problem(row, path, lineno)
        if problem.id in seen:
            raise DataError(
                path, lineno, f"duplicate id {problem.id!r} (first on line {seen[problem.id]})"
            )
        seen[problem.id] = lineno
        problems.append(problem)
    if not problems:
        raise DataError(path, None, "no problems in file")
    return problems


def load_hf(source: str, columns: dict[str, str]) -> list[Problem]:
    """Problems from ``hf:<id>[:<config>]@<split>``; needs the ``datasets`` package (extra ``hf``)."""
    spec, _, split = source[len("hf:") :].partition("@")
    name, _, config = spec.partition(":")
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("HF dataset tiers need `pip install roi-reasoning[hf]`") from exc
    ds = datasets.load_dataset(name, config or None, split=split or "test")
    problems = []
    for i, row in enumerate(ds):
        mapped = {ours: row[theirs] for ours, theirs in columns.items()}
        merged = {**{k: v for k, v in row.items() if k in Problem.__dataclass_fields__}, **mapped}
        merged.setdefault("id", f"{name}-{split}-{i}")
        problems.append(_row_to_problem(merged, source, i + 1))
    return problems


def load_tier(spec: TierSpec, tier: str = "") -> list[Problem]:
    """The problems of one tier, filtered, each tagged with the tier name."""
    if spec.source.startswith("hf:"):
        problems = load_hf(spec.source, spec.columns)
    else:
        problems = load_jsonl(resolve_path(spec.source))
    kept = [Problem(**{**p.to_dict(), "tier": tier}) for p in problems if spec.keeps(p)]
    if not kept:
        raise DataError(spec.source, None, f"tier {tier!r} keeps no problems (filter {spec})")
    return kept
