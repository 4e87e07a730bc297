"""The analyst agent: what to expect from one agent in production, from its judged simulated conversations.

``analyze`` aggregates the judgments (``analytics.eval_stats.aggregate_judgments``: pass rate with a Wilson CI,
scores, breakdowns by category / persona / difficulty, failure reasons, pass^k) and asks
``get_chat_model(agent="analyst")`` for a structured ``AnalystSummary`` (key findings with numbers and what to
expect in production) from those aggregates; ``answer_followup`` answers a person's question about the report.
Offline both are derived from the aggregates in the request (``key_findings``, ``answer_from_aggregates``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agents.llm_io import json_request
from agents.prompts import load_prompt
from analytics.eval_report import analyst_report
from analytics.eval_stats import aggregate_judgments
from core.contracts import Dataset, Judgment, strip_provider_note
from core.offline_llm import register_structured_handler, register_text_handler
from core.providers import get_chat_model, llm_provider

GROUPS = ("category", "persona", "difficulty")
_DIFF_ORDER = {"easy": 0, "medium": 1, "hard": 2}


class AnalystSummary(BaseModel):
    """The model's structured reading of the aggregates."""

    key_findings: list[str] = Field(description="3-6 short sentences, each citing the numbers it rests on.")
    production_expectation: str = Field(description="One paragraph: what to expect on production traffic.")


class AnalystReport(BaseModel):
    """The analyst's report on one agent: aggregates, findings, expectation, Markdown and HTML."""

    agent: str
    agent_id: str = Field(description="name@version of the judged agent(s), comma-separated.")
    dataset_name: str
    dataset_version: int
    provider: str
    aggregates: dict[str, Any]
    key_findings: list[str]
    production_expectation: str
    markdown: str
    html: str


def to_jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON data: string keys, NaN/inf as None, numpy scalars as Python numbers."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _rate(row: Mapping[str, Any]) -> str:
    return f"{_pct(row['pass_rate'])} ({row['passes']}/{row['n']})"


def _rows(agg: Mapping[str, Any], group: str) -> list[dict[str, Any]]:
    return list(agg.get("breakdown", {}).get(group, []))


def _ranked(agg: Mapping[str, Any], group: str) -> list[dict[str, Any]]:
    """Breakdown rows from weakest to strongest (pass rate, then mean score, then name)."""
    return sorted(_rows(agg, group), key=lambda r: (r["pass_rate"], r["mean_score"], str(r["value"])))


def _pass_k(agg: Mapping[str, Any]) -> tuple[int, float, float] | None:
    pk = agg.get("pass_k") or {}
    if not pk.get("multi_seed"):
        return None
    k = int(pk["k"])
    return k, float(pk["pass_hat_k"][str(k)]), float(pk["pass_at_k"][str(k)])


def key_findings(agg: Mapping[str, Any]) -> list[str]:
    """Findings with numbers, computed from an ``aggregate_judgments`` result (JSON form)."""
    o, conf = agg["overall"], f"{agg['conf']:.0%}"
    out = [f"Overall pass rate {_rate(o)} over {agg['n_scenarios']} scenarios ({conf} Wilson CI "
           f"{_pct(o['ci_low'])} – {_pct(o['ci_high'])}); mean judge score {o['mean_score']:.2f}/5 "
           f"(sd {agg['score_sd']:.2f})."]
    cats = _ranked(agg, "category")
    if len(cats) > 1:
        weak, strong = cats[0], cats[-1]
        out.append(f"Weakest category: {weak['value']} at {_rate(weak)}, mean score {weak['mean_score']:.2f}; "
                   f"strongest: {strong['value']} at {_rate(strong)}, mean score {strong['mean_score']:.2f}.")
    diffs = sorted(_rows(agg, "difficulty"), key=lambda r: (_DIFF_ORDER.get(str(r["value"]), 9), str(r["value"])))
    if len(diffs) > 1:
        out.append("By difficulty: " + ", ".join(f"{r['value']} {_rate(r)}" for r in diffs) + ".")
    fr = agg["failure_reasons"]
    if fr["n_failed"]:
        top = fr["criteria"][:2]
        reasons = "; ".join(f"{c['reason']} in {c['count']} ({_pct(c['share'])} of failures, e.g. "
                            f"{', '.join(c['examples'][:2])})" for c in top)
        out.append(f"{fr['n_failed']} conversations failed; most frequent failed criteria: {reasons or 'none'}.")
    else:
        out.append("No judged conversation failed.")
    if pk := _pass_k(agg):
        k, hat, at = pk
        out.append(f"Consistency over {k} seeds: pass^{k} {_pct(hat)} of scenarios pass on every seed and pass@{k} "
                   f"{_pct(at)} on at least one, so {_pct(max(0.0, at - hat))} are flaky.")
    return out


