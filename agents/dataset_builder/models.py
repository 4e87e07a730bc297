"""The dataset builder's pydantic models: what the chat model returns (drafts, revision plans) and the requests
it reads (propose, add, plan a revision)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from core.contracts import Difficulty


class CategoryProposal(BaseModel):
    """A proposed scenario category and why it matters for this target."""

    name: str
    rationale: str
    failure_types: list[str] = Field(default_factory=list)


class ScenarioProposal(BaseModel):
    """A scenario as the model writes it (ids are assigned by the builder)."""

    category: str
    persona: str
    goal: str
    opening_message: str
    expected_behavior: str
    difficulty: Difficulty
    expected_tools: list[str] | None = None
    failure_types: list[str] = Field(default_factory=list)
    source: str = "catalogue"


class ScenarioDraft(BaseModel):
    """Proposed categories and scenarios."""

    categories: list[CategoryProposal] = Field(default_factory=list)
    scenarios: list[ScenarioProposal] = Field(default_factory=list)


ScenarioField = Literal["persona", "difficulty", "expected_behavior", "opening_message", "goal"]


class RevisionOp(BaseModel):
    """One operation of a revision: add scenarios, drop a category, restyle personas, remove one scenario, set one
    field of one scenario, or merge a category into another. ``index`` is the scenario's 1-based position in the
    dataset as the person last saw it."""

    action: Literal["add", "drop", "restyle", "remove", "set", "merge"]
    category: str | None = None
    count: int | None = Field(default=None, ge=1, le=100)
    difficulty: Difficulty | None = None
    persona_style: str | None = None
    index: int | None = Field(default=None, ge=1, description="remove/set: the scenario's position, from 1")
    field: ScenarioField | None = Field(default=None, description="set: which field of the scenario")
    value: str | None = Field(default=None, description="set: the new value of that field")
    into: str | None = Field(default=None, description="merge: the category that takes in ``category``")


class RevisionPlan(BaseModel):
    """The person's instruction as operations; ``understood`` is False when nothing could be derived."""

    operations: list[RevisionOp] = Field(default_factory=list)
    understood: bool = True
    notes: str = ""


class ProposeRequest(BaseModel):
    """Propose categories and ``n`` scenarios for a target from its metadata and seeds."""

    task: Literal["propose"] = "propose"
    n: int
    target: dict[str, Any]
    failure_clusters: list[dict[str, Any]] = Field(default_factory=list)
    feedback_report: list[dict[str, Any]] = Field(default_factory=list)


class AddRequest(BaseModel):
    """Add ``count`` scenarios to one category, unlike the existing openings."""

    task: Literal["add"] = "add"
    category: str
    count: int
    difficulty: Difficulty | None = None
    persona_style: str | None = None
    existing_openings: list[str] = Field(default_factory=list)


class RevisionRequest(BaseModel):
    """Read a person's revision instruction as operations on a dataset of ``size`` scenarios."""

    task: Literal["plan_revision"] = "plan_revision"
    instruction: str
    categories: list[str]
    size: int
