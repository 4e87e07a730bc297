"""Entities in an operations question (models, use cases, failure types, dates), and follow-up detection.

Only the user's own words are read here, never retrieved log text, so instructions inside logs cannot steer
what an agent looks at.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
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
_LAST_DAYS = re.compile(r"\b(?:last|past)\s+(\d{1,3})\s+days?\b")
_RELATIVE = ("today", "yesterday", "this week", "last week", "this month", "last month")
_FOLLOW_UP = re.compile(r"^\s*(and|what about|how about|same for|now for|for)\b", re.I)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower())


def extract_entities(question: str, anchor: date | None = None) -> dict[str, Any]:
    """Model, use case, failure type and date window mentioned in ``question`` (absent keys: not mentioned);
    with ``anchor``, relative dates ("this month") become a window too (:func:`relative_window`)."""
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
    elif anchor is not None and (window := relative_window(text, anchor)):
        found.update(window)
    return found


def relative_window(text: str, anchor: date) -> dict[str, str] | None:
    """"today", "yesterday", "this/last week", "this/last month", "last N days" as an inclusive
    ``start``/``end`` (YYYY-MM-DD) counted back from ``anchor``, with the ``window`` phrase that says so."""
    text = _norm(text)
    days = _LAST_DAYS.search(text)
    phrase = days[0] if days else next((p for p in _RELATIVE if p in text), None)
    if phrase is None:
        return None
    if days:
        start, end = anchor - timedelta(days=int(days[1]) - 1), anchor
    elif phrase in ("today", "yesterday"):
        start = end = anchor - timedelta(days=phrase == "yesterday")
    elif phrase.endswith("week"):
        monday = anchor - timedelta(days=anchor.weekday())
        start, end = (monday, anchor) if phrase.startswith("this") else (monday - timedelta(7), monday - timedelta(1))
    else:
        first = anchor.replace(day=1)
        if phrase.startswith("this"):
            start, end = first, anchor
        else:
            end = first - timedelta(days=1)
            start = end.replace(day=1)
    return {"start": start.isoformat(), "end": end.isoformat(),
            "window": f"{phrase} = {start.isoformat()}..{end.isoformat()}"}


def anchor_day(data_end: str | None, today: date | None = None) -> date:
    """The day relative dates count back from: the earlier of today and the last day of the data."""
    today = today or date.today()
    return min(today, date.fromisoformat(data_end)) if data_end else today


def is_follow_up(question: str) -> bool:
    """A short question that continues the previous one ("and for gpt-4.1?")."""
    return bool(_FOLLOW_UP.match(question)) and len(question.split()) <= 8


def resolve_entities(question: str, context: dict[str, Any]) -> dict[str, Any]:
    """Entities of this turn (relative dates against the context's ``data_end``, see :func:`anchor_day`); a
    follow-up inherits the previous turn's entities and overrides what it names."""
    current = extract_entities(question, anchor_day(context.get("data_end")))
    if is_follow_up(question):
        inherited = {k: v for k, v in (context.get("entities") or {}).items()}
        return {**inherited, **current}
    return current
