"""Projects: a row per evaluated agent project, holding its automation policy (off by default)."""

from __future__ import annotations

import json

from core.db import connect
from graphs.approval import AutomationPolicy


def ensure_project(project_id: str, target_agent: str | None = None) -> None:
    """Create the project row if it does not exist."""
    with connect() as conn:
        conn.execute("INSERT INTO projects (project_id, name, target_agent) VALUES (%s, %s, %s) "
                     "ON CONFLICT (project_id) DO NOTHING", (project_id, project_id, target_agent))


def load_policy(project_id: str) -> AutomationPolicy:
    """The project's automation policy (disabled when the project or the policy is missing)."""
    with connect() as conn:
        row = conn.execute("SELECT automation FROM projects WHERE project_id = %s", (project_id,)).fetchone()
    return AutomationPolicy.model_validate(row["automation"]) if row else AutomationPolicy()


def set_policy(project_id: str, policy: AutomationPolicy) -> None:
    """Store the project's automation policy (creating the project if needed)."""
    ensure_project(project_id)
    with connect() as conn:
        conn.execute("UPDATE projects SET automation = %s::jsonb WHERE project_id = %s",
                     (json.dumps(policy.model_dump(mode="json")), project_id))
