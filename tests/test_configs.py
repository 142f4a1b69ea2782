"""Every shipped YAML recipe loads into its config dataclass (no unknown or missing keys)."""

from pathlib import Path

import pytest

from roi_reasoning.config import load_config
from roi_reasoning.data import DataError
from roi_reasoning.evaluate import EvalConfig
from roi_reasoning.mft import MFTTrainConfig
from roi_reasoning.rarl import RARLConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
KINDS = {"mft": MFTTrainConfig, "rarl": RARLConfig, "eval": EvalConfig}


@pytest.mark.parametrize(
    "path", sorted(CONFIGS.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_recipe_loads(path):
    cls = KINDS[path.parent.name]
    overrides = {"out": "x"} if cls is EvalConfig else {}
    cfg = load_config(cls, path, overrides)
    assert isinstance(cfg, cls)


def test_bad_yaml_names_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: a\nout: [unclosed\n")
    with pytest.raises(DataError, match=rf"{bad}:\d+: bad YAML"):
        load_config(MFTTrainConfig, bad, {})
    missing = tmp_path / "missing.yaml"
    missing.write_text("out: x\n")
    with pytest.raises(DataError, match=r"missing required setting\(s\) \['model', 'dataset'\]"):
        load_config(MFTTrainConfig, missing, {})
