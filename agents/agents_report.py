"""Agents report (self-evaluation): how opsgraph's own agents behave, from their MLflow runs and small probes.

Per agent (dataset_builder, simulator, judge, analyst, comparator, feedback, and failure / performance / general
when they have runs): run counts, status-based error rate and run durations from ``mlflow.search_runs`` over the
project's experiment (grouped by the ``opsgraph_agent`` tag, else the ``stage`` tag), cost from cost metrics when
runs logged any; determinism by re-running a deterministic sub-task twice (same inputs, same seed) and comparing
outputs, with the probe's wall time as latency; adherence to the agent's contract (the judge's agreement with
labelled traces from ``agents.judge.agreement.judge_agreement``, citation and consistency checks for the others).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from agents.registry import AGENTS as AGENT_SPECS
from agents.registry import agents_of_kind
from analytics.report_render import Block, Bullets, Heading, Paragraph, Table, to_html, to_markdown

AGENTS: tuple[str, ...] = (*agents_of_kind("lifecycle"), *agents_of_kind("debugging"))
# stage tag -> agent, for runs without an ``opsgraph_agent`` tag (the analyst's runs carry one: stage "analytics"
# without it is the telemetry analytics)
STAGE_AGENTS = {**{spec.stage: spec.name for spec in AGENT_SPECS}, "analytics": "analytics"}
COST_METRICS = ("llm_cost_usd", "cost_usd", "cost_usd_total")
FAILED_STATUSES = ("FAILED", "KILLED")


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series([None] * len(df), index=df.index, dtype=object)


def run_stats(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per agent: runs, finished, failed, error_rate, duration_s_mean / p95, cost_usd (None without cost
    metrics), plus the quality metrics some stages log. ``runs`` is an ``mlflow.search_runs`` frame."""
    if runs.empty:
        return {}
    agent = _col(runs, "tags.opsgraph_agent").fillna(_col(runs, "tags.stage").map(STAGE_AGENTS))
    out: dict[str, dict[str, Any]] = {}
    for name, sub in runs.groupby(agent):
        status = sub["status"].astype(str)
        done = sub[status == "FINISHED"]
        secs = (pd.to_datetime(done["end_time"]) - pd.to_datetime(done["start_time"])).dt.total_seconds().dropna()
        failed = int(status.isin(FAILED_STATUSES).sum())
        costs = [c for c in (f"metrics.{m}" for m in COST_METRICS) if c in sub and sub[c].notna().any()]
        row: dict[str, Any] = {
            "runs": len(sub), "finished": len(done), "failed": failed,
            "error_rate": failed / max(1, len(done) + failed),
            "duration_s_mean": float(secs.mean()) if len(secs) else None,
            "duration_s_p95": float(np.percentile(secs, 95)) if len(secs) else None,
            "cost_usd": float(sum(sub[c].fillna(0).sum() for c in costs)) if costs else None,
            "cost_source": ", ".join(c.removeprefix("metrics.") for c in costs) or None,
            "last_run": str(pd.to_datetime(sub["start_time"]).max()),
        }
        for metric in ("quality_score", "quality_passed", "error_rate", "pass_rate", "uncertain",
                       "judge_latency_ms_mean", "judge_latency_ms_p95", "judge_tokens"):
            col = f"metrics.{metric}"
            if col in sub and sub[col].notna().any():
                row[f"mean_{metric}"] = float(sub[col].mean())
        out[str(name)] = row
    return out


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def _twice(task: str, fn: Callable[[], Any], key: Callable[[Any], Any]) -> tuple[dict[str, Any], Any]:
    """Run ``fn`` twice; identical when ``key`` of both outputs serialises to the same JSON."""
    (a, ta), (b, tb) = _timed(fn), _timed(fn)
    same = json.dumps(key(a), sort_keys=True, default=str) == json.dumps(key(b), sort_keys=True, default=str)
    return {"task": task, "identical": same, "seconds": [round(ta, 4), round(tb, 4)]}, a