def production_expectation(agg: Mapping[str, Any]) -> str:
    """One paragraph: the interval to expect in production and where failures will concentrate."""
    o = agg["overall"]
    text = (f"On production traffic that resembles these scenarios, expect a success rate between "
            f"{_pct(o['ci_low'])} and {_pct(o['ci_high'])} (point estimate {_pct(o['pass_rate'])}, "
            f"{o['n']} judged conversations).")
    cats = _ranked(agg, "category")
    if len(cats) > 1 and cats[0]["pass_rate"] < o["pass_rate"]:
        text += f" Failures will concentrate in {cats[0]['value']} ({_rate(cats[0])})"
        crit = agg["failure_reasons"]["criteria"]
        text += f", mostly through {crit[0]['reason']}." if crit else "."
    if o["ci_high"] - o["ci_low"] > 0.3:
        text += (f" The interval is {_pct(o['ci_high'] - o['ci_low'])} wide: judge more scenarios before relying "
                 "on the point estimate.")
    return text


def _mentioned(agg: Mapping[str, Any], q: str) -> list[tuple[str, dict[str, Any]]]:
    words = q.replace("_", " ")
    return [(g, r) for g in GROUPS for r in _rows(agg, g)
            if str(r["value"]).lower() in q or str(r["value"]).lower().replace("_", " ") in words]


def answer_from_aggregates(agg: Mapping[str, Any], question: str) -> str:
    """Answer ``question`` from the aggregates (the offline analyst's follow-up answer)."""
    q = question.lower().strip()
    group = next((g for g in GROUPS if g in q or (g == "difficulty" and "difficult" in q)), None)
    if any(w in q for w in ("categories", "personas")):
        group = "category" if "categor" in q else "persona"
    mentioned = _mentioned(agg, q)
    o = agg["overall"]
    levels = {str(r["value"]) for r in _rows(agg, "difficulty")}
    absent = [d for d in _DIFF_ORDER if re.search(rf"\b{d}\b", q) and d not in levels]
    if absent and not mentioned:
        return (f"No {' or '.join(absent)} scenarios were judged: the dataset's difficulties are "
                f"{', '.join(sorted(levels, key=lambda d: _DIFF_ORDER.get(d, 9))) or 'not recorded'}.")
    if any(w in q for w in ("weakest", "worst", "lowest", "struggl", "poorest")) or (
            any(w in q for w in ("best", "strongest", "highest")) and not mentioned):
        g = group or "category"
        ranked = _ranked(agg, g)
        if not ranked:
            return f"The aggregates have no {g} breakdown."
        best = any(w in q for w in ("best", "strongest", "highest"))
        pick = ranked[-1] if best else ranked[0]
        other = ranked[-2] if best and len(ranked) > 1 else ranked[1] if len(ranked) > 1 else None
        text = (f"The {'strongest' if best else 'weakest'} {g} is {pick['value']}: pass rate {_rate(pick)}, "
                f"mean score {pick['mean_score']:.2f}/5 ({_pct(pick['ci_low'])} – {_pct(pick['ci_high'])} CI).")
        if other:
            text += f" Next: {other['value']} at {_rate(other)}, against {_rate(o)} overall."
        return text
    if "how many" in q or "number of" in q:
        failed = any(w in q for w in ("fail", "did not pass", "didn't pass"))
        rows = [r for _, r in mentioned] or [{"value": "all", **o}]
        parts = [f"{r['n'] - r['passes'] if failed else r['passes']} of {r['n']} judged conversations"
                 f"{'' if r['value'] == 'all' else ' on ' + str(r['value']) + ' scenarios'} "
                 f"{'failed' if failed else 'passed'} (pass rate {_pct(r['pass_rate'])})" for r in rows]
        return "; ".join(parts) + "."
    if any(w in q for w in ("why", "reason", "criteri", "fail")):
        fr = agg["failure_reasons"]
        if not fr["n_failed"]:
            return "No judged conversation failed, so there are no failure reasons."
        top = "; ".join(f"{c['reason']} ({c['count']}, {_pct(c['share'])}; e.g. {', '.join(c['examples'])})"
                        for c in fr["criteria"][:3])
        return f"{fr['n_failed']} conversations failed. Failed criteria: {top or 'none recorded'}."
    if any(w in q for w in ("flaky", "consisten", "seed", "pass^", "pass@", "stable")):
        pk = _pass_k(agg)
        if pk is None:
            return "Only one seed per scenario was judged, so consistency across seeds cannot be measured."
        k, hat, at = pk
        return (f"pass^{k} = {_pct(hat)} of scenarios pass on all {k} seeds and pass@{k} = {_pct(at)} on at least "
                f"one: {_pct(max(0.0, at - hat))} are flaky.")
    if mentioned:
        return " ".join(f"{g.capitalize()} {r['value']}: pass rate {_rate(r)}, mean score {r['mean_score']:.2f}/5, "
                        f"{_pct(r['ci_low'])} – {_pct(r['ci_high'])} CI." for g, r in mentioned)
    if "distribution" in q or "score" in q:
        dist = agg["score_distribution"]
        return (f"Mean score {o['mean_score']:.2f}/5; distribution: "
                + ", ".join(f"{s}: {dist.get(str(s), 0)}" for s in range(1, 6)) + ".")
    return production_expectation(agg) + " Ask about a category, persona or difficulty, failure reasons or seeds."


