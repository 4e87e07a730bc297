"""The simulator: multi-turn conversations between the simulated user and a target agent.

``agent.py`` (runs and checkpoints conversations), ``simulated_user.py`` (the simulated user's model call),
``models.py`` (its move and request), ``offline.py`` (the persona played deterministically). Prompt:
``agents/prompts/simulator_user.md``.
"""
