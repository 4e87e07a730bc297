"""The debugging agents (failure, performance, general): gather evidence with tools, then diagnose.

One code path for every provider: the agent binds its tools to the chat model, runs a bounded tool loop, then asks
for the structured :class:`~core.diagnosis.Diagnosis`. Offline, the tool planners of :mod:`agents.debugging.offline`
choose tools from the user's words (never from log text) and compose the answer from the results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool

from agents.debugging.models import ConversationContext
from agents.prompts import load_prompt
from core.diagnosis import Diagnosis
from core.evidence import context_message
from core.providers import get_chat_model
from tools.analytics_tools import describe_cluster, project_embeddings, top_failure_clusters
from tools.ops_tools import (
    cost_report,
    failure_trends,
    find_similar_incidents,
    latency_report,
    search_similar_interactions,
)

MAX_TOOL_ROUNDS = 3
CONTEXT_MARK = "Context from earlier turns (JSON): "
TOOLSETS: dict[str, list[BaseTool]] = {
    "failure": [failure_trends, find_similar_incidents, latency_report, top_failure_clusters, describe_cluster,
                project_embeddings],
    "performance": [latency_report, cost_report, failure_trends, find_similar_incidents],
    "general": [search_similar_interactions, find_similar_incidents, failure_trends, top_failure_clusters,
                describe_cluster, project_embeddings],
}
MAP_TOOL = project_embeddings.name


def run_diagnostic_agent(agent: str, history: Sequence[BaseMessage], context: dict[str, Any]) -> dict[str, Any]:
    """Run one turn of a debugging agent; returns the diagnosis, the tool calls made and the evidence."""
    tools = {t.name: t for t in TOOLSETS[agent]}
    model = get_chat_model(agent=agent)
    system = context_message(load_prompt(agent), CONTEXT_MARK, ConversationContext.model_validate(context))
    messages: list[BaseMessage] = [system, *history]
    bound = model.bind_tools(list(tools.values()))
    calls_made: list[dict[str, Any]] = []
    for _ in range(MAX_TOOL_ROUNDS):
        ai = bound.invoke(messages)
        assert isinstance(ai, AIMessage)
        messages.append(ai)
        if not ai.tool_calls:
            break
        for call in ai.tool_calls:
            calls_made.append({"name": call["name"], "args": call["args"]})
            if call["name"] not in tools:
                result: Any = {"error": f"unknown tool {call['name']}"}
            else:
                try:
                    result = tools[call["name"]].invoke(call["args"])
                except Exception as exc:  # a tool failure is evidence for the model, not a crash
                    result = {"error": f"{type(exc).__name__}: {exc}"}
            messages.append(ToolMessage(content=json.dumps(result, default=str), tool_call_id=call["id"] or "",
                                        name=call["name"]))
    diagnosis = model.with_structured_output(Diagnosis).invoke(messages)
    assert isinstance(diagnosis, Diagnosis)
    evidence = [{"tool": m.name, "content": m.text[:4000]} for m in messages if isinstance(m, ToolMessage)]
    return {"diagnosis": diagnosis, "tool_calls": calls_made, "evidence": evidence, "map": _map(messages)}


def _map(messages: Sequence[BaseMessage]) -> dict[str, Any] | None:
    """The interaction map a ``project_embeddings`` call returned this turn (for the chat to draw), if any."""
    for m in reversed(messages):
        if isinstance(m, ToolMessage) and m.name == MAP_TOOL:
            data = json.loads(m.text)
            return data if isinstance(data, dict) and data.get("points") else None
    return None
