"""Graphs exported for the LangGraph server (``langgraph.json``): compiled without a checkpointer, because the
server supplies its own persistence."""

from __future__ import annotations

from graphs.lifecycle import build_lifecycle
from graphs.supervisor import build_supervisor

supervisor = build_supervisor().compile()
lifecycle = build_lifecycle().compile()
