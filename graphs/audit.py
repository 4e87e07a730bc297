"""Audit of gate decisions: a row in ``approvals_audit`` (idempotent per gate) and an MLflow record."""

from __future__ import annotations

import json
from typing import Any

from core.db import connect
from graphs.approval import ApprovalDecision, ApprovalRequest


def write_audit(thread_id: str, request: ApprovalRequest, decision: ApprovalDecision) -> None:
    """Record a decision once (a node re-run after a crash does not duplicate it)."""
    key = f"{thread_id}:{request.stage_from}->{request.stage_to}:{request.gate_seq}"
    with connect() as conn:
        conn.execute(
            """INSERT INTO approvals_audit (thread_id, project_id, stage_from, stage_to, decision, approver, comment,
                   artifact_ids, automatic, justification, decision_key)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (decision_key) DO NOTHING""",
            (thread_id, request.project_id, request.stage_from, request.stage_to, decision.decision,
             decision.approver, decision.comment, json.dumps(request.artifacts), decision.automatic,
             decision.justification, key),
        )


def audit_trail(thread_id: str | None = None, project_id: str | None = None) -> list[dict[str, Any]]:
    """Decisions in time order, for one thread or project (or all)."""
    sql = "SELECT * FROM approvals_audit WHERE (%s::text IS NULL OR thread_id = %s) " \
          "AND (%s::text IS NULL OR project_id = %s) ORDER BY decided_at, id"
    with connect() as conn:
        return list(conn.execute(sql, (thread_id, thread_id, project_id, project_id)).fetchall())
