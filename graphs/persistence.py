"""Checkpointer factory: LangGraph state held in Postgres (embedded or DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.checkpoint.postgres import PostgresSaver

from core.bootstrap import open_database
from core.db import make_pool


@contextmanager
def postgres_checkpointer(max_size: int | None = None) -> Iterator[PostgresSaver]:
    """A ``PostgresSaver`` over a connection pool with autocommit (required: without it nothing persists)."""
    db = open_database()
    db.conn.close()
    pool = make_pool(db.info.url, max_size=max_size)
    try:
        saver = PostgresSaver(pool)  # type: ignore[arg-type]
        saver.setup()
        yield saver
    finally:
        pool.close()
