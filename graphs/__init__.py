"""Graph builders (compile late: with the Postgres checkpointer here, without it for the LangGraph server)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langgraph.graph import StateGraph


def build_supervisor() -> StateGraph:
    """The supervisor graph builder (see :mod:`graphs.supervisor`)."""
    from graphs.supervisor import build_supervisor as build

    return build()
