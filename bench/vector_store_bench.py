"""Retrieval through LangChain's PGVectorStore (services/vector_store.py) against the raw SQL path
(services/retrieval.py), side by side in one run on the real embeddings of the 9k sample: per-query latency
(p50/p95, vector queries, warm cache) and recall@10 against an exact scan, without and with a filter.

Usage: python -m bench.vector_store_bench (reuses OPSGRAPH_BENCH_HOME when set, else ingests into a scratch home)
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
from pgvector.psycopg import register_vector

from bench.common import record, sample_database

FILTERS: dict[str, dict[str, Any] | None] = {"no filter": None, "failure_type = tool_error":
                                               {"failure_type": "tool_error"}}


def _stats(times: list[float], hits: int, n: int) -> dict[str, float]:
    return {"p50_ms": statistics.median(times), "p95_ms": statistics.quantiles(times, n=20)[18],
            "recall_at_10": hits / (10 * n)}


def main() -> None:
    """Measure both paths and record them."""
    from ingest.embed import exact_scan
    from services.retrieval import SearchFilters, ef_search_for, search_vectors
    from services.vector_store import close, engine_for, interaction_store

    with sample_database() as db:
        register_vector(db.conn)
        queries = np.asarray([r["embedding"] for r in db.conn.execute(
            "SELECT embedding FROM log_embeddings ORDER BY md5(interaction_id) LIMIT 200").fetchall()])
        ef = ef_search_for(db.conn)
        engine = engine_for(db.info.url)
        store = interaction_store(engine, ef)
        rows: list[tuple[str, str, dict[str, float]]] = []
        for label, filters in FILTERS.items():
            where = "WHERE i.failure_type = 'tool_error'" if filters else ""
            exact = []
            with db.conn.transaction():
                exact_scan(db.conn)
                for q in queries:
                    exact.append({r["interaction_id"] for r in db.conn.execute(
                        f"SELECT e.interaction_id FROM log_embeddings e JOIN interactions i USING (interaction_id) "
                        f"{where} ORDER BY e.embedding <=> %s LIMIT 10", (q,)).fetchall()})
            paths = {
                "raw SQL": lambda q, f=filters: [r["interaction_id"] for r in search_vectors(
                    db.conn, q, 10, SearchFilters(**(f or {})))],
                "PGVectorStore": lambda q, f=filters: [d.id for d in store.similarity_search_by_vector(
                    q.tolist(), k=10, filter=f)],
            }
            for name, run in paths.items():
                for q in queries[:20]:  # warm the cache and the connection pools
                    run(q)
                times, hits = [], 0
                for q, truth in zip(queries, exact, strict=True):
                    t0 = time.perf_counter()
                    got = run(q)
                    times.append((time.perf_counter() - t0) * 1000)
                    hits += len(set(got) & truth)
                rows.append((label, name, _stats(times, hits, len(queries))))
                print(label, name, rows[-1][2], flush=True)
        close(engine)
    table = ["| filter | path | recall@10 | p50 (ms) | p95 (ms) |", "|---|---|---:|---:|---:|"]
    table += [f"| {f} | {p} | {s['recall_at_10']:.3f} | {s['p50_ms']:.2f} | {s['p95_ms']:.2f} |" for f, p, s in rows]
    body = (f"The same 200 vector queries (stored embeddings of the 9k sample), run one path after the other in one "
            f"process, ef_search {ef} (the tuned value), warm cache; recall@10 against an exact scan with the same "
            "filter. PGVectorStore reads the view `interaction_vectors` and applies the raw path's scan settings "
            "(ef_search, forced index scan, strict-order iterative scan).\n\n" + "\n".join(table))
    record("Retrieval through LangChain's PGVectorStore", body)


if __name__ == "__main__":
    main()
