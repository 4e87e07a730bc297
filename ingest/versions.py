"""The version of a project's telemetry (``telemetry_versions``): bumped whenever its rows or vectors change."""

from __future__ import annotations

import psycopg
from psycopg.rows import DictRow


def bump_version(conn: psycopg.Connection[DictRow], project: str) -> None:
    """Record that ``project``'s telemetry changed (in the caller's transaction)."""
    conn.execute("INSERT INTO telemetry_versions (project, version) VALUES (%s, 1) ON CONFLICT (project) DO UPDATE "
                 "SET version = telemetry_versions.version + 1, changed_at = now()", (project,))


def current_version(conn: psycopg.Connection[DictRow], project: str) -> str:
    """``project``'s telemetry version: the counter and the time of its last change ("0" before its first rows),
    so two databases never share a version."""
    row = conn.execute("SELECT version, changed_at FROM telemetry_versions WHERE project = %s", (project,)).fetchone()
    return f"{row['version']}@{row['changed_at'].isoformat()}" if row else "0"
