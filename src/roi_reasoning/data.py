"""Load and validate problem sets: JSONL files (the layout of ``shared/data``), Hugging Face
``datasets`` ids (imported lazily), and named difficulty tiers.

Run example: ``python -c "from roi_reasoning.data import load_tier, DEFAULT_TIERS; print(len(load_tier(DEFAULT_TIERS['hard'])))"``
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from roi_reasoning.errors import ConfigError, DataError, MissingExtra
from roi_reasoning.inputs import BadValue, parse_json
from roi_reasoning.records import Problem


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
        raise ConfigError(
            "--tier",
            f"bad tier {arg!r}: expected NAME=SOURCE[#level>=K], e.g. medium=math500/test.jsonl#level>=3",
        )
    k = int(m["k"]) if m["k"] else None
    lo = k if m["op"] in (">=", "=") else None
    hi = k if m["op"] in ("<=", "=") else None
    return m["name"], TierSpec(m["source"].strip(), min_level=lo, max_level=hi)


def check_tiers(tiers: Any, key: str = "tiers") -> dict[str, TierSpec]:
    """Config ``tiers`` (name → TierSpec fields) checked key by key; ConfigError names the key."""
    if not isinstance(tiers, dict) or not tiers:
        raise ConfigError(key, f"expected a non-empty mapping of tier name → spec, got {tiers!r}")
    specs = {}
    valid = list(TierSpec.__dataclass_fields__)
    for name, spec in tiers.items():
        where = f"{key}.{name}"
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(key, f"tier names must be non-empty strings, got {name!r}")
        if not isinstance(spec, dict):
            raise ConfigError(where, f"expected a mapping with 'source', got {spec!r}")
        unknown = sorted(set(spec) - set(valid))
        if unknown:
            raise ConfigError(where, f"unknown key(s) {unknown}; valid: {valid}")
        source = spec.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(f"{where}.source", f"expected a non-empty string, got {source!r}")
        for bound in ("min_level", "max_level"):
            v = spec.get(bound)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise ConfigError(f"{where}.{bound}", f"expected an integer or null, got {v!r}")
        cols = spec.get("columns", {})
        if not isinstance(cols, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in cols.items()
        ):
            raise ConfigError(
                f"{where}.columns", f"expected a string → string mapping, got {cols!r}"
            )
        lo, hi = spec.get("min_level"), spec.get("max_level")
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(where, f"min_level {lo} > max_level {hi}: keeps nothing")
        specs[name] = TierSpec(**spec)
    return specs


def default_tiers() -> dict[str, dict[str, Any]]:
    """The paper's tiers as config values (name → TierSpec fields): every config's default."""
    return {name: asdict(spec) for name, spec in DEFAULT_TIERS.items()}


def load_tiers(tiers: Any, key: str = "tiers") -> dict[str, list[Problem]]:
    """The one tier loader: config ``tiers`` checked (``check_tiers``), then each tier's problems
    (``load_tier``), in the config's order."""
    return {name: load_tier(spec, name) for name, spec in check_tiers(tiers, key).items()}


def tier_files(tiers: dict[str, TierSpec]) -> dict[str, Path]:
    """The local file behind each JSONL tier (HF tiers have none)."""
    return {
        name: resolve_path(spec.source)
        for name, spec in tiers.items()
        if not spec.source.startswith("hf:")
    }


def cache_root() -> Path:
    """Where built artefacts are cached (world models, converted checkpoints): ``$ROI_CACHE``,
    else ``~/.cache/roi-reasoning``."""
    return Path(os.environ.get("ROI_CACHE", Path.home() / ".cache" / "roi-reasoning"))


def data_dir() -> Path:
    """The benchmark data directory: ``$ROI_DATA_DIR``, else the nearest ``shared/data`` or
    ``data`` folder (holding ``README.md`` and ``gsm8k/``) at or above the working directory (the
    layout of a checkout beside ``shared/``)."""
    env = os.environ.get("ROI_DATA_DIR")
    if env:
        return Path(env)
    for base in (Path.cwd(), *Path.cwd().parents):
        for cand in (base / "shared" / "data", base / "data"):
            if (cand / "README.md").exists() and (cand / "gsm8k").is_dir():
                return cand
    raise FileNotFoundError(
        "benchmark data not found: set ROI_DATA_DIR to the folder holding gsm8k/, math500/, aime24/"
    )


