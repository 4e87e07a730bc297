"""Graphs exported for the LangGraph server (``langgraph.json``): compiled without a checkpointer, because the
server supplies its own persistence. This module is an entry point: it registers the offline handlers first."""

from __future__ import annotations

from agents.setup import register_offline_handlers
from graphs.lifecycle import build_lifecycle
from graphs.supervisor import build_supervisor

register_offline_handlers()

supervisor = build_supervisor().compile()
lifecycle = build_lifecycle().compile()
