"""The supervisor: routes each request to one of nine agents and returns its structured answer.

Routing is a structured output of the chat model when a hosted model is configured, and offline the trained
classifier in :mod:`agents.routing.router` (explicit commands such as ``/failure`` win). Only the user's request is
routed: retrieved log text never reaches the router. A short follow-up ("and for gpt-4.1?") stays with the
previous agent and inherits its filters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph

from agents.debugging.entities import is_follow_up, resolve_entities
from agents.prompts import load_prompt
from agents.registry import AGENT_NAMES, AGENTS, DEFAULT_AGENT, get_agent
from agents.routing.models import RouteDecision
from agents.routing.router import load_router
from core.lifecycle_config import LifecycleConfig
from core.projects import DEFAULT_PROJECT, project_named
from core.providers import get_chat_model, is_hosted
from graphs import gates as g
from graphs.lifecycle import route_rollout
from graphs.lifecycle_agents import (
    GATES,
    NODES,
    make_gate_node,
    report_decision,
    route_after_comparison,
    route_to_gate,
)
from graphs.lifecycle_deploy import deploy_stage, rollout_step
from graphs.state import SupervisorInput, SupervisorOutput, SupervisorState

GATE_NODES = [f"gate_{stage}" for stage in GATES]
STAY_BELOW = 0.8  # a draft's edits stay with the dataset builder unless the router is at least this sure


def _question(state: SupervisorState) -> str:
    return next((m.text for m in reversed(state.get("messages", [])) if isinstance(m, HumanMessage)), "")


def route_request(state: SupervisorState) -> dict[str, Any]:
    """Choose the agent for the latest request. A thread that waits at a gate goes back to that gate: a new
    message (for example a new run through the LangGraph API) never abandons a pending decision."""
    if state.get("waiting_at"):
        return {}
    question = _question(state)
    context = state.get("context") or {}
    if context.get("agent") and is_follow_up(question):
        decision = RouteDecision(agent=context["agent"], confidence=1.0, method="follow-up",
                                 reason="a short follow-up continues the previous agent's question")
    elif is_hosted() and not question.lstrip().startswith(("/", "@")):
        router = get_chat_model(agent="router").with_structured_output(RouteDecision)
        decision = router.invoke([SystemMessage(load_prompt("router")), HumanMessage(question)])  # type: ignore[assignment]
        decision.method = "llm"
    else:
        decision = load_router().predict(question)
    if (context.get("agent") == "dataset_builder" and state.get("dataset_draft") and decision.method != "command"
            and decision.agent != "dataset_builder" and decision.confidence < STAY_BELOW):
        decision = RouteDecision(agent="dataset_builder", confidence=1.0, method="follow-up",
                                 reason="the person is still editing the dataset draft with the dataset builder")
    return {"route": decision.model_dump()}


def route_to_agent(state: SupervisorState) -> str:
    """Edge: the gate the thread waits at, else the node of the chosen agent."""
    if state.get("waiting_at"):
        return str(state["waiting_at"])
    agent = state["route"]["agent"]
    return agent if agent in AGENT_NAMES else DEFAULT_AGENT  # type: ignore[no-any-return]


def _waits_at(node: Callable[..., dict[str, Any]], gate: Callable[[Any], str | None]
              ) -> Callable[..., dict[str, Any]]:
    """``node``, also recording the gate node the thread will wait at after it (``gate`` of its result)."""
    def run(state: SupervisorState) -> dict[str, Any]:
        out = node(state)
        return {**out, "waiting_at": gate({**state, **out})}
    run.__name__, run.__doc__ = node.__name__, node.__doc__
    return run


def _decided(gate: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A gate node that clears ``waiting_at`` once the person decided."""
    def run(state: SupervisorState) -> dict[str, Any]:
        return {**gate(state), "waiting_at": None}
    run.__name__, run.__doc__ = gate.__name__, gate.__doc__
    return run


def _diagnostic_node(agent: str):  # type: ignore[no-untyped-def]
    def run_agent(state: SupervisorState) -> dict[str, Any]:
        run_diagnostic_agent = get_agent(agent).build()
        question = _question(state)
        context = state.get("context") or {}
        history = [m for m in state.get("messages", []) if isinstance(m, HumanMessage | AIMessage)][-8:]
        project = project_named(question) or state.get("project_id") or DEFAULT_PROJECT
        out = run_diagnostic_agent(agent, history, context, project)
        diagnosis = out["diagnosis"]
        answer = {"agent": agent, "kind": "diagnosis", "diagnosis": diagnosis.model_dump(),
                  "tool_calls": out["tool_calls"], **({"map": out["map"]} if out["map"] else {})}
        return {"answer": answer, "evidence": out["evidence"], "project_id": project,
                "messages": [AIMessage(content=diagnosis.to_markdown(), name=agent)],
                "context": {"agent": agent, "entities": resolve_entities(question, context)}}
    run_agent.__name__ = f"run_{agent}_agent"
    run_agent.__doc__ = f"The {agent} agent: gathers evidence with tools, answers in the diagnosis schema."
    return run_agent


def build_supervisor() -> StateGraph[SupervisorState, LifecycleConfig, SupervisorInput, SupervisorOutput]:
    """The supervisor graph builder (compile it with a checkpointer, or without for the LangGraph server)."""
    graph = StateGraph(SupervisorState, input_schema=SupervisorInput, output_schema=SupervisorOutput,
                       context_schema=LifecycleConfig)
    graph.add_node("route_request", route_request)
    for spec in AGENTS:
        if spec.kind == "debugging":
            graph.add_node(spec.name, _diagnostic_node(spec.name))
            graph.add_edge(spec.name, END)
        else:
            graph.add_node(spec.name, NODES[spec.name])
            graph.add_conditional_edges(spec.name, route_to_gate, [*GATE_NODES, END])
    for stage in GATES:
        graph.add_node(f"gate_{stage}", _decided(make_gate_node(stage)))
        if stage != "comparison":
            graph.add_edge(f"gate_{stage}", "report_decision")
    # an approved comparison deploys with the batch lifecycle's gated rollout, in this thread
    graph.add_conditional_edges("gate_comparison", route_after_comparison, ["deployment", "report_decision"])
    graph.add_node("deployment", _waits_at(deploy_stage, lambda s: "gate_rollout"))
    graph.add_node("gate_rollout", _decided(g.make_gate("rollout", "rollout", g.rollout_summary,
                                                        allowed=("approve", "reject"))))
    graph.add_node("rollout_step", _waits_at(rollout_step, route_rollout))
    graph.add_node("gate_deployment", _decided(g.make_gate("deployment", "feedback", g.deployment_summary)))
    graph.add_edge("deployment", "gate_rollout")
    graph.add_edge("gate_rollout", "rollout_step")
    graph.add_conditional_edges("rollout_step", route_rollout, ["gate_rollout", "gate_deployment"])
    graph.add_edge("gate_deployment", "report_decision")
    graph.add_node("report_decision", report_decision)
    graph.add_edge("report_decision", END)
    graph.add_edge(START, "route_request")
    graph.add_conditional_edges("route_request", route_to_agent, [*AGENT_NAMES, *GATE_NODES, "gate_rollout",
                                                                  "gate_deployment"])
    return graph