def probe_agents(n: int = 6) -> dict[str, dict[str, Any]]:
    """Determinism, latency and adherence probes of the evaluation agents on the sample support target."""
    from agents.analyst.agent import analyze
    from agents.comparator.agent import compare_runs
    from agents.dataset_builder.agent import build_dataset
    from agents.feedback.agent import build_feedback_report
    from agents.judge.agent import judge
    from agents.simulator.agent import simulate
    from agents.targets import get_target
    from core.contracts import JudgeInput

    v1, v2 = get_target("support", "v1"), get_target("support", "v2")
    out: dict[str, dict[str, Any]] = {}
    out["dataset_builder"], ds = _twice(f"build_dataset(support v1, n={n})", lambda: build_dataset(
        v1, n=n, validate=False), lambda d: d.model_dump(mode="json"))
    out["dataset_builder"]["adherence"] = {"value": float(all(s.expected_behavior and s.opening_message
                                                              for s in ds.scenarios)), "check": "no empty field"}

    def transcript(trs: list[Any]) -> list[Any]:
        return [(t.scenario_id, t.seed, t.outcome, [(x.role, x.text) for x in t.turns]) for t in trs]

    out["simulator"], traces = _twice("simulate(seed 0) of every scenario",
                                      lambda: simulate(ds, v1, seeds=[0], workers=1), transcript)
    other = {t.scenario_id: transcript([t])[0][3] for t in simulate(ds, v1, seeds=[1], workers=1)}
    varied = sum(transcript([t])[0][3] != other[t.scenario_id] for t in traces) / max(1, len(traces))
    out["simulator"]["seed_variation"] = round(varied, 4)
    out["simulator"]["adherence"] = {"value": 1 - sum(t.outcome == "error" for t in traces) / max(1, len(traces)),
                                     "check": "conversations without an error outcome"}
    items = [JudgeInput(scenario=ds.scenario(t.scenario_id), trace=t) for t in traces]
    out["judge"], judged = _twice("judge the seed-0 conversations", lambda: judge(items, workers=1),
                                  lambda js: [j.model_dump(mode="json") for j in js])
    out["analyst"], report = _twice("analyze the judgments", lambda: analyze(judged, ds),
                                    lambda r: [r.key_findings, r.aggregates, r.production_expectation])
    cited = sum(bool(re.search(r"\d", f)) for f in report.key_findings) / max(1, len(report.key_findings))
    out["analyst"]["adherence"] = {"value": cited, "check": "key findings that cite a number"}
    judged_v2 = judge([JudgeInput(scenario=ds.scenario(t.scenario_id), trace=t)
                       for t in simulate(ds, v2, seeds=[0], workers=1)], workers=1)
    out["comparator"], cmp = _twice("compare_runs(v1, v2)", lambda: compare_runs(judged, judged_v2, ds, n_boot=500),
                                    lambda r: [r.comparison, r.recommendation])
    named = (cmp.winner_label or cmp.label_a) in cmp.recommendation
    out["comparator"]["adherence"] = {"value": float(named), "check": "the recommendation names the decision's "
                                                                     "winner (or the kept baseline)"}
    frame = pd.DataFrame([{"interaction_id": f"{j.scenario_id}-s{j.seed}", "prompt_text": ds.scenario(
        j.scenario_id).opening_message, "user_feedback_label": "positive" if j.passed else "negative",
        "user_reported_issue": False, "final_resolution_state": "auto_resolved", "is_failure": not j.passed,
        "failure_type": "none" if j.passed else "judged_failure", "model_name": "support-v1",
        "use_case": "customer_support"} for j in judged if j.passed is not None])  # uncertain ones: no signal
    now = pd.Timestamp("2025-01-02", tz="UTC").to_pydatetime()
    out["feedback"], fb = _twice("themes and scenarios from the judged failures", lambda: build_feedback_report(
        frame, frame.iloc[:0], now, now, now), lambda r: r.model_dump(mode="json"))
    theme_ids = {i for t in fb.themes for i in t.interaction_ids}
    ok = sum(bool(p.interaction_ids) and set(p.interaction_ids) <= theme_ids for p in fb.proposed_scenarios)
    out["feedback"]["adherence"] = {"value": ok / max(1, len(fb.proposed_scenarios)),
                                    "check": "proposed scenarios citing interactions of their theme"}
    return out


