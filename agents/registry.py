"""The one registry of opsgraph's nine agents: name, kind, one-line description, and how to build each.

The router, the supervisor, the chat rendering, the agents report and the benchmarks read it; nothing else lists
the agent names. ``entry`` is the agent's callable as ``package.module:attribute``, imported only when built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

AgentName = Literal[
    "failure", "performance", "general", "dataset_builder", "simulator", "judge", "analyst", "comparator", "feedback"
]
AgentKind = Literal["debugging", "lifecycle"]


@dataclass(frozen=True)
class AgentSpec:
    """One agent: ``kind`` debugging (answers from telemetry with tools) or lifecycle (a stage of evaluation)."""

    name: AgentName
    kind: AgentKind
    description: str
    entry: str
    stage: str  # the MLflow stage tag of its runs
    short: str  # a column label of at most five characters

    def build(self) -> Callable[..., Any]:
        """The agent's callable (imported now, never at registry import)."""
        module, _, attribute = self.entry.partition(":")
        return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


_DEBUG = "agents.debugging.agent:run_diagnostic_agent"
AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec("failure", "debugging", "Diagnoses failures: error types, incidents, similar past cases and fixes.",
              _DEBUG, "failure", "fail"),
    AgentSpec("performance", "debugging", "Explains latency, throughput, token and cost distributions by model.",
              _DEBUG, "performance", "perf"),
    AgentSpec("general", "debugging", "Answers general questions and searches past interactions (RAG).",
              _DEBUG, "general", "gen"),
    AgentSpec("dataset_builder", "lifecycle", "Builds and revises an evaluation dataset from a target's metadata.",
              "agents.dataset_builder.agent:build_dataset", "dataset", "data"),
    AgentSpec("simulator", "lifecycle", "Simulates multi-turn conversations between a simulated user and a target.",
              "agents.simulator.agent:simulate", "simulation", "sim"),
    AgentSpec("judge", "lifecycle", "Scores each simulated conversation against its scenario with a rubric.",
              "agents.judge.agent:judge", "judging", "judge"),
    AgentSpec("analyst", "lifecycle", "Aggregates judgments into a report: pass rates, breakdowns, expectations.",
              "agents.analyst.agent:analyze", "analytics", "anlst"),
    AgentSpec("comparator", "lifecycle", "Compares a candidate version with the baseline on the same scenarios.",
              "agents.comparator.agent:compare_runs", "comparison", "cmp"),
    AgentSpec("feedback", "lifecycle", "Turns production feedback into themes and new evaluation scenarios.",
              "agents.feedback.agent:build_feedback_report", "feedback", "fdbk"),
)
AGENT_NAMES: tuple[AgentName, ...] = get_args(AgentName)
DEFAULT_AGENT: AgentName = "general"
_BY_NAME = {spec.name: spec for spec in AGENTS}
assert tuple(_BY_NAME) == AGENT_NAMES, "AgentName and AGENTS must list the same agents in the same order"


def get_agent(name: str) -> AgentSpec:
    """The spec of agent ``name``; a clear KeyError names the known agents."""
    try:
        return _BY_NAME[name]  # type: ignore[index]
    except KeyError:
        raise KeyError(f"no agent {name!r}; agents: {', '.join(AGENT_NAMES)}") from None


def agents_of_kind(kind: AgentKind) -> tuple[AgentName, ...]:
    """The names of the agents of ``kind``, in registry order."""
    return tuple(spec.name for spec in AGENTS if spec.kind == kind)
