"""The judge's pydantic models: the verdict a chat model returns and the request it reads."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.contracts import Scenario, SimulationTrace

CRITERIA = ("goal_achieved", "followed_expected_behavior", "policy_compliance", "tone", "conciseness")
CRITICAL = frozenset({"goal_achieved", "followed_expected_behavior", "policy_compliance"})
DEFAULT_WORD_LIMIT = 120


def decide(scores: dict[str, int]) -> tuple[int, bool]:
    """The overall score (rounded mean of the criteria) and whether it passes: score >= 4 and no critical
    criterion scored 2 or lower."""
    score = max(1, min(5, int(sum(scores.values()) / len(scores) + 0.5)))
    return score, score >= 4 and not any(v <= 2 for n, v in scores.items() if n in CRITICAL)


class CriterionVerdict(BaseModel):
    """One criterion as the judge model scores it."""

    name: str = Field(description="One of: " + ", ".join(CRITERIA))
    score: int = Field(ge=1, le=5)
    notes: str = Field(description="Evidence, citing turn numbers.")


class JudgeVerdict(BaseModel):
    """The judge model's structured answer."""

    criteria: list[CriterionVerdict]
    rationale: str = Field(description="1-3 sentences citing turn numbers.")
    confidence: float = Field(default=1.0, ge=0, le=1, description="How sure the verdict is, from 0 to 1: low when "
                                                                   "the transcript does not show whether the goal "
                                                                   "was reached or a rule was kept.")


class JudgeRequest(BaseModel):
    """What the judge model reads: the scenario, the trace and its turns numbered from 1."""

    scenario: Scenario
    trace: SimulationTrace
    numbered_turns: list[str]
