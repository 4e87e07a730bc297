"""The simulated user's pydantic models: the move it makes and the request it reads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from core.contracts import Scenario


class UserMove(BaseModel):
    """The simulated user's next message and whether the conversation goes on."""

    message: str
    status: Literal["continue", "goal_met", "abandoned"]
    reason: str


class ConversationLine(BaseModel):
    """One numbered turn of the conversation as the simulated user reads it."""

    turn: int
    role: str
    content: str


class UserMoveRequest(BaseModel):
    """What the simulated-user model reads: its scenario, seed, private facts and the conversation so far."""

    scenario: Scenario
    seed: int
    facts: dict[str, Any]
    conversation: list[ConversationLine]
