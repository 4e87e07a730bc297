"""The lifecycle's stage nodes: each does one stage's work, logs it to MLflow and returns a partial update.

Stages run only after the gate before them was approved, and each finishes in its own checkpoint, so resuming a
thread never re-runs finished work. Simulation also checkpoints every finished conversation to a JSONL file, so
a crash in the middle of it re-runs only the unfinished scenarios.
"""

from __future__ import annotations

from typing import Any

from langgraph.config import get_config

from core.contracts import Dataset, FeedbackTheme, JudgeInput, Judgment, SimulationTrace
from core.settings import get_settings
from graphs.state import LifecycleState, StageRuntime, lifecycle_config

ROLES = ("candidate", "baseline")


def _thread_id() -> str:
    try:
        return str(get_config().get("configurable", {}).get("thread_id", "no-thread"))
    except RuntimeError:  # called outside a graph (``opsgraph stage ...``)
        return "cli"


def _agent(state: LifecycleState, role: str) -> dict[str, str]:
    return state[role]  # type: ignore[literal-required, no-any-return]


def _dataset(state: LifecycleState) -> Dataset:
    return Dataset.model_validate(state["dataset"])


def build_dataset_stage(state: LifecycleState) -> dict[str, Any]:
    """Dataset: propose (or revise on the person's instructions) scenarios for the candidate; version in MLflow."""
    from agents.dataset_builder.agent import build_dataset, log_dataset, revise_dataset
    from agents.targets import target_from_ref

    target = target_from_ref(_agent(state, "candidate"))
    previous = state.get("dataset")
    decision = (state.get("last_decision") or {}).get("decision")
    if state.get("dataset_draft"):  # agreed on in a conversation with the dataset builder
        ds = Dataset.model_validate(state["dataset_draft"])
    elif previous and decision == "revise" and state.get("instruction"):
        ds = revise_dataset(Dataset.model_validate(previous), state["instruction"])
    else:
        themes = [FeedbackTheme.model_validate(t) for t in (state.get("feedback") or {}).get("themes_for_dataset", [])]
        ds = build_dataset(target, n=state["n_scenarios"], feedback_report=themes or None)
    if previous:
        ds = ds.model_copy(update={"version": int(previous.get("version", 1)) + 1})
    run_id = log_dataset(ds, state["project_id"])
    return {"dataset": ds.model_dump(mode="json"), "runs": {"dataset": run_id}, "stage": "dataset",
            "instruction": "", "lap": state.get("lap") or 1, "dataset_draft": None}


def simulate_stage(state: LifecycleState, runtime: StageRuntime = None) -> dict[str, Any]:
    """Simulation: multi-turn conversations of every scenario x seed against the candidate and the baseline."""
    from agents.simulator.agent import JsonlCheckpoint, log_traces, simulate
    from agents.targets import target_from_ref

    ds = _dataset(state)
    out: dict[str, list[dict[str, Any]]] = {}
    runs: dict[str, str] = {}
    for role in ROLES:
        ref = _agent(state, role)
        ckpt = JsonlCheckpoint(get_settings().home_dir / "lifecycle" / _thread_id() /
                               f"sim_{role}_{ref['name']}_{ref['version']}_d{ds.version}.jsonl")
        simulate(ds, target_from_ref(ref), seeds=state["seeds"], max_turns=state["max_turns"],
                 workers=lifecycle_config(runtime).workers, done_ids=ckpt.done_ids(), on_trace=ckpt)
        traces = ckpt.traces()
        out[role] = [t.model_dump(mode="json") for t in traces]
        runs[f"simulation_{role}"] = log_traces(traces, state["project_id"], dataset_version=str(ds.version),
                                                params={"role": role})
    return {"traces": out, "runs": runs, "stage": "simulation", "instruction": ""}


def judge_stage(state: LifecycleState) -> dict[str, Any]:
    """Judging: score every trace against its scenario's expected behaviour with the rubric."""
    from agents.judge.agent import judge, log_judgments

    ds = _dataset(state)
    scenarios = {s.id: s for s in ds.scenarios}
    out: dict[str, list[dict[str, Any]]] = {}
    runs: dict[str, str] = {}
    for role in ROLES:
        traces = [SimulationTrace.model_validate(t) for t in state["traces"][role]]
        items = [JudgeInput(scenario=scenarios[t.scenario_id], trace=t) for t in traces]
        latencies: list[float] = []
        judgments = judge(items, project=state["project_id"], latencies=latencies)
        out[role] = [j.model_dump(mode="json") for j in judgments]
        runs[f"judging_{role}"] = log_judgments(judgments, state["project_id"], dataset_version=str(ds.version),
                                                dataset=ds, items=items, latencies=latencies)
    return {"judgments": out, "runs": runs, "stage": "judging", "instruction": ""}


def _judgments(state: LifecycleState, role: str) -> list[Judgment]:
    return [Judgment.model_validate(j) for j in state["judgments"][role]]


def analyze_stage(state: LifecycleState) -> dict[str, Any]:
    """Analytics: what to expect from the candidate in production (pass rate with CI, breakdowns, reasons)."""
    from agents.analyst.agent import analyze, log_analyst_report

    ds = _dataset(state)
    ref = _agent(state, "candidate")
    report = analyze(_judgments(state, "candidate"), ds)
    run_id = log_analyst_report(report, state["project_id"], agent_id=f"{ref['name']}@{ref['version']}",
                                dataset_version=str(ds.version))
    return {"analysis": report.model_dump(mode="json", exclude={"html"}), "runs": {"analytics": run_id},
            "stage": "analytics", "instruction": ""}


def compare_stage(state: LifecycleState) -> dict[str, Any]:
    """Comparison: candidate vs baseline on the same scenarios and seeds, with paired statistics."""
    from agents.comparator.agent import compare_runs, log_comparison

    ds = _dataset(state)
    a, b = _agent(state, "baseline"), _agent(state, "candidate")
    report = compare_runs(_judgments(state, "baseline"), _judgments(state, "candidate"), ds,
                          label_a=f"{a['name']}@{a['version']}", label_b=f"{b['name']}@{b['version']}")
    run_id = log_comparison(report, state["project_id"], dataset_version=str(ds.version))
    return {"comparison": report.model_dump(mode="json", exclude={"html"}), "runs": {"comparison": run_id},
            "stage": "comparison", "instruction": ""}
