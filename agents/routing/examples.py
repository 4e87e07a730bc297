"""Labelled routing sets (training and evaluation): JSONL, one ``{"q": "<request>", "agent": "<agent>"}`` per line;
blank lines are skipped, other keys are ignored."""

from __future__ import annotations

import json
from pathlib import Path

from agents.registry import AGENT_NAMES
from agents.routing.models import RoutingExample


class RoutingDataError(ValueError):
    """A routing JSONL file is unreadable or has a bad line (the message names file, line and problem)."""


def load_jsonl(path: Path | str) -> list[RoutingExample]:
    """Read and validate a routing set; raise ``RoutingDataError`` naming the file, line number and problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RoutingDataError(f"{path}: cannot read routing file: {exc}") from exc
    out: list[RoutingExample] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RoutingDataError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(row, dict):
            raise RoutingDataError(f"{where}: expected a JSON object, got {type(row).__name__}")
        q, agent = row.get("q"), row.get("agent")
        if not isinstance(q, str) or not q.strip():
            raise RoutingDataError(f"{where}: 'q' must be a non-empty string, got {q!r}")
        if agent not in AGENT_NAMES:
            raise RoutingDataError(f"{where}: 'agent' must be one of {', '.join(AGENT_NAMES)}; got {agent!r}")
        out.append(RoutingExample(q=q, agent=agent))
    if not out:
        raise RoutingDataError(f"{path}: no examples")
    return out
