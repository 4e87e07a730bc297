"""The six lifecycle agents in the person's own thread: each is a model <-> ``ToolNode`` loop, run as a subgraph.

The agent's model reads the thread's lifecycle state (:class:`agents.lifecycle_chat.models.LifecycleTurn`) and the
conversation, and calls its tools (:mod:`graphs.lifecycle_tools`), which do the stage's work with the batch
lifecycle's own stage functions on the thread's state. Every model call and tool round is a checkpointed step.
Work that ends a stage (a created dataset, a simulation, judgments, the analyst's report, a comparison, a feedback
report) stops at that stage's gate, the same ``interrupt()`` gate as the batch lifecycle
(:func:`graphs.gates.make_gate`), until a person decides. Offline, the planners of :mod:`agents.lifecycle_chat`
choose the tools from the person's words; a hosted model chooses them itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime

from agents.lifecycle_chat import PROMPT
from agents.lifecycle_chat.models import LifecycleTurn
from agents.lifecycle_chat.offline import model_key
from agents.prompts import load_prompt
from core.evidence import context_message
from core.lifecycle_config import LifecycleConfig
from core.projects import DEFAULT_PROJECT, project_named
from core.providers import get_chat_model
from graphs import gates as g
from graphs.lifecycle_tools import TOOLS, target_label
from graphs.state import SupervisorState, lifecycle_config, merge_dicts

# stage -> (gate summary, next stage, MLflow runs the gate cites)
GATES: dict[str, tuple[Callable[..., g.Summary], str, tuple[str, ...]]] = {
    "dataset": (g.dataset_summary, "simulation", ("dataset",)),
    "simulation": (g.simulation_summary, "judging", ("simulation_candidate", "simulation_baseline")),
    "judging": (g.judging_summary, "analytics", ("judging_candidate", "judging_baseline")),
    "analytics": (g.analytics_summary, "comparison", ("analytics",)),
    "comparison": (g.comparison_summary, "deployment", ("comparison",)),
    "feedback": (g.feedback_summary, "dataset", ("feedback",)),
}
NEXT_AGENT = {"dataset": "simulator", "simulation": "judge", "judging": "analyst", "analytics": "comparator",
              "feedback": "dataset_builder"}  # an approved comparison goes on to the gated rollout instead
MAX_TOOL_ROUNDS = 3
HISTORY = 6  # earlier human and agent messages the model sees
CONTEXT_MARK = "Lifecycle state of this thread (JSON): "
_WORK = ("dataset", "traces", "judgments", "analysis", "comparison", "feedback")


class LifecycleAgentState(TypedDict, total=False):
    """The private state of one lifecycle agent's turn: its messages, the thread it works on, what its tools
    changed (for the thread) and extras for the chat."""

    messages: Annotated[list[AnyMessage], add_messages]
    rounds: int
    thread: dict[str, Any]  # the thread's state at the start of the turn (without its messages)
    update: Annotated[dict[str, Any], merge_dicts]  # what the tools changed
    reply: Annotated[dict[str, Any], merge_dicts]  # extras for the chat (a chart)


@cache
def build_lifecycle_agent(agent: str) -> CompiledStateGraph[LifecycleAgentState, LifecycleConfig,
                                                             LifecycleAgentState, LifecycleAgentState]:
    """The lifecycle agent ``agent`` as a graph: model <-> ``ToolNode`` for at most ``MAX_TOOL_ROUNDS`` rounds;
    the model's last message is the reply."""
    tools = TOOLS[agent]

    def call_model(state: LifecycleAgentState) -> dict[str, Any]:
        """Ask the model for its next tool calls, or its reply from the results."""
        model = get_chat_model(agent=model_key(agent))
        bound = model.bind_tools(tools) if state.get("rounds", 0) < MAX_TOOL_ROUNDS else model
        return {"messages": [bound.invoke(state["messages"])], "rounds": state.get("rounds", 0) + 1}

    def route_after_model(state: LifecycleAgentState) -> Literal["tools", "__end__"]:
        """Run the requested tools, or end the turn with the model's reply."""
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else "__end__"

    graph = StateGraph(LifecycleAgentState, context_schema=LifecycleConfig)
    graph.add_node("call_model", call_model)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "call_model")
    graph.add_conditional_edges("call_model", route_after_model, ["tools", END])
    graph.add_edge("tools", "call_model")
    return graph.compile(name=f"{agent}_agent")


def _run_state(state: SupervisorState, config: LifecycleConfig) -> dict[str, Any]:
    """The project and the run's values this thread holds, defaults filled in (the thread keeps them)."""
    question = next((m.text for m in reversed(state.get("messages", [])) if isinstance(m, HumanMessage)), "")
    named = project_named(question)
    base = {**config.run_inputs(), **{k: v for k, v in state.items() if k in config.run_inputs() and v}}
    return {**base, "project_id": named or state.get("project_id") or DEFAULT_PROJECT,
            "gate_seq": state.get("gate_seq", 0), "lap": state.get("lap") or 1}