def resolve_path(source: str) -> Path:
    path = Path(source).expanduser()
    if path.is_absolute() or path.exists():
        return path
    return data_dir() / path


def _row_to_problem(row: Any, path: str | os.PathLike[str], line: int) -> Problem:
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


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes, opened read-only; OS errors become one DataError naming the path."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except IsADirectoryError:
        raise DataError(path, None, "is a directory; expected a file") from None
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    except OSError as exc:
        raise DataError(path, None, f"cannot read: {exc.strerror or exc}") from None


def _decode(path: str | os.PathLike[str], lineno: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            path, lineno, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None


def read_jsonl(path: str | os.PathLike[str]) -> list[tuple[int, Any]]:
    """(line number, parsed JSON) for every non-blank line; DataError on bad UTF-8 or JSON.
    Read-only."""
    out = []
    for lineno, raw in enumerate(_read_bytes(path).splitlines(keepends=True), start=1):
        text = _decode(path, lineno, raw)
        if not text.strip():
            continue
        try:
            out.append((lineno, parse_json(text)))
        except BadValue as exc:
            raise DataError(path, lineno, str(exc)) from None
    return out


def _scan_records(
    path: str | os.PathLike[str], data: bytes
) -> tuple[list[tuple[int, dict[str, Any]]], int, DataError | None]:
    """Parse append-only JSONL records: (line number, record) pairs, the byte offset where the
    good records end, and the error of a bad *last* line (None if it is fine). A bad line
    before the last one is raised at once: that is corruption, not a torn append."""
    rows: list[tuple[int, dict[str, Any]]] = []
    lines = data.splitlines(keepends=True)
    good_end = 0
    for lineno, raw in enumerate(lines, start=1):
        problem, row = _parse_record(path, lineno, raw)
        if problem is not None:
            if lineno < len(lines):
                raise DataError(path, lineno, problem)
            what = "truncated last line" if not raw.endswith(b"\n") else "malformed last line"
            return rows, good_end, DataError(path, lineno, f"{what}: {problem}")
        if row is not None:
            rows.append((lineno, row))
        good_end += len(raw)
    return rows, good_end, None


def _parse_record(
    path: str | os.PathLike[str], lineno: int, raw: bytes
) -> tuple[str | None, dict[str, Any] | None]:
    """(problem, None) for a bad line, (None, record) for a good one, (None, None) if blank."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 ({exc.reason} at byte {exc.start})", None
    if not text.strip():
        return None, None
    try:
        row = parse_json(text)
    except BadValue as exc:
        return str(exc), None
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}", None
    return None, row


def read_record_lines(
    path: str | os.PathLike[str], *, allow_torn_tail: bool = False
) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) of a JSONL file of objects, strictly read-only. A malformed line is
    a DataError naming file and line, the last line included, unless ``allow_torn_tail``
    (a run still writing the file): then a bad last line is skipped, never cut from the file."""
    rows, _, tail = _scan_records(path, _read_bytes(path))
    if tail is not None and not allow_torn_tail:
        raise tail
    return rows


def read_records(
    path: str | os.PathLike[str], *, allow_torn_tail: bool = False
) -> list[dict[str, Any]]:
    """The records of a JSONL file (see ``read_record_lines``); a missing file has none."""
    if not Path(path).exists():
        return []
    return [row for _, row in read_record_lines(path, allow_torn_tail=allow_torn_tail)]


def repair_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Records of a run's *own* append-only output, made resumable: a last line torn by a crash
    mid-write (no newline, or not JSON) is cut off so the rerun redoes it. Use only on files
    this process appends to; inputs are read with ``read_records``."""
    p = Path(path)
    if not p.exists():
        return []
    data = _read_bytes(p)
    rows, good_end, _ = _scan_records(p, data)
    if good_end == len(data) and data and not data.endswith(b"\n"):
        good_end = data.rfind(b"\n") + 1  # a last record without its newline: torn, redo it
        rows = [(n, r) for n, r in rows if n <= data[:good_end].count(b"\n")]
    if good_end != len(data):
        with open(p, "r+b") as fh:
            fh.truncate(good_end)
    return [row for _, row in rows]


def load_jsonl(path: str | os.PathLike[str]) -> list[Problem]:
    """Problems from a JSONL file, validated; duplicate ids are an error."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
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
        raise MissingExtra("HF dataset tiers", "hf") from exc
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
