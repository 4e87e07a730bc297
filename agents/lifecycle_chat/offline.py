"""The offline model's side of the lifecycle agents in the chat: tool planners that read the person's request
(:mod:`agents.lifecycle_chat.requests`) and the thread's work (:class:`LifecycleTurn`), and a text handler whose
reply is the result the tools composed from the evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, ToolCall, ToolMessage

from agents.lifecycle_chat import requests as rq
from agents.lifecycle_chat.models import LifecycleTurn
from core.evidence import request_of
from core.offline_llm import ToolPlanner, register_text_handler, register_tool_planner

AGENTS = ("dataset_builder", "simulator", "judge", "analyst", "comparator", "feedback")


def model_key(agent: str) -> str:
    """The offline model's key for ``agent``'s chat tool loop (apart from the agent's batch handlers)."""
    return f"{agent}.chat"


def _call(name: str, **args: Any) -> list[ToolCall]:
    return [ToolCall(name=name, args={k: v for k, v in args.items() if v is not None}, id=None)]


def _dataset_builder(q: str, turn: LifecycleTurn) -> list[ToolCall]:
    if turn.draft_scenarios and rq.ACCEPT.search(q):
        return _call("create_dataset")
    if turn.draft_scenarios and not rq.NEW_DATASET.search(q):
        return _call("revise_draft", instruction=q)
    named = rq.targets(q, turn.known_targets, turn.candidate.split("@")[0])
    cluster = rq.cluster_ref(q)
    return _call("propose_dataset", target=named[0] if named else None, n_scenarios=rq.scenario_count(q),
                 top_cluster=(cluster is not None and cluster.cluster_id is None) or None,
                 cluster_id=cluster.cluster_id if cluster else None, analytics_run=cluster.run_id if cluster else None,
                 from_feedback=rq.from_feedback(q) or None)


def _simulator(q: str, turn: LifecycleTurn) -> list[ToolCall]:
    candidate, baseline = rq.roles(q, turn.known_targets, turn.candidate.split("@")[0])
    return _call("simulate", candidate=candidate, baseline=baseline)


def _analyst(q: str, turn: LifecycleTurn) -> list[ToolCall]:
    if "analysis" in turn.done and not rq.REPORT.search(q):
        return _call("answer_question", question=q, group=rq.breakdown(q))
    return _call("write_report", group=rq.breakdown(q))


_PLANS = {
    "dataset_builder": _dataset_builder,
    "simulator": _simulator,
    "judge": lambda q, turn: _call("judge_simulations"),
    "analyst": _analyst,
    "comparator": lambda q, turn: _call("compare_agents"),
    "feedback": lambda q, turn: _call("production_feedback"),
}


def tool_planner(agent: str) -> ToolPlanner:
    """The planner of ``agent``: one tool call for the request, then (after its result) the answer."""
    def plan(messages: Sequence[BaseMessage], names: list[str]) -> list[ToolCall] | None:
        if not messages or isinstance(messages[-1], ToolMessage):
            return None  # the work is done: answer from its result
        question = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        calls = _PLANS[agent](question, request_of(messages, LifecycleTurn))
        return [c for c in calls if c["name"] in names] or None
    plan.__name__ = f"plan_{agent}"
    return plan


def reply_from_results(messages: Sequence[BaseMessage]) -> str:
    """The reply: what the last round of tools composed from the evidence (the results, in call order)."""
    last: list[str] = []
    for m in reversed(messages):
        if not isinstance(m, ToolMessage):
            break
        last.insert(0, m.text)
    return "\n\n".join(last) or "I did not run anything for that request; tell me what to do."


def register_offline_handlers() -> None:
    """Register the planners and the text handler of the six lifecycle agents' chat tool loops."""
    for agent in AGENTS:
        register_tool_planner(model_key(agent), tool_planner(agent))
        register_text_handler(model_key(agent), reply_from_results)
