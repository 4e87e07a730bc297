"""pgvector retrieval: p50/p95 latency and recall@10 against exact search, per hnsw.ef_search.

Two sets: the real embeddings of the 9k sample (OPSGRAPH_BENCH_HOME with an ingested sample, else one is
ingested), and N synthetic clustered 384-d unit vectors (default 1,000,000) in a table of their own.
Usage: python -m bench.retrieval_bench [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.rows import DictRow

from bench.common import record, scratch_home

EF = (40, 64, 100, 160, 250, 400)


def _measure(conn: psycopg.Connection[DictRow], table: str, queries: np.ndarray, k: int = 10) -> list[dict[str, Any]]:
    register_vector(conn)
    sql = f"SELECT id FROM {table} ORDER BY embedding <=> %s LIMIT {k}"
    exact = []
    with conn.transaction():
        conn.execute("SET LOCAL enable_indexscan = off")
        for q in queries:
            exact.append({r["id"] for r in conn.execute(sql, (q,)).fetchall()})
    rows = []
    for ef in EF:
        times, hits = [], 0
        with conn.transaction():
            conn.execute(f"SET LOCAL hnsw.ef_search = {ef}")
            for q, truth in zip(queries, exact, strict=True):
                t0 = time.perf_counter()
                got = {r["id"] for r in conn.execute(sql, (q,)).fetchall()}
                times.append((time.perf_counter() - t0) * 1000)
                hits += len(got & truth)
        rows.append({"ef_search": ef, "recall_at_10": hits / (k * len(queries)),
                     "p50_ms": statistics.median(times), "p95_ms": statistics.quantiles(times, n=20)[18]})
    return rows


def real_set(conn: psycopg.Connection[DictRow], n_queries: int = 200) -> list[dict[str, Any]]:
    """The stored interaction embeddings (queries: other stored vectors)."""
    conn.execute("CREATE OR REPLACE VIEW bench_real AS SELECT interaction_id AS id, embedding FROM log_embeddings")
    register_vector(conn)
    qs = [r["embedding"] for r in conn.execute("SELECT embedding FROM log_embeddings ORDER BY md5(interaction_id) "
                                                "LIMIT %s", (n_queries,)).fetchall()]
    return _measure(conn, "bench_real", np.asarray(qs))


def synthetic_set(conn: psycopg.Connection[DictRow], n: int,
                  n_queries: int = 100) -> tuple[list[dict[str, Any]], float]:
    """N clustered unit vectors; returns the measurements and the index build time (s)."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(200, 384)).astype(np.float32)
    register_vector(conn)
    conn.execute("DROP TABLE IF EXISTS bench_vectors")
    conn.execute("CREATE TABLE bench_vectors (id bigint PRIMARY KEY, embedding vector(384))")
    with conn.cursor().copy("COPY bench_vectors (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "vector"])
        for start in range(0, n, 50_000):
            m = min(50_000, n - start)
            x = centers[rng.integers(0, 200, m)] + 0.35 * rng.normal(size=(m, 384)).astype(np.float32)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            for i, v in enumerate(x):
                copy.write_row((start + i, v))
    conn.execute("SET maintenance_work_mem = '3GB'")
    t0 = time.perf_counter()
    conn.execute("CREATE INDEX ON bench_vectors USING hnsw (embedding vector_cosine_ops) "
                 "WITH (m = 16, ef_construction = 64)")
    build = time.perf_counter() - t0
    q = centers[rng.integers(0, 200, n_queries)] + 0.35 * rng.normal(size=(n_queries, 384)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    rows = _measure(conn, "bench_vectors", q)
    conn.execute("DROP TABLE bench_vectors")
    return rows, build


def _table(rows: list[dict[str, Any]]) -> str:
    out = ["| ef_search | recall@10 | p50 (ms) | p95 (ms) |", "|---:|---:|---:|---:|"]
    out += [f"| {r['ef_search']} | {r['recall_at_10']:.3f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} |" for r in rows]
    return "\n".join(out)


def main() -> None:
    """Measure both sets and record them."""
    from core.bootstrap import open_database

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    home = os.environ.get("OPSGRAPH_BENCH_HOME")
    if home:
        os.environ["OPSGRAPH_HOME"] = home
    with scratch_home() if not home else nullcontext():
        db = open_database()
        if not home:
            from ingest.generator import generate
            from ingest.pipeline import ingest_dir

            generate(9000, 0, Path(os.environ["OPSGRAPH_HOME"]) / "d")
            ingest_dir(db.conn, Path(os.environ["OPSGRAPH_HOME"]) / "d", embed=True)
        real = real_set(db.conn)
        print(_table(real), flush=True)
        synth, build = synthetic_set(db.conn, n)
        print(_table(synth), f"build {build:.0f}s", flush=True)
        db.conn.close()
    body = (f"Real embeddings (9,000 interactions, all-MiniLM-L6-v2, HNSW m=16 ef_construction=64), 200 queries:\n\n"
            f"{_table(real)}\n\nSynthetic clustered unit vectors ({n:,} x 384), 100 queries, index build "
            f"{build:.0f} s:\n\n{_table(synth)}\n\nTarget: p95 < 10 ms with recall@10 >= 0.95. Ingestion stores the "
            "smallest ef_search reaching recall 0.95 on the real data (table retrieval_tuning).")
    record("Retrieval", body)


if __name__ == "__main__":
    main()
