"""Offline evaluation of request routing: load a labelled JSONL set, score any predict function on it.

File format: one JSON object per line, ``{"q": "<request>", "agent": "<one of the nine agents>"}``; blank lines are
skipped, other keys are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel

from agents.router import AGENTS, RouteDecision, RoutingExample


class RoutingDataError(ValueError):
    """A routing JSONL file is unreadable or has a bad line (the message names file, line and problem)."""


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


def load_jsonl(path: Path | str) -> list[RoutingExample]:
    """Read and validate a routing set; raise ``RoutingDataError`` naming the file, line number and problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RoutingDataError(f"{path}: cannot read routing file: {exc}") from exc
    out: list[RoutingExample] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RoutingDataError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(row, dict):
            raise RoutingDataError(f"{where}: expected a JSON object, got {type(row).__name__}")
        q, agent = row.get("q"), row.get("agent")
        if not isinstance(q, str) or not q.strip():
            raise RoutingDataError(f"{where}: 'q' must be a non-empty string, got {q!r}")
        if agent not in AGENTS:
            raise RoutingDataError(f"{where}: 'agent' must be one of {', '.join(AGENTS)}; got {agent!r}")
        out.append(RoutingExample(q=q, agent=agent))
    if not out:
        raise RoutingDataError(f"{path}: no examples")
    return out


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
