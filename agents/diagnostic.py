"""The debugging agents (failure, performance, general): gather evidence with tools, then diagnose.

One code path for every provider: the agent binds its tools to the chat model, runs a bounded tool loop, then
asks for the structured :class:`~core.diagnosis.Diagnosis`. Offline, the tool planners below choose tools from
the user's words (never from log text) and :mod:`agents.diagnosis_offline` composes the answer from the results.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool

from agents.diagnosis_offline import compose_diagnosis
from agents.entities import resolve_entities
from agents.prompts import load_prompt
from core.diagnosis import Diagnosis
from core.offline_llm import register_structured_handler, register_tool_planner
from core.providers import get_chat_model
from tools.ops_tools import (
    cost_report,
    failure_trends,
    find_similar_incidents,
    latency_report,
    search_similar_interactions,
)

DIAGNOSTIC_AGENTS = ("failure", "performance", "general")
MAX_TOOL_ROUNDS = 3
CONTEXT_MARK = "Context from earlier turns (JSON): "
TOOLSETS: dict[str, list[BaseTool]] = {
    "failure": [failure_trends, find_similar_incidents, latency_report],
    "performance": [latency_report, cost_report, failure_trends, find_similar_incidents],
    "general": [search_similar_interactions, find_similar_incidents, failure_trends],
}
_WINDOW_KEYS = ("model_name", "use_case", "start", "end")


def _question_and_context(messages: Sequence[BaseMessage]) -> tuple[str, dict[str, Any]]:
    question = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    context: dict[str, Any] = {}
    for m in messages:
        if isinstance(m, SystemMessage) and CONTEXT_MARK in m.text:
            context = json.loads(m.text.split(CONTEXT_MARK, 1)[1].strip())
    return question, context


def _has_results(messages: Sequence[BaseMessage]) -> bool:
    last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
    return any(isinstance(m, ToolMessage) for m in messages[last_human:])


def _call(name: str, args: dict[str, Any]) -> ToolCall:
    return ToolCall(name=name, args={k: v for k, v in args.items() if v is not None}, id=None)


def _planner(agent: str):  # type: ignore[no-untyped-def]
    def plan(messages: Sequence[BaseMessage], names: list[str]) -> list[ToolCall] | None:
        if _has_results(messages):
            return None
        question, context = _question_and_context(messages)
        ent = resolve_entities(question, context)
        window = {k: ent.get(k) for k in _WINDOW_KEYS}
        query = question
        if agent == "failure":
            calls = [_call("failure_trends", {**window, "failure_type": ent.get("failure_type")}),
                     _call("find_similar_incidents", {"query": query, "model_name": ent.get("model_name"),
                                                      "failure_type": ent.get("failure_type")})]
            if ent.get("failure_type") == "latency_timeout":
                calls.append(_call("latency_report", window))
        elif agent == "performance":
            calls = [_call("latency_report", window), _call("cost_report", window)]
            if any(w in question.lower() for w in ("timeout", "time out", "timing out")):
                calls.append(_call("failure_trends", window))
        else:
            calls = [_call("search_similar_interactions", {"query": query, "k": 8, **window,
                                                           "failure_type": ent.get("failure_type")}),
                     _call("failure_trends", window)]
        return [c for c in calls if c["name"] in names]
    return plan


for _agent in DIAGNOSTIC_AGENTS:
    register_tool_planner(_agent, _planner(_agent))
register_structured_handler(Diagnosis, compose_diagnosis)


def run_diagnostic_agent(agent: str, history: Sequence[BaseMessage], context: dict[str, Any]) -> dict[str, Any]:
    """Run one turn of a debugging agent; returns the diagnosis, the tool calls made and the evidence."""
    tools = {t.name: t for t in TOOLSETS[agent]}
    model = get_chat_model(agent=agent)
    system = SystemMessage(load_prompt(agent) + "\n\n" + CONTEXT_MARK + json.dumps(context, default=str))
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
    return {"diagnosis": diagnosis, "tool_calls": calls_made, "evidence": evidence}
