"""The analyst: a report of what to expect from one agent in production, from its judged conversations.

``agent.py``, ``models.py`` (summary, report, requests), ``offline.py`` (findings and follow-up answers from the
aggregates). Prompt: ``agents/prompts/analyst.md``.
"""
