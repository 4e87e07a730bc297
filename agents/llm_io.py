"""How agents hand evidence to the chat model: one JSON object in the last human message."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage


def json_request(messages: Sequence[BaseMessage]) -> dict[str, Any]:
    """The JSON object in the last human message (``{}`` when there is none)."""
    text = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "{}")
    start = text.find("{")
    data = json.loads(text[start:]) if start >= 0 else {}
    return data if isinstance(data, dict) else {}