def _summary_offline(messages: Sequence[BaseMessage]) -> AnalystSummary:
    agg = json_request(messages)["aggregates"]
    return AnalystSummary(key_findings=key_findings(agg), production_expectation=production_expectation(agg))


def _followup_offline(messages: Sequence[BaseMessage]) -> str:
    req = json_request(messages)
    return answer_from_aggregates(req.get("aggregates", {}), str(req.get("question", "")))


register_structured_handler(AnalystSummary, _summary_offline)
register_text_handler("analyst", _followup_offline)


def _with_findings(md: str, html_text: str, findings: list[str], expectation: str) -> tuple[str, str]:
    """Insert "Key findings" and "What to expect in production" before the score distribution section."""
    import html

    md_part = ("## Key findings\n\n" + "\n".join(f"- {f}" for f in findings)
               + f"\n\n## What to expect in production\n\n{expectation}\n\n")
    html_part = ("<h2>Key findings</h2><ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in findings)
                 + f"</ul>\n<h2>What to expect in production</h2><p>{html.escape(expectation)}</p>\n")
    md_at, html_at = md.find("## Score distribution"), html_text.find("<h2>Score distribution</h2>")
    md = md[:md_at] + md_part + md[md_at:] if md_at >= 0 else md + "\n" + md_part
    html_text = (html_text[:html_at] + html_part + html_text[html_at:] if html_at >= 0
                 else html_text.replace("</body>", html_part + "</body>"))
    return md, html_text


def analyze(judgments: Iterable[Judgment], dataset: Dataset, conf: float = 0.95) -> AnalystReport:
    """Aggregate ``judgments`` over ``dataset`` and write the analyst's report (ValueError when empty)."""
    js = list(judgments)
    agg = to_jsonable(json.loads(json.dumps(aggregate_judgments(js, dataset.scenarios, conf), default=float)))
    request = {"task": "summarize", "dataset": {"name": dataset.name, "version": dataset.version}, "aggregates": agg}
    model = get_chat_model(agent="analyst").with_structured_output(AnalystSummary)
    out = model.invoke([SystemMessage(load_prompt("analyst")), HumanMessage(json.dumps(request, sort_keys=True))])
    summary = out if isinstance(out, AnalystSummary) else AnalystSummary.model_validate(out)
    md, html_text = analyst_report(agg)
    md, html_text = _with_findings(md, html_text, summary.key_findings, summary.production_expectation)
    return AnalystReport(agent=agg["agent"], agent_id=",".join(sorted({j.agent.id for j in js})),
                         dataset_name=dataset.name, dataset_version=dataset.version,
                         provider=llm_provider(), aggregates=agg, key_findings=summary.key_findings,
                         production_expectation=summary.production_expectation, markdown=md, html=html_text)


def answer_followup(report: AnalystReport, question: str, history: Sequence[tuple[str, str]] = ()) -> str:
    """Answer a person's question about ``report`` ("which category is weakest?"); ``history`` holds earlier
    (question, answer) pairs of the conversation."""
    if not question.strip():
        raise ValueError("the question is empty")
    messages: list[BaseMessage] = [SystemMessage(load_prompt("analyst"))]
    for q, a in history:
        messages += [HumanMessage(q), AIMessage(a)]
    request = {"task": "followup", "question": question, "aggregates": report.aggregates,
               "key_findings": report.key_findings}
    messages.append(HumanMessage(json.dumps(request, sort_keys=True)))
    reply = get_chat_model(agent="analyst").invoke(messages)
    return strip_provider_note(reply.text)


def log_analyst_report(report: AnalystReport, project_id: str, agent_id: str | None = None,
                       dataset_version: str | None = None) -> str:
    """Log the report to MLflow (stage ``analytics``: reports/analyst_report.md/.html/.json, reports/aggregates.json
    and metrics pass_rate, ci_low, ci_high, mean_score); returns the run id."""
    import mlflow

    from core.tracking import stage_run

    o = report.aggregates["overall"]
    agent_id = agent_id or report.agent_id
    with stage_run(project_id, "analytics", agent_id=agent_id,
                   dataset_version=dataset_version or str(report.dataset_version), run_name=f"analyst-{agent_id}",
                   extra_tags={"opsgraph_agent": "analyst", "provider": report.provider}) as run:
        mlflow.log_text(report.markdown, "reports/analyst_report.md")
        mlflow.log_text(report.html, "reports/analyst_report.html")
        mlflow.log_dict(report.aggregates, "reports/aggregates.json")
        mlflow.log_dict(report.model_dump(mode="json", exclude={"markdown", "html"}), "reports/analyst_report.json")
        mlflow.log_metrics({"pass_rate": o["pass_rate"], "ci_low": o["ci_low"], "ci_high": o["ci_high"],
                            "mean_score": o["mean_score"], "judged": report.aggregates["n_judgments"]})
        return str(run.info.run_id)
