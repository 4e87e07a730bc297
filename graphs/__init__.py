"""Graph builders (compile late: with the Postgres checkpointer in the CLI, chat and tests; without one for the
LangGraph server, ``graphs/server.py``)."""
