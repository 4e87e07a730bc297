"""Entities in an operations question (models, use cases, failure types, dates), and follow-up detection.

Only the user's own words are read here, never retrieved log text, so instructions inside logs cannot steer
what an agent looks at.
"""

from __future__ import annotations

import re
from typing import Any

from ingest.schema import LEVELS

FAILURE_WORDS = {
    "latency_timeout": ("timeout", "timed out", "time out", "timing out"),
    "tool_error": ("tool error", "tool failure", "tool call", "tools fail", "sql_query", "tool_error"),
    "hallucination": ("hallucinat", "made up", "fabricat", "wrong facts"),
    "safety_block": ("safety", "blocked", "refus"),
    "formatting_error": ("format",),
    "toxicity": ("toxic",),
}
_DATE = re.compile(r"\b(20\d\d-\d\d-\d\d)\b")
_FOLLOW_UP = re.compile(r"^\s*(and|what about|how about|same for|now for|for)\b", re.I)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower())


def extract_entities(question: str) -> dict[str, Any]:
    """Model, use case, failure type and date window mentioned in ``question`` (absent keys: not mentioned)."""
    text = _norm(question)
    found: dict[str, Any] = {}
    models = sorted((m for m in LEVELS["model_name"] if m in text), key=len, reverse=True)
    if models:
        found["model_name"] = models[0]
    for uc in LEVELS["use_case"]:
        if uc in text or uc.replace("_", " ") in text:
            found["use_case"] = uc
            break
    for ftype, words in FAILURE_WORDS.items():
        if any(w in text for w in words):
            found["failure_type"] = ftype
            break
    dates = _DATE.findall(text)
    if dates:
        found["start"] = min(dates)
        found["end"] = max(dates)
    return found


def is_follow_up(question: str) -> bool:
    """A short question that continues the previous one ("and for gpt-4.1?")."""
    return bool(_FOLLOW_UP.match(question)) and len(question.split()) <= 8


def resolve_entities(question: str, context: dict[str, Any]) -> dict[str, Any]:
    """Entities of this turn; a follow-up inherits the previous turn's entities and overrides what it names."""
    current = extract_entities(question)
    if is_follow_up(question):
        inherited = {k: v for k, v in (context.get("entities") or {}).items()}
        return {**inherited, **current}
    return current
