"""Graph state, in one module: typed, with explicit reducers; nodes return partial updates."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: later keys win; used for conversation context carried across turns."""
    return {**(left or {}), **(right or {})}


class SupervisorInput(TypedDict):
    """What a caller sends: the conversation so far (usually one new human message)."""

    messages: Annotated[list[AnyMessage], add_messages]


class SupervisorState(TypedDict, total=False):
    """State of a supervisor thread (multi-turn: messages and context persist in the checkpointer)."""

    messages: Annotated[list[AnyMessage], add_messages]
    route: dict[str, Any]
    answer: dict[str, Any]
    context: Annotated[dict[str, Any], merge_dicts]
    evidence: list[dict[str, Any]]


class SupervisorOutput(TypedDict, total=False):
    """What a caller gets back."""

    messages: list[AnyMessage]
    route: dict[str, Any]
    answer: dict[str, Any]
