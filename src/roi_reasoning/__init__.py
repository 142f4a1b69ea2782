"""roi-reasoning: budget-aware LLM reasoning under one hard token budget (arXiv 2601.03822).

Run example: ``roi exams build --n 3 --budgets 512 --count 10 --out exams.jsonl``
"""

__version__ = "0.1.0"
