"""The supervisor: routes each request to one of nine agents and returns its structured answer.

Routing is a structured output of the chat model when a hosted model is configured, and offline the trained
classifier in :mod:`agents.routing.router` (explicit commands such as ``/failure`` win). Only the user's request is
routed: retrieved log text never reaches the router. A short follow-up ("and for gpt-4.1?") stays with the
previous agent and inherits its filters.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph

from agents.debugging.entities import is_follow_up, resolve_entities
from agents.prompts import load_prompt
from agents.registry import AGENT_NAMES, AGENTS, DEFAULT_AGENT, AgentName, get_agent
from agents.routing.models import RouteDecision
from agents.routing.router import load_router
from core.providers import get_chat_model, llm_provider
from graphs.state import SupervisorInput, SupervisorOutput, SupervisorState


def _question(state: SupervisorState) -> str:
    return next((m.text for m in reversed(state.get("messages", [])) if isinstance(m, HumanMessage)), "")


def route_request(state: SupervisorState) -> dict[str, Any]:
    """Choose the agent for the latest request."""
    question = _question(state)
    context = state.get("context") or {}
    if context.get("agent") and is_follow_up(question):
        decision = RouteDecision(agent=context["agent"], confidence=1.0, method="follow-up",
                                 reason="a short follow-up continues the previous agent's question")
    elif llm_provider() == "gemini" and not question.lstrip().startswith(("/", "@")):
        router = get_chat_model(agent="router").with_structured_output(RouteDecision)
        decision = router.invoke([SystemMessage(load_prompt("router")), HumanMessage(question)])  # type: ignore[assignment]
        decision.method = "llm"
    else:
        decision = load_router().predict(question)
    return {"route": decision.model_dump()}


def route_to_agent(state: SupervisorState) -> AgentName:
    """Edge: the node of the chosen agent."""
    agent = state["route"]["agent"]
    return agent if agent in AGENT_NAMES else DEFAULT_AGENT  # type: ignore[no-any-return]


def _diagnostic_node(agent: str):  # type: ignore[no-untyped-def]
    def run_agent(state: SupervisorState) -> dict[str, Any]:
        run_diagnostic_agent = get_agent(agent).build()
        question = _question(state)
        context = state.get("context") or {}
        history = [m for m in state.get("messages", []) if isinstance(m, HumanMessage | AIMessage)][-8:]
        out = run_diagnostic_agent(agent, history, context)
        diagnosis = out["diagnosis"]
        answer = {"agent": agent, "kind": "diagnosis", "diagnosis": diagnosis.model_dump(),
                  "tool_calls": out["tool_calls"], **({"map": out["map"]} if out["map"] else {})}
        return {"answer": answer, "evidence": out["evidence"],
                "messages": [AIMessage(content=diagnosis.to_markdown(), name=agent)],
                "context": {"agent": agent, "entities": resolve_entities(question, context)}}
    run_agent.__name__ = f"run_{agent}_agent"
    run_agent.__doc__ = f"The {agent} agent: gathers evidence with tools, answers in the diagnosis schema."
    return run_agent


def _lifecycle_node(agent: str):  # type: ignore[no-untyped-def]
    def answer_lifecycle(state: SupervisorState) -> dict[str, Any]:
        text = (f"The {agent} stage is not available from this chat yet. It runs in the evaluation lifecycle: "
                f"`{get_agent(agent).command}` (or `opsgraph pipeline run`).")
        return {"answer": {"agent": agent, "kind": "notice", "text": text},
                "messages": [AIMessage(content=text, name=agent)], "context": {"agent": agent}}
    answer_lifecycle.__name__ = f"run_{agent}_agent"
    answer_lifecycle.__doc__ = f"The {agent} agent's entry from the supervisor."
    return answer_lifecycle


def build_supervisor() -> StateGraph:
    """The supervisor graph builder (compile it with a checkpointer, or without for the LangGraph server)."""
    graph = StateGraph(SupervisorState, input_schema=SupervisorInput, output_schema=SupervisorOutput)
    graph.add_node("route_request", route_request)
    for spec in AGENTS:
        node = _diagnostic_node(spec.name) if spec.kind == "debugging" else _lifecycle_node(spec.name)
        graph.add_node(spec.name, node)
        graph.add_edge(spec.name, END)
    graph.add_edge(START, "route_request")
    graph.add_conditional_edges("route_request", route_to_agent, list(AGENT_NAMES))
    return graph