def _turn(agent: str, thread: dict[str, Any]) -> LifecycleTurn:
    from agents.targets import list_targets

    draft = thread.get("dataset_draft")
    return LifecycleTurn(agent=agent, project=thread["project_id"], candidate=target_label(thread["candidate"]),
                         baseline=target_label(thread["baseline"]), known_targets=[r.id for r in list_targets()],
                         draft_scenarios=len(draft["scenarios"]) if draft else None,
                         done=[k for k in _WORK if thread.get(k)])


def _history(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The conversation as the agent's model sees it: human messages and agents' replies (not their tool calls)."""
    said: list[BaseMessage] = [m for m in messages if isinstance(m, HumanMessage)
                               or (isinstance(m, AIMessage) and not m.tool_calls)]
    return said[-HISTORY:]


def _register_gated_thread(update: dict[str, Any]) -> None:
    """The thread will wait at a gate: list it with the other gated threads of its project."""
    from langgraph.config import get_config

    from graphs.projects import ensure_project
    from graphs.threads import register_thread

    cand = update.get("candidate") or {}
    ensure_project(update["project_id"], target_label(cand) if cand else None)
    thread = get_config().get("configurable", {}).get("thread_id")
    if thread:
        register_thread(str(thread), update["project_id"], "conversation")


def lifecycle_node(agent: str) -> Callable[..., dict[str, Any]]:
    """The supervisor's node for lifecycle agent ``agent``: runs the agent's tool loop on this thread's state and
    answers with its reply; when a tool reached a stage's end, the thread goes on to that stage's gate."""

    def talk(state: SupervisorState, runtime: Runtime[LifecycleConfig] | None = None) -> dict[str, Any]:
        config = lifecycle_config(runtime)
        update = _run_state(state, config)
        thread = {**{k: v for k, v in state.items() if k != "messages"}, **update}
        system = context_message(load_prompt(PROMPT), CONTEXT_MARK, _turn(agent, thread))
        start: LifecycleAgentState = {"messages": [system, *_history(state.get("messages", []))],  # type: ignore[list-item]
                                      "thread": thread}
        out = build_lifecycle_agent(agent).invoke(start, context=config)
        changed = dict(out.get("update") or {})
        gate = changed.pop("pending_gate", None)
        update = {**update, **changed}
        if gate:
            _register_gated_thread(update)
        text = out["messages"][-1].text
        return {**update, "pending_gate": gate, "waiting_at": f"gate_{gate}" if gate else None,
                "context": {"agent": agent},
                "answer": {"agent": agent, "kind": "lifecycle", "text": text, **(out.get("reply") or {})},
                "messages": [AIMessage(content=text, name=agent)]}
    talk.__name__ = f"talk_to_{agent}"
    talk.__doc__ = f"The {agent} in the conversation: its tool loop on the thread's state, then its gate if reached."
    return talk


NODES: dict[str, Callable[..., dict[str, Any]]] = {agent: lifecycle_node(agent) for agent in TOOLS}


def make_gate_node(stage: str) -> Callable[..., dict[str, Any]]:
    """The gate after ``stage`` in the conversation: the batch lifecycle's gate node, same request and audit."""
    summary, nxt, artifacts = GATES[stage]
    return g.make_gate(stage, nxt, summary, artifacts)


def route_to_gate(state: SupervisorState) -> str:
    """Edge: the gate the agent reached, or the end of the turn."""
    stage = state.get("pending_gate")
    return f"gate_{stage}" if stage else "__end__"


def route_after_comparison(state: SupervisorState) -> str:
    """Edge: an approved comparison goes on to the deployment (the batch lifecycle's gated rollout)."""
    return "deployment" if state["last_decision"]["decision"] == "approve" else "report_decision"


def report_decision(state: SupervisorState) -> dict[str, Any]:
    """After a gate in the conversation: say what was decided and what comes next."""
    decision = state["last_decision"]
    stage = str(state.get("pending_gate"))
    agent = (state.get("route") or {}).get("agent", "general")
    verb = {"approve": "approved", "reject": "rejected", "revise": "sent back for revision"}[decision["decision"]]
    who = f"{verb} by {decision['approver']}" + (f": {decision['comment']}" if decision.get("comment") else "")
    update: dict[str, Any] = {"pending_gate": None}
    if decision["gate"].startswith("deployment->"):
        dep = state["deployment"]
        text = (f"Gate {decision['gate']}: {who}. `{dep['registered_name']}` version {dep['version']} is "
                f"{dep['status']}" + (f" ({dep['reason']})" if dep.get("reason") else "")
                + ". Ask the feedback agent for production feedback.")
    elif decision["decision"] != "approve":
        text = f"Gate {decision['gate']}: {who}. Tell the {agent} what to change."
    else:
        text = f"Gate {decision['gate']}: {who}. Next: the {NEXT_AGENT[stage]} agent."
    return {**update, "answer": {"agent": agent, "kind": "lifecycle", "text": text},
            "messages": [AIMessage(content=text, name=agent)]}
