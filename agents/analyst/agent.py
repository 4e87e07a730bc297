"""The analyst agent: what to expect from one agent in production, from its judged simulated conversations.

``analyze`` aggregates the judgments (``analytics.judgment_stats.aggregate_judgments``: pass rate with a Wilson CI,
scores, breakdowns by category / persona / difficulty, failure reasons, pass^k) and asks
``get_chat_model(agent="analyst")`` for a structured ``AnalystSummary`` (key findings with numbers and what to
expect in production) from those aggregates; ``answer_followup`` answers a person's question about the report.
Offline both are derived from the aggregates in the request (``agents.analyst.offline``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents.analyst.models import AnalystReport, AnalystSummary, FollowupRequest, SummaryRequest
from agents.prompts import load_prompt
from analytics.judgment_reports import analyst_report
from analytics.judgment_stats import aggregate_judgments
from core.contracts import Dataset, Judgment, strip_provider_note
from core.evidence import request_message
from core.providers import get_chat_model, llm_provider


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
    request = SummaryRequest(dataset={"name": dataset.name, "version": dataset.version}, aggregates=agg)
    model = get_chat_model(agent="analyst").with_structured_output(AnalystSummary)
    out = model.invoke([SystemMessage(load_prompt("analyst")), request_message(request)])
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
    request = FollowupRequest(question=question, aggregates=report.aggregates, key_findings=report.key_findings)
    messages.append(request_message(request))
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
