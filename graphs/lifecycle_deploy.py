"""Deployment through the MLflow registry with a gated progressive rollout, rollback, and production feedback."""

from __future__ import annotations

from typing import Any

from analytics.judgment_stats import verdict_counts
from core.contracts import SimulationTrace
from graphs.state import LifecycleState, StageRuntime, lifecycle_config


def step_metrics(state: LifecycleState) -> dict[str, float]:
    """The guardrail metrics shown at a rollout step: the candidate's judged pass rate, error rate and p95 latency
    of its simulated conversations (offline there is no live traffic; a live deployment feeds real metrics here)."""
    judgments = state["judgments"]["candidate"]
    traces = [SimulationTrace.model_validate(t) for t in state["traces"]["candidate"]]
    latencies = sorted(t.latency_ms for tr in traces for t in tr.turns if t.role == "assistant")
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0.0
    return {"pass_rate": round(verdict_counts(judgments)["pass_rate"], 4),
            "error_rate": round(sum(tr.outcome == "error" for tr in traces) / max(1, len(traces)), 4),
            "latency_p95_ms": round(float(p95), 1)}


def deploy_stage(state: LifecycleState) -> dict[str, Any]:
    """Deployment: register the candidate (full config, loadable pyfunc) and mark it challenger; plan the rollout."""
    from agents.targets import target_from_ref
    from services.model_registry import CHALLENGER, RolloutPlan, champion, register_agent, set_alias

    meta = target_from_ref(state["candidate"]).metadata
    config = {"name": meta.name, "version": meta.version, "system_prompt": meta.system_prompt, "model": meta.model,
              "tools": meta.tools, "description": meta.description}
    name = state["registered_name"]
    metrics = step_metrics(state)
    version = register_agent(config, name, state["project_id"], metrics=metrics,
                             dataset_version=str(state["dataset"]["version"]))
    set_alias(name, CHALLENGER, version)
    plan = RolloutPlan(registered_name=name, candidate_version=version)
    return {"deployment": {"registered_name": name, "version": version, "previous_champion": champion(name),
                           "plan": plan.model_dump(mode="json"), "status": "rolling_out"},
            "stage": "deployment", "instruction": ""}


def rollout_step(state: LifecycleState) -> dict[str, Any]:
    """After an approved rollout gate: advance the plan (a guardrail breach halts it); at 100 % promote to champion.
    After a rejected one, or a halt: withdraw the candidate, so the previous champion serves all traffic again."""
    from services.model_registry import RolloutPlan, promote_to_champion, withdraw_challenger

    dep = dict(state["deployment"])
    plan = RolloutPlan.model_validate(dep["plan"])
    decision = (state.get("last_decision") or {}).get("decision")
    name, version, project = dep["registered_name"], dep["version"], state["project_id"]
    if decision == "reject":
        reason = state.get("instruction", "")
        dep.update(status="rolled_back", rollback=withdraw_challenger(name, version, project, reason), reason=reason)
        plan.status = "halted"
    else:
        outcome = plan.advance(step_metrics(state))
        if outcome.action == "complete":
            dep.update(status="champion", promotion=promote_to_champion(name, version, project))
        elif outcome.action == "halt":
            reason = "; ".join(outcome.reasons)
            dep.update(status="rolled_back", rollback=withdraw_challenger(name, version, project, reason),
                       reason=reason)
    dep["plan"] = plan.model_dump(mode="json")
    return {"deployment": dep, "instruction": ""}


def serving_agent(state: LifecycleState) -> dict[str, Any]:
    """The version serving production: the candidate once this thread promoted it, else the baseline (the
    champion it was compared with)."""
    promoted = (state.get("deployment") or {}).get("status") == "champion"
    return dict(state["candidate"] if promoted else state["baseline"])


def feedback_stage(state: LifecycleState, runtime: StageRuntime = None) -> dict[str, Any]:
    """Feedback: production feedback on the serving version's traffic (the rows attributed to it; fleet-wide,
    and said so, when none are) in the latest window vs the period before; themes and proposed scenarios for the
    next dataset. The telemetry is the thread's project's, or the default project's when it holds none."""
    import datetime as dt

    from agents.feedback.agent import collect_feedback, log_feedback_report, scenarios_for_dataset
    from core.bootstrap import open_database
    from core.projects import DEFAULT_PROJECT
    from services.telemetry import attributed_count, data_end

    db = open_database()
    with db.conn:
        project = state["project_id"] if data_end(db.conn, state["project_id"]) else DEFAULT_PROJECT
        last = data_end(db.conn, project)
        if last is None:
            return {"feedback": {"status": "no telemetry ingested"}, "stage": "feedback", "instruction": ""}
        config = lifecycle_config(runtime)
        end = dt.datetime.fromisoformat(last).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
        start = end - dt.timedelta(days=config.feedback_window_days)
        ref = serving_agent(state)
        agent = (str(ref["name"]), str(ref["version"]))
        attributed = attributed_count(db.conn, project, agent, start, end)
        report = collect_feedback(db.conn, start, end, use_case=None if attributed else "customer_support",
                                  baseline_days=config.feedback_baseline_days, project=project,
                                  agent=agent if attributed else None)
    note = "" if attributed else (
        f"No telemetry of project {project} in the window is attributed to {agent[0]}@{agent[1]} yet (rows name "
        "their agent in agent_name / agent_version columns, or with the OTLP attributes gen_ai.agent.name / "
        "gen_ai.agent.version or service.name / service.version): these figures are fleet-wide.")
    run_id = log_feedback_report(report, state["project_id"])
    themes = [t.model_dump(mode="json") for t in scenarios_for_dataset(report)]
    return {"feedback": {**report.model_dump(mode="json", exclude={"html"}), "themes_for_dataset": themes,
                         "attributed": attributed, "scope_note": note},
            "runs": {"feedback": run_id}, "stage": "feedback", "instruction": "", "lap": (state.get("lap") or 1)}
