"""The feedback agent: what production users complain about, and new evaluation scenarios from it.

``agent.py``, ``models.py`` (trends, themes, ideas, report, request), ``offline.py`` (scenario ideas from the
themes' exemplars), ``render.py`` (summary, Markdown, HTML). Prompt: ``agents/prompts/feedback.md``.
"""
