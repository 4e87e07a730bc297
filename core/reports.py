"""The reports the lifecycle agents produce, as data contracts: the analyst's, the comparator's and the production
feedback report (exported as JSON Schema with the other contracts; the agents import them from here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.contracts import Scenario


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


class ComparisonReport(BaseModel):
    """The comparator's result: the ``compare`` numbers, the decision, the recommendation, Markdown and HTML."""

    label_a: str
    label_b: str
    comparison: dict[str, Any]
    significant: bool
    winner: Literal["a", "b"] | None
    winner_label: str | None
    recommendation: str
    numbers_recommendation: str
    provider: str
    dataset_name: str
    dataset_version: int
    markdown: str
    html: str


class RateTrend(BaseModel):
    """One rate in the window against the baseline, with the two-proportion z-test."""

    metric: str
    signal: str
    description: str
    count: int
    n: int
    rate: float | None
    baseline_count: int
    baseline_n: int
    baseline_rate: float | None
    delta: float | None
    relative_change: float | None
    z: float | None
    p_value: float | None
    direction: Literal["worse", "better", "stable", "no_baseline", "no_data"]


class Exemplar(BaseModel):
    """A representative interaction of a theme."""

    interaction_id: str
    text: str
    use_case: str | None = None
    failure_type: str | None = None
    signals: list[str] = Field(default_factory=list, description="Bad signals of this interaction.")


class NegativeTheme(BaseModel):
    """A cluster of interactions with negative feedback, a reported issue or an escalation."""

    theme_id: int
    label: str
    keywords: list[str]
    size: int
    share: float
    signals: dict[str, int]
    failure_types: dict[str, int]
    dominant_failure_type: str | None
    models: dict[str, int]
    use_cases: dict[str, int]
    category: str | None
    exemplars: list[Exemplar]
    interaction_ids: list[str]


class ProposedScenario(BaseModel):
    """A new evaluation scenario from a feedback theme, citing the production interactions behind it."""

    theme_id: int
    theme: str
    interaction_ids: list[str]
    scenario: Scenario


class FeedbackReport(BaseModel):
    """Production feedback for a deployed version in a window, against the period before it."""

    start: datetime
    end: datetime
    baseline_start: datetime
    model_name: str | None = None
    use_case: str | None = None
    project: str = "default"
    agent: str | None = Field(default=None, description="NAME@VERSION whose attributed traffic this is; None: every "
                                                        "interaction of the project (fleet-wide).")
    scope: str = Field(default="", description="Whose traffic the figures describe, in words.")
    n_interactions: int
    n_baseline: int
    counts: dict[str, int]
    trends: list[RateTrend]
    embedding_source: Literal["log_embeddings", "tfidf", "none"]
    themes: list[NegativeTheme]
    proposed_scenarios: list[ProposedScenario]
    summary: str
    markdown: str = ""
    html: str = ""
