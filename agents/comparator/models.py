"""The comparator's pydantic models: the comparison report and the request the recommendation model reads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from core.reports import ComparisonReport

__all__ = ["ComparisonReport", "RecommendationRequest"]


class RecommendationRequest(BaseModel):
    """What the comparator model reads: the comparison's numbers."""

    task: Literal["recommend"] = "recommend"
    comparison: dict[str, Any]
