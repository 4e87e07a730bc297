"""Reading telemetry from Postgres into frames with the harmonised column names analytics expects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from threading import Lock
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool

from core.db import make_pool
from core.projects import DEFAULT_PROJECT
from ingest.versions import current_version

# telemetry column -> harmonised name (the seed pipeline's names, without join suffixes)
HARMONISED = {"request_text": "prompt_text", "response_text_snippet": "completion_text", "timestamp_utc": "timestamp"}
ANALYTICS_COLUMNS = (
    "interaction_id", "session_id", "user_id", "timestamp_utc", "model_name", "use_case", "channel", "failure_type",
    "is_failure", "latency_ms", "total_tokens", "cost_usd", "tools_used", "user_feedback_score",
    "user_feedback_label", "final_resolution_state", "repair_strategy", "business_impact_tag", "request_text",
    "response_text_snippet", "instruction_template", "retry_index", "user_reported_issue",
)

_pool: ConnectionPool[psycopg.Connection[DictRow]] | None = None
_lock = Lock()


@contextmanager
def pooled() -> Iterator[psycopg.Connection[DictRow]]:
    """A connection from the process-wide pool (created on first use, never at import)."""
    global _pool
    with _lock:
        if _pool is None:
            from core.bootstrap import open_database

            db = open_database()
            db.conn.close()
            _pool = make_pool(db.info.url, max_size=8)
    with _pool.connection() as conn:
        yield conn


def reset_pool() -> None:
    """Close the process-wide pool (the next use opens one for the current settings)."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.close()
        _pool = None


def load_interactions(
    conn: psycopg.Connection[DictRow],
    columns: tuple[str, ...] = ANALYTICS_COLUMNS,
    start: datetime | None = None,
    end: datetime | None = None,
    model_name: str | None = None,
    use_case: str | None = None,
    limit: int | None = None,
    project: str = DEFAULT_PROJECT,
    agent: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """``project``'s interactions as a DataFrame (harmonised names; ``timestamp`` as UTC datetimes), optionally
    filtered; ``agent`` (name, version) keeps the rows attributed to that agent version (their ``agent_name`` and
    ``agent_version`` extras)."""
    conds: list[sql.Composable] = [sql.SQL("project = %s")]
    params: list[Any] = [project]
    if agent:
        conds.append(sql.SQL("extra->>'agent_name' = %s AND extra->>'agent_version' = %s"))
        params += list(agent)
    for col, val in (("model_name", model_name), ("use_case", use_case)):
        if val:
            conds.append(sql.SQL("{} = %s").format(sql.Identifier(col)))
            params.append(val)
    if start:
        conds.append(sql.SQL("timestamp_utc >= %s"))
        params.append(start)
    if end:
        conds.append(sql.SQL("timestamp_utc < %s"))
        params.append(end)
    stmt = sql.SQL("SELECT {} FROM interactions WHERE {} ORDER BY timestamp_utc, interaction_id{}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.SQL(" AND ").join(conds),
        sql.SQL(f" LIMIT {int(limit)}") if limit else sql.SQL(""))
    with conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:
        cur.execute(stmt, params)
        df = pd.DataFrame(cur.fetchall(), columns=list(columns))
    df = df.rename(columns=HARMONISED)
    if "timestamp" in df:
        df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    return df


def load_embeddings(conn: psycopg.Connection[DictRow], ids: list[str]) -> np.ndarray:
    """Embedding matrix aligned with ``ids`` (raises if any id has no stored embedding)."""
    from pgvector.psycopg import register_vector

    register_vector(conn)
    rows = conn.execute("SELECT interaction_id, embedding FROM log_embeddings WHERE interaction_id = ANY(%s)",
                        (ids,)).fetchall()
    found = {r["interaction_id"]: r["embedding"] for r in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise LookupError(f"{len(missing)} interactions have no embedding (first: {missing[:3]}); run ingestion "
                          "with embeddings (`opsgraph data ingest` without --no-embed)")
    return np.vstack([np.asarray(found[i], dtype=np.float32) for i in ids])


def example_ids(conn: psycopg.Connection[DictRow], *, start: str, end: str, key_col: str | None, key: str | None,
                failure_type: str | None, slow_ms: float | None = None, limit: int = 5,
                project: str = DEFAULT_PROJECT) -> list[str]:
    """Interaction ids inside an incident window that show it (failures of the type, or slow requests)."""
    conds: list[sql.Composable] = [sql.SQL("project = %s"), sql.SQL("timestamp_utc >= %s::date"),
                                   sql.SQL("timestamp_utc < %s::date + 1")]
    params: list[Any] = [project, start, end]
    if key_col == "tool" and key:
        conds.append(sql.SQL("%s = ANY(string_to_array(tools_used, '|'))"))
        params.append(key)
    elif key_col and key and key != "all":
        conds.append(sql.SQL("{} = %s").format(sql.Identifier(key_col)))
        params.append(key)
    if failure_type:
        conds.append(sql.SQL("failure_type = %s"))
        params.append(failure_type)
    order: sql.Composable = sql.SQL("interaction_id")
    if slow_ms is not None:
        conds.append(sql.SQL("latency_ms > %s"))
        params.append(slow_ms)
        order = sql.SQL("latency_ms DESC, interaction_id")
    stmt = sql.SQL("SELECT interaction_id FROM interactions WHERE {} ORDER BY {} LIMIT %s").format(
        sql.SQL(" AND ").join(conds), order)
    return [r["interaction_id"] for r in conn.execute(stmt, [*params, limit]).fetchall()]


def attributed_count(conn: psycopg.Connection[DictRow], project: str, agent: tuple[str, str],
                     start: datetime | None = None, end: datetime | None = None) -> int:
    """How many of ``project``'s interactions in ``[start, end)`` are attributed to ``agent`` (name, version)."""
    row = conn.execute("SELECT count(*) AS n FROM interactions WHERE project = %s AND extra->>'agent_name' = %s "
                       "AND extra->>'agent_version' = %s AND (%s::timestamptz IS NULL OR timestamp_utc >= %s) "
                       "AND (%s::timestamptz IS NULL OR timestamp_utc < %s)",
                       (project, *agent, start, start, end, end)).fetchone()
    return int(row["n"]) if row else 0


def data_end(conn: psycopg.Connection[DictRow], project: str = DEFAULT_PROJECT) -> str | None:
    """The last day (YYYY-MM-DD, UTC) of ``project``'s interactions, or None when it has none."""
    row = conn.execute("SELECT (max(timestamp_utc) AT TIME ZONE 'UTC')::date AS last FROM interactions "
                       "WHERE project = %s", (project,)).fetchone()
    return row["last"].isoformat() if row and row["last"] else None


def data_version(conn: psycopg.Connection[DictRow], project: str = DEFAULT_PROJECT) -> str:
    """The version of ``project``'s stored telemetry and its vectors, with the embedder: it changes with every
    ingest, trace batch or embedding run that changes rows (one that changes nothing keeps it)."""
    from core.providers import embedder_spec

    return f"{project}:{current_version(conn, project)}|{embedder_spec().name}"
