"""The feedback agent: what production users of the deployed version complain about, and new scenarios from it.

``collect_feedback`` reads the telemetry (``interactions``) of a time window, optionally for one model and use
case, and compares the rates of negative feedback, reported issues, escalations and failures with the
``baseline_days`` before it (two-proportion z-tests, ``analytics.feedback_stats``). The interactions carrying a
bad signal are clustered into themes (stored embeddings from ``log_embeddings``, else TF-IDF) with keyword labels
and exemplars. ``get_chat_model(agent="feedback")`` proposes evaluation scenarios from the themes (offline they
are derived from the exemplars: the user's real request, the theme's signals and failure type); each cites the
interaction ids it came from. ``scenarios_for_dataset`` closes the loop: its output is the dataset builder's
``feedback_report`` seed.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
import psycopg
from langchain_core.messages import SystemMessage
from psycopg.rows import DictRow

from agents.dataset_builder.scenario_bank import category_for_topic, slug
from agents.feedback.models import (
    Exemplar,
    FeedbackReport,
    FeedbackScenarioDraft,
    NegativeTheme,
    ProposedScenario,
    RateTrend,
    ScenarioIdeasRequest,
)
from agents.feedback.render import render_feedback
from agents.prompts import load_prompt
from analytics.feedback_stats import rate_trends, signal_masks, strip_lead_in, tfidf_vectors, theme_clusters
from core.contracts import FeedbackTheme, Scenario
from core.evidence import request_message
from core.lifecycle_config import DEFAULTS
from core.projects import DEFAULT_PROJECT
from core.providers import get_chat_model


def as_utc(value: datetime | date | str) -> datetime:
    """A timezone-aware UTC datetime from a datetime, a date or an ISO string (naive means UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _majority_category(raw: dict[str, Any]) -> str | None:
    """The catalogue category of the theme's keywords, else the one most exemplars name (if most do)."""
    if by_keywords := category_for_topic(" ".join(raw["keywords"][:3])):
        return by_keywords
    found = Counter(c for e in raw["exemplars"] if (c := category_for_topic(strip_lead_in(e["text"]))))
    top = found.most_common(1)
    return top[0][0] if top and top[0][1] * 2 > len(raw["exemplars"]) else None


def _theme(raw: dict[str, Any]) -> NegativeTheme:
    dominant = next(iter(raw["failure_types"]), None)
    words = ", ".join(raw["keywords"][:3]) or f"theme {raw['theme_id']}"
    label = f"{words} ({raw['size']} flagged)"
    if dominant and raw["failure_types"][dominant] * 2 > raw["size"]:  # most of the theme fails the same way
        label = f"{dominant}: {label}"
    return NegativeTheme(label=label, dominant_failure_type=dominant, category=_majority_category(raw),
                         exemplars=[Exemplar(**e) for e in raw["exemplars"]],
                         **{k: raw[k] for k in ("theme_id", "keywords", "size", "share", "signals", "failure_types",
                                                "models", "use_cases", "interaction_ids")})


def propose_scenarios(themes: list[NegativeTheme], per_theme: int = 2) -> list[ProposedScenario]:
    """Ask the model for scenarios from ``themes``; ids it cites must belong to the theme (else its exemplars)."""
    if not themes:
        return []
    payload = [t.model_dump(mode="json", exclude={"interaction_ids"}) for t in themes]
    request = ScenarioIdeasRequest(per_theme=per_theme, themes=payload)
    model = get_chat_model(agent="feedback").with_structured_output(FeedbackScenarioDraft)
    out = model.invoke([SystemMessage(load_prompt("feedback")), request_message(request)])
    draft = out if isinstance(out, FeedbackScenarioDraft) else FeedbackScenarioDraft.model_validate(out)
    by_id, taken = {t.theme_id: t for t in themes}, Counter[str]()
    proposals: list[ProposedScenario] = []
    for idea in draft.scenarios:
        theme = by_id.get(idea.theme_id)
        if theme is None or sum(p.theme_id == idea.theme_id for p in proposals) >= per_theme:
            continue
        members = set(theme.interaction_ids)
        ids = [i for i in idea.interaction_ids if i in members] or [e.interaction_id for e in theme.exemplars[:1]]
        stem = slug(idea.category).removeprefix("feedback_")
        taken[stem] += 1
        scenario = Scenario(id=f"feedback-{stem}-{taken[stem]:02d}",
                            source="feedback", **idea.model_dump(exclude={"theme_id", "interaction_ids"}))
        proposals.append(ProposedScenario(theme_id=theme.theme_id, theme=theme.label, interaction_ids=ids,
                                          scenario=scenario))
    return proposals


def build_feedback_report(window: pd.DataFrame, baseline: pd.DataFrame, start: datetime, end: datetime,
                          baseline_start: datetime, vectors: np.ndarray | None = None,
                          model_name: str | None = None, use_case: str | None = None, max_themes: int = 6,
                          per_theme: int = 2, seed: int = 0) -> FeedbackReport:
    """The report from loaded frames (harmonised telemetry columns); ``vectors`` are row-aligned embeddings of
    ``window`` (TF-IDF of the request texts when None)."""
    masks = signal_masks(window)
    flagged = window[masks["flagged"]].reset_index(drop=True)
    source: Literal["log_embeddings", "tfidf", "none"] = "none"
    themes: list[NegativeTheme] = []
    if len(flagged):
        if vectors is not None:
            X, source = np.asarray(vectors)[masks["flagged"]], "log_embeddings"
        else:
            X, source = tfidf_vectors(flagged["prompt_text"].fillna("").astype(str).tolist(), seed=seed), "tfidf"
        themes = [_theme(t) for t in theme_clusters(flagged, X, max_themes=max_themes, seed=seed)]
    counts = {"interactions": len(window), "rated": int(masks["rated"].sum()), "flagged": len(flagged),
              **{s: int(masks[s].sum()) for s in ("negative_feedback", "reported_issue", "escalated", "failed")}}
    report = FeedbackReport(start=start, end=end, baseline_start=baseline_start, model_name=model_name,
                            use_case=use_case, n_interactions=len(window), n_baseline=len(baseline), counts=counts,
                            trends=[RateTrend(**t) for t in rate_trends(window, baseline)], embedding_source=source,
                            themes=themes, proposed_scenarios=propose_scenarios(themes, per_theme), summary="")
    md, html, summary = render_feedback(report)
    return report.model_copy(update={"markdown": md, "html": html, "summary": summary})


def collect_feedback(conn: psycopg.Connection[DictRow], start: datetime | date | str, end: datetime | date | str,
                     model_name: str | None = None, use_case: str | None = None,
                     baseline_days: int = DEFAULTS.feedback_baseline_days,
                     max_themes: int = 6, per_theme: int = 2, project: str = DEFAULT_PROJECT,
                     agent: tuple[str, str] | None = None) -> FeedbackReport:
    """Feedback of ``[start, end)`` (UTC) against ``[start - baseline_days, start)`` on ``project``'s telemetry,
    optionally for one model name, use case and agent version (``agent`` (name, version): only the rows
    attributed to it); themes use the stored embeddings when every flagged interaction has one."""
    from services.telemetry import load_embeddings, load_interactions

    t0, t1 = as_utc(start), as_utc(end)
    if t1 <= t0:
        raise ValueError(f"end ({t1.isoformat()}) must be after start ({t0.isoformat()})")
    if baseline_days < 1:
        raise ValueError("baseline_days must be at least 1")
    b0 = t0 - timedelta(days=baseline_days)
    window, baseline = (load_interactions(conn, start=a, end=b, model_name=model_name, use_case=use_case,
                                          project=project, agent=agent) for a, b in ((t0, t1), (b0, t0)))
    vectors: np.ndarray | None = None
    flagged = signal_masks(window)["flagged"]
    if flagged.any():
        try:
            found = load_embeddings(conn, [str(i) for i in window["interaction_id"][flagged]])
            vectors = np.zeros((len(window), found.shape[1]), dtype=np.float32)
            vectors[flagged] = found
        except LookupError:
            vectors = None
    report = build_feedback_report(window, baseline, t0, t1, b0, vectors, model_name, use_case, max_themes,
                                   per_theme)
    who = (f"traffic attributed to {agent[0]}@{agent[1]} in project {project}" if agent
           else f"every interaction of project {project} (fleet-wide)")
    return report.model_copy(update={"project": project, "agent": f"{agent[0]}@{agent[1]}" if agent else None,
                                     "scope": who, "summary": f"Scope: {who}. {report.summary}"})


def scenarios_for_dataset(report: FeedbackReport) -> list[FeedbackTheme]:
    """The proposed scenarios as the dataset builder's ``feedback_report`` seeds: one per theme and category, with
    the users' real requests as examples and the theme's size as count."""
    groups: dict[tuple[int, str], list[ProposedScenario]] = {}
    for p in report.proposed_scenarios:
        groups.setdefault((p.theme_id, p.scenario.category), []).append(p)
    sizes = {t.theme_id: t.size for t in report.themes}
    return [FeedbackTheme(theme=props[0].theme, examples=[p.scenario.opening_message for p in props],
                          count=max(sizes.get(theme_id, 1), len(props)), category=category)
            for (theme_id, category), props in groups.items()]


def log_feedback_report(report: FeedbackReport, project_id: str, agent_id: str | None = None,
                        dataset_version: str = "none") -> str:
    """Log the report to MLflow (stage ``feedback``: reports/feedback_report.md/.html/.json, rates and deltas as
    metrics); ``agent_id`` defaults to the model name filter. Returns the run id."""
    import mlflow

    from core.tracking import stage_run

    metrics: dict[str, float] = {"interactions": report.n_interactions, "themes": len(report.themes),
                                 "proposed_scenarios": len(report.proposed_scenarios)}
    for t in report.trends:
        metrics.update({f"{t.metric}{suffix}": float(v) for suffix, v in (("", t.rate), ("_delta", t.delta),
                                                                          ("_p", t.p_value)) if v is not None})
    with stage_run(project_id, "feedback", agent_id=agent_id or report.model_name or "none",
                   dataset_version=dataset_version, run_name=f"feedback-{report.start:%Y-%m-%d}-{report.end:%Y-%m-%d}",
                   extra_tags={"opsgraph_agent": "feedback", "window_start": report.start.isoformat(),
                               "window_end": report.end.isoformat(), "use_case": report.use_case or "all"}) as run:
        mlflow.log_text(report.markdown, "reports/feedback_report.md")
        mlflow.log_text(report.html, "reports/feedback_report.html")
        mlflow.log_dict(report.model_dump(mode="json", exclude={"markdown", "html"}), "reports/feedback_report.json")
        mlflow.log_metrics(metrics)
        return str(run.info.run_id)
