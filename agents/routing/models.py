"""The router's pydantic models: its decision (also the LLM router's structured output) and a labelled example."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agents.registry import AgentName


class RouteDecision(BaseModel):
    """Which agent handles a request; also the structured output the LLM router returns."""

    agent: AgentName = Field(description="The agent that should handle the user's request.")
    confidence: float = Field(ge=0.0, le=1.0, description="Confidence in the choice, 0..1.")
    reason: str = Field(default="", description="One short sentence: why this agent.")
    method: str = Field(default="llm", description="How it was decided: command | classifier | llm.")
    scores: dict[str, float] = Field(default_factory=dict, description="Probability per agent (classifier only).")


class RoutingExample(BaseModel):
    """One labelled request of a routing training or evaluation set."""

    q: str
    agent: AgentName
