"""The evaluation lifecycle graph: dataset -> simulation -> judging -> analytics -> comparison -> deployment
(gated rollout via the MLflow registry) -> production feedback -> back to the dataset.

Every transition is a gate (an ``interrupt()`` held in the Postgres checkpointer): approve moves on, reject sends
the work back to the stage that produced it with the reason, revise re-runs it with the instructions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from core.lifecycle_config import LifecycleConfig
from graphs import gates as g
from graphs.lifecycle_deploy import deploy_stage, feedback_stage, rollout_step
from graphs.lifecycle_stages import analyze_stage, build_dataset_stage, compare_stage, judge_stage, simulate_stage
from graphs.projects import ensure_project
from graphs.state import LifecycleInput, LifecycleState, lifecycle_config

# (stage node, its function, gate summary, next node after approval, MLflow runs shown)
StageFn = Callable[..., dict[str, Any]]
PIPELINE: list[tuple[str, StageFn, Callable[..., g.Summary], str, tuple[str, ...]]] = [
    ("dataset", build_dataset_stage, g.dataset_summary, "simulation", ("dataset",)),
    ("simulation", simulate_stage, g.simulation_summary, "judging", ("simulation_candidate", "simulation_baseline")),
    ("judging", judge_stage, g.judging_summary, "analytics", ("judging_candidate", "judging_baseline")),
    ("analytics", analyze_stage, g.analytics_summary, "comparison", ("analytics",)),
    ("comparison", compare_stage, g.comparison_summary, "deployment", ("comparison",)),
]
STAGES = ("dataset", "simulation", "judging", "analytics", "comparison", "deployment", "feedback")


def start_project(state: LifecycleState, runtime: Runtime[LifecycleConfig] | None = None) -> dict[str, Any]:
    """Register the project and fill the run's values that the caller left out from the lifecycle defaults (they
    stay in the checkpointed state, so a resume elsewhere keeps them)."""
    chosen = {**lifecycle_config(runtime).run_inputs(), **{k: v for k, v in state.items() if v is not None}}
    cand = chosen["candidate"]
    ensure_project(state["project_id"], f"{cand['name']}@{cand['version']}")
    keys = ("candidate", "baseline", "n_scenarios", "seeds", "max_turns", "max_laps", "registered_name")
    return {**{k: chosen[k] for k in keys}, "lap": 1, "gate_seq": 0}


def _after_gate(approve_to: str, back_to: str) -> Callable[[LifecycleState], str]:
    def route(state: LifecycleState) -> str:
        return approve_to if state["last_decision"]["decision"] == "approve" else back_to
    route.__name__ = f"route_after_{back_to}_gate"
    return route


def route_rollout(state: LifecycleState) -> str:
    """After a rollout step: keep rolling out, or move to the deployment -> feedback gate when finished."""
    return "gate_rollout" if state["deployment"]["status"] == "rolling_out" else "gate_deployment"


def route_next_lap(state: LifecycleState) -> str:
    """After feedback: another lap (gated back to the dataset) or the end."""
    return "gate_feedback" if state.get("lap", 1) < state.get("max_laps", 1) else END


def next_lap(state: LifecycleState) -> dict[str, Any]:
    """Start the next lap: the dataset builder takes in the feedback's proposed scenarios."""
    return {"lap": state.get("lap", 1) + 1}


def build_lifecycle() -> StateGraph[LifecycleState, LifecycleConfig, LifecycleInput, LifecycleState]:
    """The lifecycle graph builder (compile with a checkpointer; the server supplies its own)."""
    graph = StateGraph(LifecycleState, input_schema=LifecycleInput, context_schema=LifecycleConfig)
    graph.add_node("start_project", start_project)
    graph.add_edge(START, "start_project")
    graph.add_edge("start_project", "dataset")
    for stage, fn, summary, nxt, artifacts in PIPELINE:
        graph.add_node(stage, fn)
        graph.add_node(f"gate_{stage}", g.make_gate(stage, nxt, summary, artifacts))
        graph.add_edge(stage, f"gate_{stage}")
        graph.add_conditional_edges(f"gate_{stage}", _after_gate(nxt, stage), [nxt, stage])
    graph.add_node("deployment", deploy_stage)
    graph.add_node("gate_rollout", g.make_gate("rollout", "rollout", g.rollout_summary, allowed=("approve", "reject")))
    graph.add_node("rollout_step", rollout_step)
    graph.add_node("gate_deployment", g.make_gate("deployment", "feedback", g.deployment_summary))
    graph.add_node("feedback", feedback_stage)
    graph.add_node("gate_feedback", g.make_gate("feedback", "dataset", g.feedback_summary, ("feedback",)))
    graph.add_node("next_lap", next_lap)
    graph.add_edge("deployment", "gate_rollout")
    graph.add_edge("gate_rollout", "rollout_step")
    graph.add_conditional_edges("rollout_step", route_rollout, ["gate_rollout", "gate_deployment"])
    graph.add_conditional_edges("gate_deployment", _after_gate("feedback", "deployment"), ["feedback", "deployment"])
    graph.add_conditional_edges("feedback", route_next_lap, ["gate_feedback", END])
    graph.add_conditional_edges("gate_feedback", _after_gate("next_lap", "feedback"), ["next_lap", "feedback"])
    graph.add_edge("next_lap", "dataset")
    return graph
