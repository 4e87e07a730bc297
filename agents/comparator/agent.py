"""The comparator agent: is a candidate version of an agent better than the baseline on the same scenarios?

``compare_runs`` pairs the two versions' judgments by (scenario, seed) and runs ``analytics.judgment_stats.compare``
(cluster-bootstrap CI of the mean score difference, Wilcoxon, McNemar, Holm-corrected categories, power); the
decision (``significant``, ``winner``) is that rule's, identically for every provider. The recommendation
paragraph is written by ``get_chat_model(agent="comparator")`` from those numbers; offline it is the numbers-based
``recommendation_text`` derived from the comparison in the request.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from langchain_core.messages import SystemMessage

from agents.analyst.agent import to_jsonable
from agents.comparator.models import ComparisonReport, RecommendationRequest
from agents.prompts import load_prompt
from analytics.judgment_reports import comparison_report
from analytics.judgment_stats import compare, recommendation_text
from core.contracts import Dataset, Judgment, strip_provider_note
from core.evidence import request_message
from core.providers import get_chat_model, llm_provider


def _label(judgments: list[Judgment], given: str | None, default: str) -> str:
    if given:
        return given
    ids = sorted({j.agent.id for j in judgments})
    return ", ".join(ids) or default


def write_recommendation(comparison: dict[str, Any]) -> str:
    """The recommendation paragraph the chat model writes from ``comparison`` (offline: the numbers-based text)."""
    request = RecommendationRequest(comparison=comparison)
    reply = get_chat_model(agent="comparator").invoke(
        [SystemMessage(load_prompt("comparator")), request_message(request)])
    return strip_provider_note(reply.text)


def compare_runs(judgments_a: Iterable[Judgment], judgments_b: Iterable[Judgment], dataset: Dataset,
                 label_a: str | None = None, label_b: str | None = None, n_boot: int = 5000, seed: int = 0,
                 alpha: float = 0.05) -> ComparisonReport:
    """Compare b (candidate) against a (baseline) on paired runs of ``dataset``; labels default to agent ids."""
    ja, jb = list(judgments_a), list(judgments_b)
    la, lb = _label(ja, label_a, "a"), _label(jb, label_b, "b")
    if la == lb:
        la, lb = f"{la} [a]", f"{lb} [b]"
    result = compare(ja, jb, dataset.scenarios, n_boot=n_boot, seed=seed, alpha=alpha)
    result.update(label_a=la, label_b=lb)
    result["recommendation"] = recommendation_text(result)
    cmp: dict[str, Any] = to_jsonable(json.loads(json.dumps(result, default=float)))
    numbers = str(cmp["recommendation"])
    text = write_recommendation(cmp)
    cmp["recommendation"] = text
    md, html_text = comparison_report(cmp)
    winner = cmp["winner"]
    return ComparisonReport(label_a=la, label_b=lb, comparison=cmp, significant=bool(cmp["significant"]),
                            winner=winner, winner_label={"a": la, "b": lb}.get(winner) if winner else None,
                            recommendation=text, numbers_recommendation=numbers, provider=llm_provider(),
                            dataset_name=dataset.name, dataset_version=dataset.version, markdown=md, html=html_text)


def log_comparison(report: ComparisonReport, project_id: str, agent_id: str | None = None,
                   dataset_version: str | None = None) -> str:
    """Log the comparison to MLflow (stage ``comparison``: reports/comparison.md/.html/.json and metrics);
    ``agent_id`` defaults to the candidate's label. Returns the run id."""
    import mlflow

    from core.tracking import stage_run

    c = report.comparison
    with stage_run(project_id, "comparison", agent_id=agent_id or report.label_b,
                   dataset_version=dataset_version or str(report.dataset_version),
                   run_name=f"compare-{report.label_b}-vs-{report.label_a}",
                   extra_tags={"opsgraph_agent": "comparator", "provider": report.provider, "label_a": report.label_a,
                               "label_b": report.label_b, "winner": report.winner_label or "none"}) as run:
        mlflow.log_text(report.markdown, "reports/comparison.md")
        mlflow.log_text(report.html, "reports/comparison.html")
        mlflow.log_dict(report.model_dump(mode="json", exclude={"markdown", "html"}), "reports/comparison.json")
        mlflow.log_metrics({"mean_diff": c["mean_diff"], "ci_low": c["ci_low"], "ci_high": c["ci_high"],
                            "pass_rate_a": c["pass_rate_a"], "pass_rate_b": c["pass_rate_b"],
                            "wilcoxon_p": c["wilcoxon"]["p"], "mcnemar_p": c["mcnemar"]["p"],
                            "significant": float(report.significant), "n_pairs": c["n_pairs"]})
        return str(run.info.run_id)
