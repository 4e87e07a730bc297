"""pgvector retrieval over past interactions: similar interactions (with filters) and similar past incidents.

Filtered queries use pgvector 0.8 iterative index scans; if the index still yields fewer than ``k`` matching rows
(a very selective filter), the query is repeated as an exact scan over the filtered rows, so a filter never
silently returns fewer rows than exist.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.rows import DictRow

from core.providers import embed_texts, embedder_spec
from core.settings import get_settings
from ingest.embed import ann_scan, exact_scan

RESULT_COLUMNS = ("interaction_id", "session_id", "timestamp_utc", "model_name", "use_case", "failure_type",
                  "latency_ms", "tools_used", "repair_strategy", "final_resolution_state", "request_text",
                  "response_text_snippet")


@dataclass(frozen=True)
class SearchFilters:
    """Optional filters on the interactions joined to their embeddings."""

    model_name: str | None = None
    failure_type: str | None = None
    use_case: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    failures_only: bool = False
    exclude_ids: tuple[str, ...] = field(default_factory=tuple)
    project: str | None = None  # None: every project

    def where(self) -> tuple[sql.Composable, list[Any]]:
        """SQL condition and parameters for these filters."""
        conds: list[sql.Composable] = [sql.SQL("TRUE")]
        params: list[Any] = []
        if self.project is not None:
            conds.append(sql.SQL("i.project = %s"))
            params.append(self.project)
        for col, value in (("model_name", self.model_name), ("failure_type", self.failure_type),
                           ("use_case", self.use_case)):
            if value:
                conds.append(sql.SQL("i.{} = %s").format(sql.Identifier(col)))
                params.append(value)
        if self.start:
            conds.append(sql.SQL("i.timestamp_utc >= %s"))
            params.append(self.start)
        if self.end:
            conds.append(sql.SQL("i.timestamp_utc < %s"))
            params.append(self.end)
        if self.failures_only:
            conds.append(sql.SQL("i.is_failure"))
        if self.exclude_ids:
            conds.append(sql.SQL("NOT (i.interaction_id = ANY(%s))"))
            params.append(list(self.exclude_ids))
        return sql.SQL(" AND ").join(conds), params


def ef_search_for(conn: psycopg.Connection[DictRow]) -> int:
    """The tuned ``hnsw.ef_search`` for the configured embedder (or the configured default)."""
    row = conn.execute("SELECT ef_search FROM retrieval_tuning WHERE embedder = %s",
                       (embedder_spec().name,)).fetchone()
    return int(row["ef_search"]) if row else get_settings().hnsw_ef_search


def _query(conn: psycopg.Connection[DictRow], vec: np.ndarray, filters: SearchFilters, k: int,
           exact: bool) -> list[dict[str, Any]]:
    cond, params = filters.where()
    cols = sql.SQL(", ").join(sql.SQL("i.{}").format(sql.Identifier(c)) for c in RESULT_COLUMNS)
    stmt = sql.SQL(
        "SELECT {cols}, e.embedding <=> %s AS distance FROM log_embeddings e "
        "JOIN interactions i ON i.interaction_id = e.interaction_id WHERE {cond} "
        "ORDER BY e.embedding <=> %s LIMIT %s").format(cols=cols, cond=cond)
    with conn.transaction():
        if exact:
            exact_scan(conn)
        else:
            ann_scan(conn, ef_search_for(conn))
            conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        return list(conn.execute(stmt, [vec, *params, vec, k]).fetchall())


def search_vectors(conn: psycopg.Connection[DictRow], vec: np.ndarray, k: int = 10,
                   filters: SearchFilters | None = None) -> list[dict[str, Any]]:
    """The ``k`` interactions nearest to ``vec`` (cosine) that match ``filters``."""
    register_vector(conn)
    filters = filters or SearchFilters()
    rows = _query(conn, vec, filters, k, exact=False)
    if len(rows) < k:
        rows = _query(conn, vec, filters, k, exact=True)
    for r in rows:
        r["similarity"] = round(1.0 - float(r.pop("distance")), 4)
    return rows


def search_similar(conn: psycopg.Connection[DictRow], query: str, k: int = 10,
                   filters: SearchFilters | None = None) -> list[dict[str, Any]]:
    """Interactions most similar to a text query."""
    return search_vectors(conn, embed_texts([query])[0], k, filters)


def similar_incidents(conn: psycopg.Connection[DictRow], query: str, k: int = 10,
                      filters: SearchFilters | None = None) -> dict[str, Any]:
    """Past failures most similar to ``query`` and what resolved them (repair strategy -> outcome counts)."""
    base = filters or SearchFilters()
    rows = search_similar(conn, query, k, SearchFilters(**{**base.__dict__, "failures_only": True}))
    fixes: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for r in rows:
        outcomes[r["final_resolution_state"]] += 1
        if r["final_resolution_state"] == "auto_resolved" and r["repair_strategy"] != "none":
            fixes[r["repair_strategy"]] += 1
    return {"incidents": rows, "resolution_outcomes": dict(outcomes.most_common()),
            "what_fixed_them": [{"repair_strategy": s, "resolved": n} for s, n in fixes.most_common()]}
