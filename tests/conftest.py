"""Shared fixtures: the benchmark data directory and a tokenizer built locally (no hub)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from roi_reasoning.testing import build_chat_tokenizer, build_tokenizer

REPO = Path(__file__).resolve().parents[1]


def find_data_dir() -> Path:
    env = os.environ.get("ROI_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates += [p / "shared" / "data" for p in REPO.parents]
    for cand in candidates:
        if (cand / "gsm8k" / "test.jsonl").exists():
            return cand
    raise RuntimeError("benchmark data not found: set ROI_DATA_DIR (see README)")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return find_data_dir()


@pytest.fixture(autouse=True)
def _roi_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROI_DATA_DIR", str(find_data_dir()))


@pytest.fixture(scope="session")
def tokenizer():
    return build_tokenizer("bytelevel")


@pytest.fixture(scope="session")
def chat_tokenizer():
    return build_chat_tokenizer()
