"""The comparator: is a candidate version better than the baseline on the same scenarios?

``agent.py``, ``models.py`` (report, request), ``offline.py`` (the numbers-based recommendation). Prompt:
``agents/prompts/comparator.md``.
"""
