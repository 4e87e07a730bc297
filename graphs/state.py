"""Graph state, in one module: typed, with explicit reducers; nodes return partial updates."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolRuntime
from langgraph.runtime import Runtime

from core.lifecycle_config import DEFAULTS, LifecycleConfig


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: later keys win; used for conversation context carried across turns."""
    return {**(left or {}), **(right or {})}


class SupervisorInput(TypedDict):
    """What a caller sends: the conversation so far (usually one new human message)."""

    messages: Annotated[list[AnyMessage], add_messages]


class SupervisorOutput(TypedDict, total=False):
    """What a caller gets back."""

    messages: list[AnyMessage]
    route: dict[str, Any]
    answer: dict[str, Any]


def append_list(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    """Reducer: append (audit-like histories)."""
    return [*(left or []), *(right or [])]


class LifecycleInput(TypedDict, total=False):
    """How a lifecycle run starts: the project, the candidate and the baseline agents, the evaluation size."""

    project_id: str
    candidate: dict[str, str]  # {"name", "version"}: the agent under evaluation
    baseline: dict[str, str]  # {"name", "version"}: what it is compared with (the champion)
    n_scenarios: int
    seeds: list[int]
    max_turns: int
    max_laps: int
    registered_name: str


class LifecycleState(LifecycleInput, total=False):
    """State of one evaluation lifecycle thread; every artifact is also in MLflow (ids kept here)."""

    lap: int
    stage: str
    gate_seq: int
    instruction: str  # the reason or instructions of the last reject / revise, for the stage that re-runs
    last_decision: dict[str, Any]
    dataset: dict[str, Any]
    runs: Annotated[dict[str, Any], merge_dicts]  # stage -> MLflow run id(s)
    traces: dict[str, list[dict[str, Any]]]  # "candidate" | "baseline" -> SimulationTrace dicts
    judgments: dict[str, list[dict[str, Any]]]
    analysis: dict[str, Any]
    comparison: dict[str, Any]
    deployment: dict[str, Any]
    feedback: dict[str, Any]
    history: Annotated[list[dict[str, Any]], append_list]
    dataset_draft: dict[str, Any] | None  # a dataset being edited in a conversation, not yet created


class SupervisorState(LifecycleState, total=False):
    """State of a supervisor thread (multi-turn: messages and context persist in the checkpointer).

    A thread belongs to one project (``project_id``); the lifecycle agents keep their work in the lifecycle keys,
    so each stage runs the same code as the batch lifecycle and stops at the same gates."""

    messages: Annotated[list[AnyMessage], add_messages]
    route: dict[str, Any]
    answer: dict[str, Any]
    context: Annotated[dict[str, Any], merge_dicts]
    evidence: list[dict[str, Any]]
    pending_gate: str | None  # the stage whose gate the agent just reached
    waiting_at: str | None  # the gate node the thread waits at (a new message re-asks it instead of abandoning it)


StageRuntime = Runtime[LifecycleConfig] | ToolRuntime[LifecycleConfig, Any] | None  # a node's or a tool's runtime


def lifecycle_config(runtime: StageRuntime) -> LifecycleConfig:
    """The run's lifecycle configuration: the runtime context (a node's or a tool's), else the defaults (a caller
    that passed none)."""
    context = runtime.context if runtime is not None else None
    return context if isinstance(context, LifecycleConfig) else DEFAULTS
