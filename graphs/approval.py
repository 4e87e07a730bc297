"""The one approval primitive: every stage transition asks a person through ``interrupt()``.

A node calls :func:`request_approval`. The graph pauses (held in the Postgres checkpointer) until it is resumed
with ``Command(resume=decision)``. An invalid decision is refused: the node interrupts again with the error,
so the thread stays paused. A project's automation policy may approve a gate without a person, only when its
thresholds hold on the gate's metrics, and it records why. Every decision is audited.

Code before ``interrupt()`` re-runs on resume, so nothing here has side effects before it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Literal

from langgraph.config import get_config
from langgraph.types import interrupt
from pydantic import BaseModel, Field, ValidationError, model_validator

from core.users import DENIED, auth_enabled, can_approve

DecisionKind = Literal["approve", "reject", "revise"]
ALL_DECISIONS: tuple[DecisionKind, ...] = ("approve", "reject", "revise")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


class ApprovalRequest(BaseModel):
    """What a person sees at a gate."""

    kind: Literal["approval_request"] = "approval_request"
    project_id: str
    stage_from: str
    stage_to: str
    summary: str
    metrics: dict[str, float | int | str] = Field(default_factory=dict)
    artifacts: list[str] = Field(default_factory=list)
    allowed: list[DecisionKind] = Field(default_factory=lambda: list(ALL_DECISIONS))
    gate_seq: int = 0
    error: str | None = None


class ApprovalDecision(BaseModel):
    """A person's (or the automation policy's) validated answer at a gate."""

    decision: DecisionKind
    approver: str = Field(min_length=1)
    comment: str = ""
    automatic: bool = False
    justification: str | None = None

    @model_validator(mode="after")
    def _reason_required(self) -> ApprovalDecision:
        if self.decision in ("reject", "revise") and not self.comment.strip():
            raise ValueError(f"a '{self.decision}' decision needs a comment (the reason or the instructions)")
        return self


class Threshold(BaseModel):
    """One condition on a gate metric, e.g. ``quality_score >= 0.8``."""

    metric: str
    op: Literal[">=", "<=", ">", "<", "=="]
    value: float


class AutomationPolicy(BaseModel):
    """Per-project auto-approval (off by default): gate ``"from->to"`` -> thresholds that must all hold."""

    enabled: bool = False
    gates: dict[str, list[Threshold]] = Field(default_factory=dict)

    def evaluate(self, request: ApprovalRequest) -> ApprovalDecision | None:
        """An automatic approval when every threshold of this gate holds, else None (ask a person)."""
        rules = self.gates.get(f"{request.stage_from}->{request.stage_to}")
        if not self.enabled or not rules:
            return None
        checks = []
        for rule in rules:
            value = request.metrics.get(rule.metric)
            if not isinstance(value, int | float) or not _OPS[rule.op](float(value), rule.value):
                return None
            checks.append(f"{rule.metric}={value} {rule.op} {rule.value}")
        return ApprovalDecision(decision="approve", approver="automation", automatic=True,
                                justification="all thresholds hold: " + "; ".join(checks))


def validate_decision(raw: Any, request: ApprovalRequest) -> ApprovalDecision:
    """Parse a resume value into a decision allowed at this gate; raises ValueError with the reason."""
    try:
        decision = ApprovalDecision.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'decision'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid decision: {problems}") from exc
    if decision.automatic:
        raise ValueError("invalid decision: automatic decisions come only from the project's automation policy")
    if decision.decision not in request.allowed:
        raise ValueError(f"invalid decision: '{decision.decision}' is not allowed here (allowed: {request.allowed})")
    if auth_enabled() and not can_approve(decision.approver):
        raise ValueError(f"invalid decision: {decision.approver!r} is not a configured approver ({DENIED})")
    return decision


AuditWriter = Callable[[str, ApprovalRequest, ApprovalDecision], None]


def request_approval(
    request: ApprovalRequest, policy: AutomationPolicy | None = None, audit: AuditWriter | None = None
) -> ApprovalDecision:
    """Pause for a decision at a gate (or approve automatically under ``policy``); audit it; return it."""
    thread_id = str(get_config().get("configurable", {}).get("thread_id", "unknown"))
    decision = policy.evaluate(request) if policy else None
    pending = request
    while decision is None:
        raw = interrupt(pending.model_dump(mode="json"))
        try:
            decision = validate_decision(raw, request)
        except ValueError as exc:  # refused: ask again, the thread stays paused
            pending = request.model_copy(update={"error": str(exc)})
    if audit is not None:
        audit(thread_id, request, decision)
    return decision
