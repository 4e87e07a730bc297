"""The debugging agents' pydantic models.

Their answer is the diagnosis contract (``core.diagnosis.Diagnosis``: summary, causes, fix, verification), shared
with the CLI, the chat and MLflow; what they read besides the conversation is the context below.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ConversationContext(BaseModel):
    """What earlier turns of the thread established: the agent that answered and the entities it resolved."""

    agent: str | None = None
    entities: dict[str, Any] = Field(default_factory=dict)
    data_end: str | None = Field(default=None, description="The last day (YYYY-MM-DD) of the project's telemetry: "
                                 "relative dates ('this month') count back from the earlier of it and today.")
