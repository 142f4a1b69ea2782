"""Training stages: profile the base model (``profiling``), build and run MFT (``mft_data``,
``mft``), run RARL (``rarl``, its TRL trainer ``rarl_trainer``, its validation ``curve``), the
seam to TRL's configs (``trl_args``) and crash-safe training outputs (``checkpoints``).

Run example: ``roi mft train --config configs/mft/world.yaml``
"""

LAYER = "stages"  # read by tests/test_layering.py
