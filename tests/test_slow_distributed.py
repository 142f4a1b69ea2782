"""Scale-out on CPU: a 2-process `accelerate launch` RARL run (gloo), tiny model, one step."""

import os
import subprocess
import sys

import pytest

from roi_reasoning.testing import tiny_causal_lm

pytestmark = pytest.mark.slow


def test_two_process_accelerate_rarl(tmp_path, chat_tokenizer):
    model_dir = tmp_path / "tiny"
    tiny_causal_lm(chat_tokenizer).save_pretrained(model_dir)
    chat_tokenizer.save_pretrained(model_dir)
    recipe = tmp_path / "rarl.yaml"
    recipe.write_text(
        f"model: {model_dir}\nout: {tmp_path / 'rarl'}\nbudgets: [8, 16]\nlevel_bounds: [8, 16, 24]\n"
        "count: 2\nnum_generations: 4\nper_device_train_batch_size: 4\nmax_steps: 2\nlearning_rate: 1.0e-3\n"
        "save_steps: 1000\n"
    )
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",  # torchrun-style launcher; with no CUDA, accelerate uses gloo on CPU
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "roi_reasoning.cli",
        "rarl",
        "train",
        "--config",
        str(recipe),
    ]
    # CPU processes on any machine: on a 1-GPU box both would claim the one device
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "rarl" / "final" / "config.json").exists()
    sizes = sorted(line for line in proc.stderr.splitlines() if line.startswith("RARL: process"))
    assert sizes == ["RARL: process 0 of world size 2", "RARL: process 1 of world size 2"], sizes
