"""Reporting: ``results.json`` loading (``data``), the report's sections (``sections``), the
RARL learning curve (``curve``), plots (``plots``, matplotlib) and the ``report.md`` writer
(``writer``). Pure Python: no torch.

Run example: ``roi report runs/eval --out runs/eval/report.md``
"""

LAYER = "core"  # read by tests/test_layering.py
