"""The six lifecycle agents in the chat: how a person's request becomes their tool calls (offline) and the context
their models read. The tools themselves and the tool loop live in :mod:`graphs.lifecycle_agents`; the prompt is
``agents/prompts/lifecycle_chat.md``."""

PROMPT = "lifecycle_chat"
