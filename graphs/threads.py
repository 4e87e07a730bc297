"""Threads that can wait at a gate: batch lifecycle runs and conversations (supervisor threads), by project.

Both kinds are listed by ``opsgraph approvals`` and the chat's ``/approvals``; ``kind`` says which graph holds
the thread's checkpoints.
"""

from __future__ import annotations

from typing import Any, Literal

from core.db import connect

ThreadKind = Literal["lifecycle", "conversation"]
KINDS: tuple[ThreadKind, ...] = ("lifecycle", "conversation")


def register_thread(thread_id: str, project_id: str, kind: ThreadKind = "lifecycle") -> None:
    """Remember a thread so its pending gates can be listed (idempotent)."""
    with connect() as conn:
        conn.execute("INSERT INTO stage_runs (project_id, thread_id, stage, status) "
                     "SELECT %s, %s, %s, 'started' WHERE NOT EXISTS (SELECT 1 FROM stage_runs "
                     "WHERE thread_id = %s AND stage = %s)", (project_id, thread_id, kind, thread_id, kind))


def threads(project_id: str | None = None) -> list[dict[str, Any]]:
    """Known threads of both kinds (newest first): project_id, thread_id, kind, started_at."""
    with connect() as conn:
        return list(conn.execute("SELECT project_id, thread_id, stage AS kind, started_at FROM stage_runs "
                                 "WHERE stage = ANY(%s) AND (%s::text IS NULL OR project_id = %s) "
                                 "ORDER BY started_at DESC", (list(KINDS), project_id, project_id)).fetchall())


def thread_kind(thread_id: str) -> ThreadKind:
    """Which graph holds ``thread_id`` (a thread never registered is taken for a lifecycle run)."""
    with connect() as conn:
        row = conn.execute("SELECT stage FROM stage_runs WHERE thread_id = %s AND stage = ANY(%s) LIMIT 1",
                           (thread_id, list(KINDS))).fetchone()
    return row["stage"] if row else "lifecycle"  # type: ignore[no-any-return]
