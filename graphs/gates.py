"""The lifecycle's stage gates: what each gate shows a person, built from the state (no side effects), and the
gate node that asks through the one approval primitive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analytics.judgment_stats import verdict_counts
from graphs.approval import ApprovalRequest, DecisionKind, request_approval
from graphs.audit import write_audit
from graphs.projects import load_policy
from graphs.state import LifecycleState

Summary = tuple[str, dict[str, float | int | str]]


def _runs(state: LifecycleState, *keys: str) -> list[str]:
    runs = state.get("runs") or {}
    return [f"mlflow run {k}: {runs[k]}" for k in keys if k in runs]


def dataset_summary(state: LifecycleState) -> Summary:
    """What the dataset gate shows."""
    ds = state["dataset"]
    val = ds.get("validation") or {}
    cats = sorted({s["category"] for s in ds["scenarios"]})
    text = (f"Dataset {ds['name']} v{ds['version']}: {len(ds['scenarios'])} scenarios in {len(cats)} categories "
            f"({', '.join(cats)}); quality score {val.get('score', 0):.2f} "
            f"({'passed' if val.get('passed') else 'below'} the {val.get('threshold', 0):.2f} threshold).")
    return text, {"scenarios": len(ds["scenarios"]), "categories": len(cats),
                  "quality_score": round(float(val.get("score", 0)), 3),
                  "near_duplicates": len(val.get("near_duplicates", []))}


def simulation_summary(state: LifecycleState) -> Summary:
    """What the simulation gate shows."""
    metrics: dict[str, float | int | str] = {}
    parts = []
    for role, traces in state["traces"].items():
        goal = sum(t["outcome"] == "goal_met" for t in traces) / max(1, len(traces))
        errors = sum(t["outcome"] == "error" for t in traces)
        metrics.update({f"{role}_traces": len(traces), f"{role}_goal_met": round(goal, 3), f"{role}_errors": errors})
        parts.append(f"{role}: {len(traces)} conversations, goal met in {goal:.0%}, {errors} errors")
    return "Simulation finished. " + "; ".join(parts) + ".", metrics


def judging_summary(state: LifecycleState) -> Summary:
    """What the judging gate shows."""
    metrics: dict[str, float | int | str] = {}
    parts = []
    for role, js in state["judgments"].items():
        counts = verdict_counts(js)
        rate, unsure = counts["pass_rate"], counts["uncertain"]
        mean = sum(j["score"] for j in js) / max(1, len(js))
        metrics.update({f"{role}_pass_rate": round(rate, 3), f"{role}_mean_score": round(mean, 2),
                        f"{role}_uncertain": unsure})
        parts.append(f"{role}: pass rate {rate:.0%}, mean score {mean:.2f} over {len(js)} judgments"
                     + (f" ({unsure} uncertain, left out of the pass rate and waiting for review: /review "
                        f"{state['project_id']} in the chat, or `opsgraph judge review --project "
                        f"{state['project_id']}`)" if unsure else ""))
    return "Judging finished. " + "; ".join(parts) + ".", metrics


def analytics_summary(state: LifecycleState) -> Summary:
    """What the analytics gate shows."""
    overall = state["analysis"]["aggregates"]["overall"]
    text = (f"Candidate pass rate {overall['pass_rate']:.0%} "
            f"(95% CI {overall['ci_low']:.0%}-{overall['ci_high']:.0%}), "
            f"mean score {overall['mean_score']:.2f} over {overall['n']} judged conversations.")
    return text, {k: round(float(overall[k]), 3) for k in ("pass_rate", "ci_low", "ci_high", "mean_score")}


def comparison_summary(state: LifecycleState) -> Summary:
    """What the comparison gate shows."""
    cmp = state["comparison"]
    stats = cmp["comparison"]
    metrics: dict[str, float | int | str] = {
        "winner": str(cmp.get("winner_label") or "none"), "significant": str(cmp["significant"]),
        "mean_diff": round(stats["mean_diff"], 3), "ci_low": round(stats["ci_low"], 3),
        "ci_high": round(stats["ci_high"], 3), "wilcoxon_p": round(stats["wilcoxon"]["p"], 4),
        "mcnemar_p": round(stats["mcnemar"]["p"], 4), "scenarios": stats["n_scenarios"]}
    return str(cmp["recommendation"]), metrics


def rollout_summary(state: LifecycleState) -> Summary:
    """What a rollout-step gate shows (that step's metrics against the guardrails)."""
    from graphs.lifecycle_deploy import step_metrics

    dep = state["deployment"]
    plan = dep["plan"]
    pct = plan["steps"][plan["current_step"]]
    m = step_metrics(state)
    text = (f"{dep['registered_name']} version {dep['version']} serves {pct}% of traffic "
            f"(previous champion: {dep.get('previous_champion') or 'none'}). Approve to "
            f"{'promote it to champion' if pct == 100 else 'go to the next step'}; reject to roll back.")
    return text, {"traffic_percent": pct, **m}


def deployment_summary(state: LifecycleState) -> Summary:
    """What the deployment -> feedback gate shows."""
    dep = state["deployment"]
    return (f"Deployment finished: {dep['registered_name']} version {dep['version']} is {dep['status']}.",
            {"status": dep["status"], "version": dep["version"]})


def feedback_summary(state: LifecycleState) -> Summary:
    """What the feedback -> dataset gate shows."""
    fb = state["feedback"]
    seeds = fb.get("themes_for_dataset", [])
    themes = list(dict.fromkeys(t.get("theme", "") for t in seeds))
    scope = f" on {fb['scope']}" if fb.get("scope") else ""
    text = (f"Production feedback collected{scope} ({fb.get('n_interactions', 0)} interactions in the window); "
            f"{len(seeds)} scenarios from {len(themes)} themes proposed for the next dataset: " + "; ".join(themes[:5])
            + (f"\n\n{fb['scope_note']}" if fb.get("scope_note") else ""))
    metrics: dict[str, float | int | str] = {
        k: v for k, v in (fb.get("window") or {}).items() if isinstance(v, int | float)}
    return text, metrics


def make_gate(stage_from: str, stage_to: str, summary: Callable[[LifecycleState], Summary],
              artifacts: tuple[str, ...] = (), allowed: tuple[DecisionKind, ...] = ("approve", "reject", "revise"),
              ) -> Callable[..., dict[str, Any]]:
    """A gate node: show the summary, pause for a decision (or automation), record it in state and the audit."""
    def gate(state: LifecycleState) -> dict[str, Any]:
        text, metrics = summary(state)
        frm, to = stage_from, stage_to
        if stage_from == "rollout":
            plan = state["deployment"]["plan"]
            frm = f"rollout {plan['steps'][plan['current_step']]}%"
            nxt = plan["current_step"] + 1
            to = f"rollout {plan['steps'][nxt]}%" if nxt < len(plan["steps"]) else "champion"
        request = ApprovalRequest(project_id=state["project_id"], stage_from=frm, stage_to=to, summary=text,
                                  metrics=metrics, artifacts=_runs(state, *artifacts), allowed=list(allowed),
                                  gate_seq=state.get("gate_seq", 0))
        decision = request_approval(request, policy=load_policy(state["project_id"]), audit=write_audit)
        record = {"gate": f"{frm}->{to}", "seq": request.gate_seq, **decision.model_dump(mode="json")}
        return {"last_decision": record, "gate_seq": request.gate_seq + 1, "history": [record],
                "instruction": decision.comment if decision.decision != "approve" else ""}
    gate.__name__ = f"gate_{stage_from}_to_{stage_to}"
    gate.__doc__ = f"Approval gate between {stage_from} and {stage_to}."
    return gate
