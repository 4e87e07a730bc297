"""The simulated user: an LLM role (``get_chat_model(agent="simulated_user")``) that plays a scenario's persona.

Each move is a structured ``UserMove`` (message + status continue | goal_met | abandoned). Offline the persona is
played (``agents.simulator.offline``) deterministically per seed from the scenario and the conversation: what the
goal needs (a handoff, a refund, information, or steps), private facts (the order id, given only when asked), and
patience (lower for angry personas, and an unacknowledged angry turn costs extra)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from langchain_core.messages import SystemMessage

from agents.prompts import load_prompt
from agents.simulator.models import ConversationLine, UserMove, UserMoveRequest
from core.contracts import Scenario, Turn
from core.evidence import request_message
from core.providers import get_chat_model

_I = re.IGNORECASE
ANGRY = re.compile(r"angry|furious|irate|frustrated|fuming|livid|impatient|fed up|unacceptable|ridiculous", _I)
ORDER_IN_TEXT = re.compile(r"\bORD-?\d{4,}\b", _I)


def private_facts(scenario: Scenario, seed: int) -> dict[str, Any]:
    """What only the user knows: the order id (from the opening, else derived) and their patience."""
    found = ORDER_IN_TEXT.search(scenario.opening_message)
    digits = int(hashlib.sha1(f"{scenario.id}:{seed}".encode()).hexdigest(), 16) % 90000 + 10000
    angry = bool(ANGRY.search(f"{scenario.persona} {scenario.opening_message}"))
    return {"order_id": found.group(0).upper() if found else f"ORD-{digits}",
            "patience": (2 if angry else 3) + seed % 2, "angry": angry}


def is_spoken(turn: Turn) -> bool:
    """A turn the user sees: their own and the agent's replies (not its tool calls or the tools' results)."""
    return turn.role in ("user", "assistant") and not turn.tool_calls and bool(turn.content)


def next_user_move(scenario: Scenario, seed: int, history: list[Turn]) -> UserMove:
    """Ask the simulated-user model for its next move after ``history``."""
    request = UserMoveRequest(scenario=scenario, seed=seed, facts=private_facts(scenario, seed),
                              conversation=[ConversationLine(turn=i, role=t.role, content=t.content)
                                            for i, t in enumerate(history, 1) if is_spoken(t)])
    model = get_chat_model(agent="simulated_user").with_structured_output(UserMove)
    out = model.invoke([SystemMessage(load_prompt("simulator_user")),
                        request_message(request)])
    return out if isinstance(out, UserMove) else UserMove.model_validate(out)
