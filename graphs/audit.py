"""Audit of gate decisions: a row in ``approvals_audit`` (idempotent per gate) and an MLflow record."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from core.db import connect
from core.users import auth_enabled, role_of
from graphs.approval import ApprovalDecision, ApprovalRequest


def write_audit(thread_id: str, request: ApprovalRequest, decision: ApprovalDecision) -> None:
    """Record a decision once (a node re-run after a crash does not duplicate it), in ``approvals_audit`` and as a
    tag on each MLflow run the gate cites."""
    key = f"{thread_id}:{request.stage_from}->{request.stage_to}:{request.gate_seq}"
    with connect() as conn:
        inserted = conn.execute(
            """INSERT INTO approvals_audit (thread_id, project_id, stage_from, stage_to, decision, approver, comment,
                   artifact_ids, automatic, justification, decision_key, approver_role)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (decision_key) DO NOTHING""",
            (thread_id, request.project_id, request.stage_from, request.stage_to, decision.decision,
             decision.approver, decision.comment, json.dumps(request.artifacts), decision.automatic,
             decision.justification, key, decision_role(decision)),
        ).rowcount
    if inserted:
        _tag_runs(thread_id, request, decision)


def decision_role(decision: ApprovalDecision) -> str:
    """The role a decision was made with: the configured role, ``automation``, or ``unauthenticated``."""
    if decision.automatic:
        return "automation"
    return role_of(decision.approver) if auth_enabled() else "unauthenticated"


def _tag_runs(thread_id: str, request: ApprovalRequest, decision: ApprovalDecision) -> None:
    """Tag ``gate_decision.<seq>`` (the decision as JSON) on the MLflow runs the gate cites."""
    import mlflow

    from core.tracking import configure_mlflow

    runs = [m[1] for a in request.artifacts if (m := re.match(r"mlflow run \S+: ([0-9a-f]{32})$", a.strip()))]
    if not runs:
        return
    configure_mlflow()
    value = json.dumps({"thread_id": thread_id, "gate": f"{request.stage_from}->{request.stage_to}",
                        "decision": decision.decision, "approver": decision.approver,
                        "role": decision_role(decision), "comment": decision.comment,
                        "automatic": decision.automatic, "decided_at": datetime.now(UTC).isoformat()})
    client = mlflow.MlflowClient()
    for run_id in runs:
        client.set_tag(run_id, f"gate_decision.{request.gate_seq}", value[:5000])


def audit_trail(thread_id: str | None = None, project_id: str | None = None) -> list[dict[str, Any]]:
    """Decisions in time order, for one thread or project (or all)."""
    sql = "SELECT * FROM approvals_audit WHERE (%s::text IS NULL OR thread_id = %s) " \
          "AND (%s::text IS NULL OR project_id = %s) ORDER BY decided_at, id"
    with connect() as conn:
        return list(conn.execute(sql, (thread_id, thread_id, project_id, project_id)).fetchall())
