"""Numbered, idempotent SQL migrations from ``sql/``, applied in order and recorded in ``schema_migrations``.

``{{EMBEDDING_DIM}}`` in a migration is replaced by the configured embedder's dimension. An existing
``log_embeddings`` table of another dimension is refused with instructions, never silently reused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import DictRow

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
_LOCK_KEY = 7_340_213  # advisory lock: one migrator at a time across processes


class EmbeddingDimensionError(RuntimeError):
    """The stored vectors have another dimension than the configured embedder produces."""


@dataclass(frozen=True)
class Migration:
    """One SQL file: its version number, name and text."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """sha1 of the template text (before substitution)."""
        return hashlib.sha1(self.sql.encode()).hexdigest()


def load_migrations(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Read ``NNN_name.sql`` files in version order."""
    found = []
    for path in sorted(sql_dir.glob("*.sql")):
        match = re.match(r"(\d+)_(.+)\.sql$", path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers in {sql_dir}: {versions}")
    return found


def stored_embedding_dim(conn: psycopg.Connection[DictRow]) -> int | None:
    """Dimension of ``log_embeddings.embedding`` if the table exists, else None."""
    row = conn.execute(
        """SELECT a.atttypmod AS dim FROM pg_attribute a
           WHERE a.attrelid = to_regclass('log_embeddings') AND a.attname = 'embedding'"""
    ).fetchone()
    return int(row["dim"]) if row else None


def check_embedding_dim(conn: psycopg.Connection[DictRow], dim: int, embedder: str) -> None:
    """Raise :class:`EmbeddingDimensionError` when stored vectors do not match ``dim``."""
    stored = stored_embedding_dim(conn)
    if stored is not None and stored != dim:
        raise EmbeddingDimensionError(
            f"log_embeddings.embedding is vector({stored}) but the configured embedder '{embedder}' produces "
            f"{dim}-d vectors. Either set OPSGRAPH_EMBEDDINGS back to the embedder that made them, or re-embed: "
            f"`opsgraph db reset-embeddings` (drops the stored vectors) then `opsgraph data ingest` again."
        )


def migrate(conn: psycopg.Connection[DictRow], dim: int, embedder: str = "configured") -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    applied: list[str] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        check_embedding_dim(conn, dim, embedder)
        done = {r["version"]: r["checksum"] for r in conn.execute("SELECT version, checksum FROM schema_migrations")}
        for mig in load_migrations():
            if mig.version in done:
                if done[mig.version] != mig.checksum:
                    raise RuntimeError(
                        f"migration {mig.version}_{mig.name}.sql changed after it was applied; add a new "
                        "numbered migration instead of editing an applied one"
                    )
                continue
            sql = mig.sql.replace("{{EMBEDDING_DIM}}", str(dim))
            with conn.transaction():
                conn.execute(sql.encode(), prepare=False)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (mig.version, mig.name, mig.checksum),
                )
            applied.append(f"{mig.version:03d}_{mig.name}")
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def reset_embeddings(conn: psycopg.Connection[DictRow], dim: int) -> None:
    """Drop the stored vectors and recreate ``log_embeddings`` with ``dim`` (data must be re-embedded)."""
    emb = next(m for m in load_migrations() if m.name == "embeddings")
    with conn.transaction():
        conn.execute("DROP TABLE IF EXISTS log_embeddings")
        conn.execute(emb.sql.replace("{{EMBEDDING_DIM}}", str(dim)).encode(), prepare=False)
