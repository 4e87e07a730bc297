"""The debugging agents (failure, performance, general): tools gather evidence, then a diagnosis.

``agent.py`` (the tool loop), ``entities.py`` (models, use cases, dates in a question; follow-ups), ``models.py``
(the conversation context; the answer is ``core.diagnosis.Diagnosis``), ``offline.py`` (tool planners and the
diagnosis composer). Prompts: ``agents/prompts/failure.md``, ``performance.md``, ``general.md``.
"""
