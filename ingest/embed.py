"""Embeddings of interaction texts into ``log_embeddings``, cached by content hash, and ef_search tuning.

The content hash covers the embedder's model name and the text, so re-ingesting unchanged interactions embeds
nothing, and a changed text (or embedder) is embedded again. A failed batch raises: no zero vectors, ever.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
from langchain_core.embeddings import Embeddings
from pgvector.psycopg import register_vector
from psycopg.rows import DictRow

from core.providers import EmbedderSpec, ProviderError, embed_texts

Progress = Callable[[int], None]


@dataclass
class EmbedStats:
    """How many texts were embedded now and how many were already stored."""

    embedded: int = 0
    cached: int = 0


def content_hash(model: str, text: str) -> str:
    """sha1 over the embedder's model name and the text."""
    return hashlib.sha1(f"{model}\0{text}".encode()).hexdigest()


def _stored_hashes(conn: psycopg.Connection[DictRow], ids: list[str]) -> dict[str, str]:
    rows = conn.execute(
        "SELECT interaction_id, content_hash FROM log_embeddings WHERE interaction_id = ANY(%s)", (ids,)
    ).fetchall()
    return {r["interaction_id"]: r["content_hash"] for r in rows}


def _store_batch(
    conn: psycopg.Connection[DictRow],
    ids: list[str],
    texts: list[str],
    hashes: list[str],
    model: str,
    vectors: np.ndarray,
) -> None:
    register_vector(conn)
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE stage_emb (LIKE log_embeddings INCLUDING DEFAULTS) ON COMMIT DROP")
        with conn.cursor().copy(
            "COPY stage_emb (interaction_id, text, content_hash, model_name, embedding) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "text", "text", "text", "vector"])
            for row in zip(ids, texts, hashes, [model] * len(ids), vectors, strict=True):
                copy.write_row(row)
        conn.execute(
            """INSERT INTO log_embeddings (interaction_id, text, content_hash, model_name, embedding)
               SELECT interaction_id, text, content_hash, model_name, embedding FROM stage_emb
               ON CONFLICT (interaction_id) DO UPDATE SET text = EXCLUDED.text, content_hash = EXCLUDED.content_hash,
                   model_name = EXCLUDED.model_name, embedding = EXCLUDED.embedding, created_at = now()"""
        )


def embed_interactions(
    conn: psycopg.Connection[DictRow],
    texts: pd.Series,
    spec: EmbedderSpec,
    embeddings: Embeddings | None = None,
    batch_size: int = 256,
    progress: Progress | None = None,
) -> EmbedStats:
    """Embed ``texts`` (indexed by interaction_id) that are not stored with the same content hash."""
    ids = [str(i) for i in texts.index]
    hashes = [content_hash(spec.model, t) for t in texts.tolist()]
    stored: dict[str, str] = {}
    for start in range(0, len(ids), 50_000):
        stored.update(_stored_hashes(conn, ids[start : start + 50_000]))
    todo = [i for i, (iid, h) in enumerate(zip(ids, hashes, strict=True)) if stored.get(iid) != h]
    stats = EmbedStats(cached=len(ids) - len(todo))
    if progress:
        progress(stats.cached)
    values = texts.tolist()
    for start in range(0, len(todo), batch_size):
        idx = todo[start : start + batch_size]
        batch = [values[i] for i in idx]
        vecs = embed_texts(batch, embeddings)
        if vecs.shape != (len(batch), spec.dim) or not np.isfinite(vecs).all():
            raise ProviderError(
                f"embedding batch at {start} returned shape {vecs.shape}, expected "
                f"({len(batch)}, {spec.dim}) finite values: nothing of this batch was stored"
            )
        _store_batch(conn, [ids[i] for i in idx], batch, [hashes[i] for i in idx], spec.model, vecs)
        stats.embedded += len(idx)
        if progress:
            progress(len(idx))
    return stats


def ann_scan(conn: psycopg.Connection[DictRow], ef_search: int) -> None:
    """Inside a transaction: the next nearest-neighbour queries go through the HNSW index with ``ef_search``.
    The planner would otherwise pick an exact scan on small tables (pgvector's cost model), which is slower per
    query than the index and would make a recall measurement trivially 1.0. Plans are made for these settings
    (a statement prepared under :func:`exact_scan` would otherwise keep its cached exact plan)."""
    conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
    conn.execute("SET LOCAL enable_seqscan = off")
    conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")


def exact_scan(conn: psycopg.Connection[DictRow]) -> None:
    """Inside a transaction: the next nearest-neighbour queries scan every vector (no index)."""
    conn.execute("SET LOCAL enable_indexscan = off")
    conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")


def tune_ef_search(
    conn: psycopg.Connection[DictRow],
    embedder: str,
    queries: int = 40,
    k: int = 10,
    target: float = 0.95,
    candidates: tuple[int, ...] = (40, 64, 100, 160, 250, 400),
) -> dict[str, float]:
    """Pick the smallest ``hnsw.ef_search`` whose recall@k against exact search reaches ``target``; store it."""
    n = int(conn.execute("SELECT count(*) AS n FROM log_embeddings").fetchone()["n"])  # type: ignore[index]
    if n < k * 2:
        return {"ef_search": candidates[-1], "recall_at_10": 1.0, "n_vectors": n}
    register_vector(conn)
    sample = conn.execute(
        "SELECT embedding FROM log_embeddings ORDER BY md5(interaction_id) LIMIT %s", (queries,)
    ).fetchall()
    exact: list[set[str]] = []
    with conn.transaction():
        exact_scan(conn)
        for r in sample:
            rows = conn.execute(
                "SELECT interaction_id FROM log_embeddings ORDER BY embedding <=> %s LIMIT %s", (r["embedding"], k)
            ).fetchall()
            exact.append({x["interaction_id"] for x in rows})
    chosen, recall = candidates[-1], 0.0
    for ef in candidates:
        hits = 0
        with conn.transaction():
            ann_scan(conn, ef)
            for r, truth in zip(sample, exact, strict=True):
                rows = conn.execute(
                    "SELECT interaction_id FROM log_embeddings ORDER BY embedding <=> %s LIMIT %s", (r["embedding"], k)
                ).fetchall()
                hits += len(truth & {x["interaction_id"] for x in rows})
        recall = hits / (k * len(sample))
        chosen = ef
        if recall >= target:
            break
    conn.execute(
        """INSERT INTO retrieval_tuning (embedder, ef_search, recall_at_10, n_vectors) VALUES (%s, %s, %s, %s)
           ON CONFLICT (embedder) DO UPDATE SET ef_search = EXCLUDED.ef_search, recall_at_10 = EXCLUDED.recall_at_10,
               n_vectors = EXCLUDED.n_vectors, measured_at = now()""",
        (embedder, chosen, recall, n),
    )
    return {"ef_search": chosen, "recall_at_10": recall, "n_vectors": n}
