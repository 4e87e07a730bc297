"""Per-project API keys for the network doors that write telemetry (the OTLP receiver).

A key is shown once, when it is created (``ogk_<id>_<secret>``); only its SHA-256 is stored. The key decides
the project of everything sent with it. Revoked keys stop working at once.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import psycopg
from psycopg.rows import DictRow

PREFIX = "ogk_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(conn: psycopg.Connection[DictRow], project: str, label: str | None = None) -> tuple[str, str]:
    """A new key for ``project``: ``(key_id, key)``; the key itself is not stored and cannot be shown again."""
    if not project.strip():
        raise ValueError("a key belongs to a project: give --project")
    key_id = secrets.token_hex(4)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(24)}"
    conn.execute("INSERT INTO api_keys (key_id, project, key_sha256, label) VALUES (%s, %s, %s, %s)",
                 (key_id, project, _digest(key), label))
    return key_id, key


def list_keys(conn: psycopg.Connection[DictRow], project: str | None = None) -> list[dict[str, Any]]:
    """Keys (never their secrets): id, project, label, created, revoked."""
    rows = conn.execute(
        "SELECT key_id, project, label, created_at, revoked_at FROM api_keys WHERE %s::text IS NULL OR project = %s "
        "ORDER BY created_at", (project, project)).fetchall()
    return [{**r, "created_at": r["created_at"].isoformat(),
             "revoked_at": r["revoked_at"].isoformat() if r["revoked_at"] else None} for r in rows]


def revoke_key(conn: psycopg.Connection[DictRow], key_id: str) -> bool:
    """Revoke ``key_id``; False when no active key has that id."""
    cur = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL", (key_id,))
    return cur.rowcount == 1


def project_for(conn: psycopg.Connection[DictRow], key: str | None) -> str | None:
    """The project of an active ``key``, or None (no key, unknown, revoked)."""
    if not key or not key.startswith(PREFIX):
        return None
    row = conn.execute("SELECT project FROM api_keys WHERE key_sha256 = %s AND revoked_at IS NULL",
                       (_digest(key),)).fetchone()
    return str(row["project"]) if row else None
