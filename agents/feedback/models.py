"""The feedback agent's pydantic models: rate trends, themes, scenario ideas, the report and the model's request."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from core.contracts import Difficulty
from core.reports import Exemplar, FeedbackReport, NegativeTheme, ProposedScenario, RateTrend

__all__ = ["Exemplar", "FeedbackReport", "FeedbackScenarioDraft", "NegativeTheme", "ProposedScenario", "RateTrend",
           "ScenarioIdea", "ScenarioIdeasRequest"]


class ScenarioIdea(BaseModel):
    """One scenario as the feedback model proposes it (ids are assigned by the agent)."""

    theme_id: int
    interaction_ids: list[str]
    category: str
    persona: str
    goal: str
    opening_message: str
    expected_behavior: str
    difficulty: Difficulty
    failure_types: list[str] = Field(default_factory=list)


class FeedbackScenarioDraft(BaseModel):
    """The feedback model's structured answer."""

    scenarios: list[ScenarioIdea] = Field(default_factory=list)


class ScenarioIdeasRequest(BaseModel):
    """What the feedback model reads: the themes (without their member ids) and how many ideas per theme."""

    task: Literal["propose_scenarios"] = "propose_scenarios"
    per_theme: int
    themes: list[dict[str, Any]]
