"""Evaluation: ``roi eval`` runs prompting methods over budgeted exams and writes samples and
results (``evaluate``).

Run example: ``roi eval --policy scripted --count 10 --out runs/eval``
"""

LAYER = "stages"  # read by tests/test_layering.py
