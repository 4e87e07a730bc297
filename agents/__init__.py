"""opsgraph's agents: one folder per agent, the registry of the nine (``registry.py``) and the one offline
registration step (``setup.py``); see docs/architecture.md."""