def _fmt(x: Any, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def render_agents_report(project_id: str, stats: dict[str, dict[str, Any]], probes: dict[str, dict[str, Any]],
                         agreement: dict[str, Any] | None) -> tuple[str, str]:
    """Markdown and HTML of the agents report."""
    names = [a for a in AGENTS if a in stats or a in probes] + sorted(set(stats) - set(AGENTS))
    rows = []
    for a in names:
        s, p = stats.get(a, {}), probes.get(a, {})
        adh = p.get("adherence", {})
        rows.append([a, str(s.get("runs", 0)), str(s.get("failed", 0)), _fmt(s.get("error_rate"), ".1%"),
                     _fmt(s.get("duration_s_mean")), _fmt(s.get("duration_s_p95")), _fmt(s.get("cost_usd"), ".4f"),
                     _fmt(float(np.mean(p["seconds"])) if p else None, ".3f"),
                     "not probed" if p.get("identical") is None else "yes" if p["identical"] else "NO",
                     f"{adh['value']:.0%} ({adh['check']})" if adh else "-"])
    blocks: list[Block] = [
        Heading(f"Agents report (self-evaluation): {project_id}", 1),
        Paragraph("Runs, failures and durations come from the project's MLflow runs; determinism re-runs a "
                  "deterministic sub-task twice with the same inputs and seed; the probe time is its wall time."),
        Table(["agent", "runs", "failed runs", "error rate", "run s (mean)", "run s (p95)", "cost USD",
               "probe s", "deterministic", "adherence"], rows)]
    judge = stats.get("judge", {})
    if judge.get("mean_judge_latency_ms_mean") is not None:
        cost = judge.get("cost_usd")
        blocks += [Heading("The judge's own cost and latency"),
                   Paragraph(f"Per judged conversation: {judge['mean_judge_latency_ms_mean']:.1f} ms on average "
                             f"(p95 {judge.get('mean_judge_latency_ms_p95', 0):.1f} ms), "
                             f"{judge.get('mean_judge_tokens', 0):.0f} tokens per judging run; cost "
                             + ("unknown (the model is not in the price table)" if cost is None else f"${cost:.4f}")
                             + f" over {judge.get('runs', 0)} judging runs; "
                             f"{judge.get('mean_uncertain', 0):.1f} uncertain verdicts per run on average.")]
    if agreement:
        c = agreement["confusion"]
        blocks += [Heading("Judge rubric adherence"),
                   Paragraph(f"Agreement on the {agreement['n'] - len(agreement.get('uncertain', []))} spoken "
                             f"verdicts of {agreement['n']} labelled conversations: {agreement['agreement']:.1%} "
                             f"(tp {c['tp']}, tn {c['tn']}, fp {c['fp']}, fn {c['fn']}); coverage "
                             f"{agreement.get('coverage', 1):.0%}.")]
        if agreement["disagreements"]:
            blocks.append(Bullets([f"{d['id']} ({d['family']}): label {'pass' if d['label_pass'] else 'fail'}, "
                                   f"judge {'pass' if d['judge_passed'] else 'fail'}"
                                   for d in agreement["disagreements"]]))
    notes = [f"{a}: {p['task']}" + (f"; outputs differ across seeds 0/1 for {p['seed_variation']:.0%} of scenarios"
                                     if "seed_variation" in p else "") for a, p in probes.items()]
    notes += [f"{a}: cost from {s['cost_source']}" for a, s in stats.items() if s.get("cost_source")]
    if notes:
        blocks += [Heading("Probes and sources"), Bullets(notes)]
    title = f"Agents report: {project_id}"
    return to_markdown(blocks), to_html(blocks, title)


def agents_report(project_id: str, probes: bool = True, log: bool = True) -> dict[str, Any]:
    """The agents report of ``project_id`` as a dict (with markdown and html), logged to MLflow (stage
    ``self_eval``: reports/agents_report.md/.html/.json) unless ``log`` is False."""
    import mlflow

    from agents.judge.agreement import judge_agreement
    from core.tracking import ensure_experiment, stage_run

    exp_id = ensure_experiment(project_id)
    runs = mlflow.search_runs(experiment_ids=[exp_id], max_results=10000, output_format="pandas")
    if not runs.empty and "tags.stage" in runs:
        runs = runs[runs["tags.stage"] != "self_eval"]
    stats = run_stats(runs)
    probed = probe_agents() if probes else {}
    agreement = judge_agreement() if probes else None
    if agreement:
        probed.setdefault("judge", {})["adherence"] = {"value": agreement["agreement"],
                                                       "check": f"agreement with {agreement['n']} labelled traces"}
    md, html = render_agents_report(project_id, stats, probed, agreement)
    result: dict[str, Any] = {"project_id": project_id, "experiment_id": exp_id, "runs_considered": len(runs),
                              "agents": {a: {**stats.get(a, {}), "probe": probed.get(a)}
                                         for a in [*AGENTS, *sorted(set(stats) - set(AGENTS))]
                                         if a in stats or a in probed},
                              "judge_agreement": agreement, "markdown": md, "html": html, "run_id": None}
    if log:
        with stage_run(project_id, "self_eval", agent_id="opsgraph", run_name="agents-report",
                       extra_tags={"opsgraph_agent": "self_eval"}) as run:
            mlflow.log_text(md, "reports/agents_report.md")
            mlflow.log_text(html, "reports/agents_report.html")
            mlflow.log_dict({k: v for k, v in result.items() if k not in ("markdown", "html")},
                            "reports/agents_report.json")
            metrics = {f"{a}_{k}": float(v) for a, s in stats.items() for k, v in s.items()
                       if k in ("error_rate", "duration_s_mean") and v is not None}
            metrics.update({f"{a}_deterministic": float(p["identical"]) for a, p in probed.items() if "identical" in p})
            mlflow.log_metrics(metrics)
            result["run_id"] = str(run.info.run_id)
    return result
