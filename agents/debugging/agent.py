"""The debugging agents (failure, performance, general): gather evidence with tools, then diagnose.

One code path for every provider: the agent binds its tools to the chat model, runs a bounded tool loop, then asks
for the structured :class:`~core.diagnosis.Diagnosis`. Offline, the tool planners of :mod:`agents.debugging.offline`
choose tools from the user's words (never from log text) and compose the answer from the results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

from agents.debugging.models import ConversationContext
from agents.prompts import load_prompt
from core.diagnosis import Diagnosis
from core.evidence import context_message
from core.projects import DEFAULT_PROJECT
from core.providers import get_chat_model
from services.telemetry import data_end, pooled
from tools.analytics_tools import describe_cluster, project_embeddings, rank_clusters, top_failure_clusters
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
                rank_clusters, project_embeddings],
    "performance": [latency_report, cost_report, failure_trends, find_similar_incidents],
    "general": [search_similar_interactions, find_similar_incidents, failure_trends, top_failure_clusters,
                describe_cluster, rank_clusters, project_embeddings],
}
MAP_TOOL = project_embeddings.name


class DebugState(TypedDict, total=False):
    """The private state of one debugging agent's turn: its own message list (system prompt, the conversation,
    the tool calls and their results) and the number of model rounds so far."""

    messages: Annotated[list[AnyMessage], add_messages]
    rounds: int
    diagnosis: Diagnosis
    project: str  # the thread's project: the tools read only its telemetry (injected, never chosen by the model)


def _tool_error(exc: Exception) -> str:
    """A failing tool is evidence for the model, not a crash."""
    return json.dumps({"error": f"{type(exc).__name__}: {exc}"})


@cache
def build_debugging_agent(agent: str) -> CompiledStateGraph[DebugState, None, DebugState, DebugState]:
    """The debugging agent ``agent`` as a graph: model <-> ``ToolNode`` for at most ``MAX_TOOL_ROUNDS`` rounds,
    then the structured diagnosis. Each model call and each tool round is a checkpointed step."""
    tools = TOOLSETS[agent]

    def call_model(state: DebugState) -> dict[str, Any]:
        """Ask the model for its next tool calls (or its answer) given the evidence so far."""
        ai = get_chat_model(agent=agent).bind_tools(tools).invoke(state["messages"])
        return {"messages": [ai], "rounds": state.get("rounds", 0) + 1}

    def route_after_model(state: DebugState) -> Literal["tools", "diagnose"]:
        """Run the requested tools, or diagnose when the model asked for none (or the rounds are used up)."""
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else "diagnose"

    def route_after_tools(state: DebugState) -> Literal["call_model", "diagnose"]:
        """Back to the model while rounds remain."""
        return "call_model" if state.get("rounds", 0) < MAX_TOOL_ROUNDS else "diagnose"

    def diagnose(state: DebugState) -> dict[str, Any]:
        """The structured diagnosis from the whole evidence."""
        diagnosis = get_chat_model(agent=agent).with_structured_output(Diagnosis).invoke(state["messages"])
        assert isinstance(diagnosis, Diagnosis)
        return {"diagnosis": diagnosis}

    graph = StateGraph(DebugState)
    graph.add_node("call_model", call_model)
    graph.add_node("tools", ToolNode(tools, handle_tool_errors=_tool_error))
    graph.add_node("diagnose", diagnose)
    graph.add_edge(START, "call_model")
    graph.add_conditional_edges("call_model", route_after_model, ["tools", "diagnose"])
    graph.add_conditional_edges("tools", route_after_tools, ["call_model", "diagnose"])
    graph.add_edge("diagnose", END)
    return graph.compile(name=f"{agent}_agent")


def run_diagnostic_agent(agent: str, history: Sequence[BaseMessage], context: dict[str, Any],
                         project: str = DEFAULT_PROJECT) -> dict[str, Any]:
    """Run one turn of a debugging agent on ``project``'s telemetry (inside a graph node it runs as a subgraph on
    the parent's checkpointer); returns the diagnosis, the tool calls made, the evidence and the interaction map if
    one was drawn."""
    with pooled() as conn:
        last = data_end(conn, project)
    system = context_message(load_prompt(agent), CONTEXT_MARK,
                             ConversationContext.model_validate({**context, "data_end": last}))
    start: DebugState = {"messages": [system, *history], "project": project}  # type: ignore[list-item]
    out = build_debugging_agent(agent).invoke(start)
    messages: list[BaseMessage] = out["messages"]
    calls_made = [{"name": c["name"], "args": c["args"]} for m in messages if isinstance(m, AIMessage)
                  for c in m.tool_calls]
    evidence = [{"tool": m.name, "content": m.text[:4000]} for m in messages if isinstance(m, ToolMessage)]
    return {"diagnosis": out["diagnosis"], "tool_calls": calls_made, "evidence": evidence, "map": _map(messages)}


def _map(messages: Sequence[BaseMessage]) -> dict[str, Any] | None:
    """The interaction map a ``project_embeddings`` call returned this turn (for the chat to draw), if any."""
    for m in reversed(messages):
        if isinstance(m, ToolMessage) and m.name == MAP_TOOL:
            data = json.loads(m.text)
            return data if isinstance(data, dict) and data.get("points") else None
    return None
