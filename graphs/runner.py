"""Driving lifecycle threads from code: start, find pending gates, decide, and list threads.

Used by the CLI (``opsgraph pipeline``/``approvals``) and the chat app; a decision resumes the thread in the
calling process and runs it to its next gate (or the end).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.types import Command

from core.db import connect
from core.lifecycle_config import DEFAULTS, LifecycleConfig, graph_config
from graphs.lifecycle import build_lifecycle
from graphs.persistence import postgres_checkpointer


@contextmanager
def lifecycle_graph() -> Iterator[Any]:
    """The lifecycle graph compiled with the Postgres checkpointer."""
    with postgres_checkpointer() as saver:
        yield build_lifecycle().compile(checkpointer=saver)


def register_thread(thread_id: str, project_id: str) -> None:
    """Remember a lifecycle thread so pending gates can be listed."""
    with connect() as conn:
        conn.execute("INSERT INTO stage_runs (project_id, thread_id, stage, status) "
                     "SELECT %s, %s, 'lifecycle', 'started' WHERE NOT EXISTS (SELECT 1 FROM stage_runs "
                     "WHERE thread_id = %s AND stage = 'lifecycle')", (project_id, thread_id, thread_id))


def pending(graph: Any, thread_id: str) -> dict[str, Any] | None:
    """The approval request a thread waits on, or None when it is not paused at a gate."""
    state = graph.get_state(graph_config(thread_id))
    for task in state.tasks:
        for intr in task.interrupts:
            return {"thread_id": thread_id, **intr.value}
    return None


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


def threads(project_id: str | None = None) -> list[dict[str, Any]]:
    """Known lifecycle threads (newest first)."""
    with connect() as conn:
        return list(conn.execute("SELECT project_id, thread_id, started_at FROM stage_runs WHERE stage = 'lifecycle' "
                                 "AND (%s::text IS NULL OR project_id = %s) ORDER BY started_at DESC",
                                 (project_id, project_id)).fetchall())


def state_values(graph: Any, thread_id: str) -> dict[str, Any]:
    """The current state of a thread."""
    return dict(graph.get_state(graph_config(thread_id)).values)
