"""The comparator's pydantic models: the comparison report and the request the recommendation model reads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


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


class RecommendationRequest(BaseModel):
    """What the comparator model reads: the comparison's numbers."""

    task: Literal["recommend"] = "recommend"
    comparison: dict[str, Any]
