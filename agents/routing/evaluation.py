"""Offline evaluation of request routing: load a labelled JSONL set, score any predict function on it.

File format: one JSON object per line, ``{"q": "<request>", "agent": "<one of the nine agents>"}``; blank lines are
skipped, other keys are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel

from agents.registry import AGENT_NAMES
from agents.routing.models import RouteDecision, RoutingExample

AGENTS: tuple[str, ...] = AGENT_NAMES


class AgentMetrics(BaseModel):
    """Precision and recall of one agent (precision is 0 when the agent was never predicted)."""

    precision: float
    recall: float
    support: int
    predicted: int


class Misroute(BaseModel):
    """One request routed to the wrong agent."""

    q: str
    expected: str
    predicted: str


class RoutingReport(BaseModel):
    """Accuracy, per-agent metrics and the confusion matrix (``confusion[expected][predicted]`` = count)."""

    n: int
    accuracy: float
    per_agent: dict[str, AgentMetrics]
    confusion: dict[str, dict[str, int]]
    errors: list[Misroute]


def _agent_of(result: str | RouteDecision) -> str:
    return result.agent if isinstance(result, RouteDecision) else str(result)


def evaluate(router_predict: Callable[[str], str | RouteDecision],
             examples: Sequence[RoutingExample | Mapping[str, str]],
             predict_many: Callable[[list[str]], Sequence[str | RouteDecision]] | None = None) -> RoutingReport:
    """Run ``router_predict`` (returning an agent name or a RouteDecision) on every example and score it.

    With ``predict_many`` the requests are routed in one batch instead (faster for embedding routers).
    """
    rows = [e if isinstance(e, RoutingExample) else RoutingExample.model_validate(e) for e in examples]
    if not rows:
        raise ValueError("evaluate() needs at least one example")
    if predict_many is not None:
        batch = [_agent_of(r) for r in predict_many([row.q for row in rows])]
        if len(batch) != len(rows):
            raise ValueError(f"predict_many returned {len(batch)} answers for {len(rows)} requests")
    else:
        batch = [_agent_of(router_predict(row.q)) for row in rows]
    confusion = {a: dict.fromkeys(AGENTS, 0) for a in AGENTS}
    errors: list[Misroute] = []
    for row, got in zip(rows, batch, strict=True):
        if got not in confusion[row.agent]:  # a predictor may answer outside the nine: keep it visible, never crash
            for counts in confusion.values():
                counts.setdefault(got, 0)
        confusion[row.agent][got] += 1
        if got != row.agent:
            errors.append(Misroute(q=row.q, expected=row.agent, predicted=got))
    per_agent: dict[str, AgentMetrics] = {}
    for a in AGENTS:
        tp = confusion[a][a]
        support = sum(confusion[a].values())
        predicted = sum(counts.get(a, 0) for counts in confusion.values())
        per_agent[a] = AgentMetrics(precision=round(tp / predicted, 4) if predicted else 0.0,
                                    recall=round(tp / support, 4) if support else 0.0,
                                    support=support, predicted=predicted)
    correct = sum(confusion[a][a] for a in AGENTS)
    return RoutingReport(n=len(rows), accuracy=round(correct / len(rows), 4), per_agent=per_agent,
                         confusion=confusion, errors=errors)
