"""How long ago something happened, as people write it: "45 days ago", "two months ago", "over a year"."""

from __future__ import annotations

import re

_COUNT = r"(\d{1,3}|a|an|one|two|three|four|five|six)\s+(day|week|month|year)s?"
ELAPSED = re.compile(rf"\b{_COUNT}\s+ago\b|\b(?:over|more than|almost)\s+{_COUNT}\b", re.I)
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


def days_ago(text: str) -> list[int]:
    """Every elapsed time ``text`` mentions, in days (a month counts 30)."""
    out = []
    for m in ELAPSED.finditer(text):
        n, unit = (m[1], m[2]) if m[1] else (m[3], m[4])
        out.append((int(n) if n.isdigit() else _WORDS[n.lower()]) * _DAYS[unit.lower()])
    return out
