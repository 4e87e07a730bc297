"""The dataset builder: scenario categories and scenarios for a target, revised on a person's instructions.

``agent.py``, ``models.py`` (drafts, revision plans, requests), ``offline.py`` (drafts and plans computed from the
request), ``scenario_bank.py`` (the catalogue of categories and situations). Prompt:
``agents/prompts/dataset_builder.md``.
"""
