"""The judge: scores each simulated conversation against its scenario with a rubric.

``agent.py``, ``models.py`` (verdict, request), ``offline.py`` (the rubric verdict), ``rubric.py`` (requirements
and detectors), ``agreement.py`` (agreement with labelled traces). Prompt: ``agents/prompts/judge.md``.
"""
