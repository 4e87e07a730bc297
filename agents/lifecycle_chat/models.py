"""What a lifecycle agent's model reads besides the conversation: the state of the thread's work."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LifecycleTurn(BaseModel):
    """The thread's lifecycle work so far, as the agent's model sees it at the start of a turn."""

    agent: str = Field(description="The lifecycle agent answering: dataset_builder, simulator, judge, analyst, "
                                   "comparator or feedback.")
    project: str
    candidate: str = Field(description="The agent under evaluation, NAME@VERSION.")
    baseline: str = Field(description="The agent it is compared with, NAME@VERSION.")
    known_targets: list[str] = Field(default_factory=list, description="Registered targets, NAME@VERSION.")
    draft_scenarios: int | None = Field(default=None, description="Scenarios in the dataset draft being edited "
                                                                  "(none: no draft).")
    done: list[str] = Field(default_factory=list, description="Work the thread holds: dataset, traces, judgments, "
                                                             "analysis, comparison, feedback.")
