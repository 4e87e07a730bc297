"""The analyst's pydantic models: the summary a chat model returns, the requests it reads, the report."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from core.reports import AnalystReport

__all__ = ["AnalystReport", "AnalystSummary", "FollowupRequest", "SummaryRequest"]


class AnalystSummary(BaseModel):
    """The model's structured reading of the aggregates."""

    key_findings: list[str] = Field(description="3-6 short sentences, each citing the numbers it rests on.")
    production_expectation: str = Field(description="One paragraph: what to expect on production traffic.")


class SummaryRequest(BaseModel):
    """What the analyst model reads to summarise: the dataset and the aggregates of its judgments."""

    task: Literal["summarize"] = "summarize"
    dataset: dict[str, Any]
    aggregates: dict[str, Any]


class FollowupRequest(BaseModel):
    """What the analyst model reads to answer a follow-up question about a report."""

    task: Literal["followup"] = "followup"
    question: str
    aggregates: dict[str, Any]
    key_findings: list[str]
