"""What the tools may claim: an analysis the project's data cannot support answers with why, not with numbers.

The shared check the tools run first (cached per project and data version).
"""

from __future__ import annotations

from threading import Lock
from typing import Any

from ingest.capabilities import Capability, available, capabilities
from services.telemetry import data_version, pooled

_cache: dict[tuple[str, str], list[Capability]] = {}
_lock = Lock()


def project_capabilities(project: str) -> list[Capability]:
    """The capabilities of ``project``'s data (see :mod:`ingest.capabilities`)."""
    with pooled() as conn:
        key = (project, data_version(conn, project))
        with _lock:
            if key in _cache:
                return _cache[key]
        caps = capabilities(conn, project)
    with _lock:
        _cache[key] = caps
    return caps


def unavailable(project: str, analysis: str, instead: str | None = None) -> dict[str, Any] | None:
    """A tool's answer when ``analysis`` is not available for ``project`` (None when it is)."""
    cap = available(project_capabilities(project), analysis)
    if cap.available:
        return None
    return {"unavailable": analysis, "project": project, "reason": cap.reason, **({"instead": instead} if instead
                                                                                   else {})}
