"""Bring the database to a usable state: server up, pgvector present, migrations applied."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg.rows import DictRow

from core.db import DatabaseError, ServerInfo, connect, redact, server_info
from core.migrate import migrate
from core.providers import embedder_spec
from core.settings import Settings, get_settings


@dataclass
class Database:
    """An open connection with what was learned while preparing it."""

    conn: psycopg.Connection[DictRow]
    info: ServerInfo
    pgvector_version: str
    applied: list[str] = field(default_factory=list)


def require_pgvector(conn: psycopg.Connection[DictRow], url: str) -> None:
    """Raise a clear error when the server cannot provide the ``vector`` extension."""
    row = conn.execute("SELECT 1 AS ok FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    if row is None:
        raise DatabaseError(
            f"the Postgres server at {redact(url)} has no pgvector extension. Install pgvector on that server "
            "(https://github.com/pgvector/pgvector) or unset DATABASE_URL to use the embedded server."
        )


def open_database(settings: Settings | None = None, apply_migrations: bool = True) -> Database:
    """Start or reach the database, check pgvector, apply pending migrations; returns an open connection."""
    settings = settings or get_settings()
    info = server_info(settings)
    conn = connect(info.url)
    try:
        require_pgvector(conn, info.url)
        applied: list[str] = []
        if apply_migrations:
            spec = embedder_spec(settings)
            applied = migrate(conn, spec.dim, spec.name)
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    except Exception:
        conn.close()
        raise
    return Database(conn=conn, info=info, pgvector_version=row["extversion"] if row else "not installed",
                    applied=applied)
