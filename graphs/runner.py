"""Driving lifecycle threads from code: start, find pending gates, decide, and list threads.

Used by the CLI (``opsgraph pipeline``/``approvals``) and the chat app; a decision resumes the thread in the
calling process and runs it to its next gate (or the end).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.types import Command

from core.lifecycle_config import DEFAULTS, LifecycleConfig, graph_config
from graphs.lifecycle import build_lifecycle
from graphs.persistence import postgres_checkpointer
from graphs.threads import ThreadKind, register_thread


@contextmanager
def lifecycle_graph() -> Iterator[Any]:
    """The lifecycle graph compiled with the Postgres checkpointer."""
    with postgres_checkpointer() as saver:
        yield build_lifecycle().compile(checkpointer=saver)


@contextmanager
def gated_graphs() -> Iterator[dict[ThreadKind, Any]]:
    """Both graphs whose threads wait at gates, compiled on one Postgres checkpointer, by thread kind."""
    from graphs.supervisor import build_supervisor

    with postgres_checkpointer() as saver:
        yield {"lifecycle": build_lifecycle().compile(checkpointer=saver),
               "conversation": build_supervisor().compile(checkpointer=saver)}


def pending(graph: Any, thread_id: str) -> dict[str, Any] | None:
    """The approval request a thread waits on, or None when it is not paused at a gate."""
    state = graph.get_state(graph_config(thread_id))
    for task in state.tasks:
        for intr in task.interrupts:
            return {"thread_id": thread_id, **intr.value}
    return None


class GatePending(RuntimeError):
    """A thread waits at a gate: a new message would abandon it, so it is decided first."""

    def __init__(self, thread_id: str, request: dict[str, Any]) -> None:
        super().__init__(f"thread {thread_id} waits for a decision at the {request['stage_from']} -> "
                         f"{request['stage_to']} gate (gate #{request.get('gate_seq', 0)}): decide it first "
                         f"(approve, reject or revise)")
        self.request = request


def say(graph: Any, thread_id: str, text: str, config: LifecycleConfig = DEFAULTS) -> dict[str, Any]:
    """One message to a conversation thread; raises :class:`GatePending` when the thread waits at a gate (a new
    input would abandon the pending gate)."""
    from langchain_core.messages import HumanMessage

    if (request := pending(graph, thread_id)) is not None:
        raise GatePending(thread_id, request)
    return graph.invoke({"messages": [HumanMessage(text)]}, graph_config(thread_id, config),  # type: ignore[no-any-return]
                        context=config)


def start(graph: Any, thread_id: str, inputs: dict[str, Any],
          config: LifecycleConfig = DEFAULTS) -> dict[str, Any] | None:
    """Start a lifecycle run (the project row is created by the graph); ``config`` fills what ``inputs`` leave out.
    Returns the first pending gate."""
    from graphs.projects import ensure_project

    ensure_project(inputs["project_id"])
    register_thread(thread_id, inputs["project_id"])
    graph.invoke(inputs, graph_config(thread_id, config), context=config)
    return pending(graph, thread_id)


def decide(graph: Any, thread_id: str, decision: dict[str, Any],
           config: LifecycleConfig = DEFAULTS) -> dict[str, Any] | None:
    """Resume a paused thread with a decision; returns the next pending gate (or None at the end).

    An invalid decision leaves the thread paused at the same gate, with the error in the returned request.
    """
    if pending(graph, thread_id) is None:
        raise LookupError(f"thread {thread_id} is not waiting at a gate")
    graph.invoke(Command(resume=decision), graph_config(thread_id, config), context=config)
    return pending(graph, thread_id)


def state_values(graph: Any, thread_id: str) -> dict[str, Any]:
    """The current state of a thread."""
    return dict(graph.get_state(graph_config(thread_id)).values)
