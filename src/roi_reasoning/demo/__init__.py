"""``roi demo``: the demo's settings (``config``) and the paper's pipeline on the embedded world
(``pipeline``).

Run example: ``roi demo --out runs/demo``
"""

LAYER = "app"  # read by tests/test_layering.py
