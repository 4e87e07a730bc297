"""The judge's pydantic models: the verdict a chat model returns and the request it reads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from core.contracts import Scenario, SimulationTrace

CRITERIA = ("goal_achieved", "followed_expected_behavior", "policy_compliance", "tone", "conciseness")
CRITICAL = frozenset({"goal_achieved", "followed_expected_behavior", "policy_compliance"})
DEFAULT_WORD_LIMIT = 120


def decide(scores: dict[str, int]) -> tuple[int, bool]:
    """The overall score (rounded mean of the criteria) and whether it passes: score >= 4 and no critical
    criterion scored 2 or lower."""
    score = max(1, min(5, int(sum(scores.values()) / len(scores) + 0.5)))
    return score, score >= 4 and not any(v <= 2 for n, v in scores.items() if n in CRITICAL)


def _clamp(value: Any, low: float, high: float) -> Any:
    """A number a (weak) model put out of range, brought into it; anything else is left to validation."""
    return min(high, max(low, value)) if isinstance(value, int | float) and not isinstance(value, bool) else value


class CriterionVerdict(BaseModel):
    """One criterion as the judge model scores it (a score outside 1-5 is clamped into it)."""

    name: str = Field(description="One of: " + ", ".join(CRITERIA))
    score: int = Field(json_schema_extra={"minimum": 1, "maximum": 5}, description="1 (worst) to 5 (best).")
    notes: str = Field(description="Evidence, citing turn numbers.")

    @field_validator("score", mode="before")
    @classmethod
    def _in_range(cls, v: Any) -> Any:
        return _clamp(v, 1, 5)


class JudgeVerdict(BaseModel):
    """The judge model's structured answer."""

    criteria: list[CriterionVerdict]
    rationale: str = Field(description="1-3 sentences citing turn numbers.")
    confidence: float = Field(default=1.0, json_schema_extra={"minimum": 0, "maximum": 1},
                              description="How sure the verdict is, from 0 to 1: low when the transcript does not "
                                          "show whether the goal was reached or a rule was kept.")

    @field_validator("confidence", mode="before")
    @classmethod
    def _in_range(cls, v: Any) -> Any:
        return _clamp(v, 0.0, 1.0)


class JudgeRequest(BaseModel):
    """What the judge model reads: the scenario, the trace and its turns numbered from 1."""

    scenario: Scenario
    trace: SimulationTrace
    numbered_turns: list[str]
