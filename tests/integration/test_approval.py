"""The approval primitive on the real Postgres checkpointer: pause, refuse invalid input, resume elsewhere, audit."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from graphs.approval import ApprovalRequest, AutomationPolicy, Threshold, request_approval
from graphs.audit import audit_trail, write_audit
from graphs.persistence import postgres_checkpointer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


class GateState(TypedDict, total=False):
    quality: float
    decision: str
    comment: str


def gate(state: GateState) -> GateState:
    policy = AutomationPolicy(enabled=True, gates={"dataset->simulation": [Threshold(metric="quality", op=">=",
                                                                                     value=0.9)]})
    req = ApprovalRequest(project_id="p-approval", stage_from="dataset", stage_to="simulation",
                          summary="12 scenarios", metrics={"quality": state["quality"]})
    d = request_approval(req, policy=policy, audit=write_audit)
    return {"decision": d.decision, "comment": d.comment}


def build() -> StateGraph:
    g = StateGraph(GateState)
    g.add_node("gate", gate)
    g.add_edge(START, "gate")
    g.add_edge("gate", END)
    return g


RESUME_SCRIPT = """
import json, sys
from langgraph.types import Command
from graphs.persistence import postgres_checkpointer
from tests.integration.test_approval import build
with postgres_checkpointer() as saver:
    graph = build().compile(checkpointer=saver)
    out = graph.invoke(Command(resume=json.loads(sys.argv[2])), {"configurable": {"thread_id": sys.argv[1]}})
    print(json.dumps({"decision": out.get("decision"), "pending": bool(out.get("__interrupt__"))}))
"""


def _resume_in_new_process(thread: str, payload: str) -> str:
    out = subprocess.run([sys.executable, "-c", RESUME_SCRIPT, thread, payload], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_gate_pauses_refuses_invalid_and_resumes_in_new_process(database) -> None:  # type: ignore[no-untyped-def]
    thread = f"t-{uuid.uuid4().hex[:8]}"
    config = {"configurable": {"thread_id": thread}}
    with postgres_checkpointer() as saver:
        graph = build().compile(checkpointer=saver)
        first = graph.invoke({"quality": 0.5}, config)
        assert first["__interrupt__"][0].value["stage_to"] == "simulation"
        # invalid: unknown decision, then reject without a reason -> refused, still paused
        again = graph.invoke(Command(resume={"decision": "ship-it", "approver": "ana"}), config)
        assert "invalid decision" in again["__interrupt__"][0].value["error"]
        again = graph.invoke(Command(resume={"decision": "reject", "approver": "ana"}), config)
        assert "needs a comment" in again["__interrupt__"][0].value["error"]
        assert graph.get_state(config).next == ("gate",)
    assert '"pending": false' in _resume_in_new_process(
        thread, '{"decision": "approve", "approver": "ana", "comment": "looks good"}')
    trail = audit_trail(thread_id=thread)
    assert [(r["decision"], r["approver"], r["automatic"]) for r in trail] == [("approve", "ana", False)]


def test_automation_approves_only_when_thresholds_hold(database) -> None:  # type: ignore[no-untyped-def]
    thread = f"t-{uuid.uuid4().hex[:8]}"
    with postgres_checkpointer() as saver:
        graph = build().compile(checkpointer=saver)
        out = graph.invoke({"quality": 0.95}, {"configurable": {"thread_id": thread}})
    assert out["decision"] == "approve" and "__interrupt__" not in out
    row = audit_trail(thread_id=thread)[0]
    assert row["automatic"] and row["approver"] == "automation" and "quality=0.95 >= 0.9" in row["justification"]


def test_automatic_decision_cannot_be_forged(database) -> None:  # type: ignore[no-untyped-def]
    thread = f"t-{uuid.uuid4().hex[:8]}"
    config = {"configurable": {"thread_id": thread}}
    with postgres_checkpointer() as saver:
        graph = build().compile(checkpointer=saver)
        graph.invoke({"quality": 0.1}, config)
        out = graph.invoke(Command(resume={"decision": "approve", "approver": "x", "automatic": True}), config)
    assert "automation policy" in out["__interrupt__"][0].value["error"]
    assert audit_trail(thread_id=thread) == []
