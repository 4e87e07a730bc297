"""Projects: every telemetry row, analytics run, chat thread and lifecycle run belongs to one (``default``
unless named)."""

from __future__ import annotations

import re

DEFAULT_PROJECT = "default"
PROJECT_IN_TEXT = re.compile(
    r"\b(?:(?:in|for|to|of|under)\s+(?:the\s+)?project\s+|project\s*[=:]\s*)([A-Za-z0-9_.-]{1,64})\b", re.I)


def project_named(text: str) -> str | None:
    """The project a request names ("in project shop", "project=shop"), if any."""
    found = PROJECT_IN_TEXT.search(text)
    return found[1] if found else None
