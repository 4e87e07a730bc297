"""Generate + ETL + load (no embeddings) at 9k and 1M rows, with peak memory; embedding throughput.

Each size runs in its own process so peak RSS is that run's. Usage: python -m bench.ingest_bench [ROWS ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from bench.common import ROOT, peak_rss_mb, record, scratch_home


def run_one(rows: int) -> dict[str, float]:
    """Generate ``rows`` interactions and ingest them without embeddings into a fresh embedded Postgres."""
    from core.bootstrap import open_database
    from ingest.generator import generate
    from ingest.pipeline import ingest_dir

    with scratch_home() as home:
        t0 = time.perf_counter()
        generate(rows, 0, home / "data")
        t1 = time.perf_counter()
        db = open_database()
        summary = ingest_dir(db.conn, home / "data", embed=False)
        t2 = time.perf_counter()
        db.conn.close()
    return {"rows": rows, "generate_s": round(t1 - t0, 1), "etl_load_s": round(t2 - t1, 1),
            "validate_load_s": summary.seconds["validate_load"],
            "features_artifacts_s": summary.seconds.get("features_artifacts", 0.0),
            "peak_rss_mb": round(peak_rss_mb())}


def embed_throughput(n: int = 1000) -> dict[str, float]:
    """Texts per second of the configured embedder on generated interaction texts."""
    import tempfile
    from pathlib import Path

    import pandas as pd

    from core.providers import embed_texts, get_embeddings
    from ingest.features import embedding_text, harmonise
    from ingest.generator import generate

    out = Path(tempfile.mkdtemp()) / "d"
    generate(n, 1, out)
    texts = embedding_text(harmonise(pd.read_csv(out / "llm_system_interactions.csv"))).tolist()
    t0 = time.perf_counter()
    emb = get_embeddings()
    load = time.perf_counter() - t0
    t1 = time.perf_counter()
    embed_texts(texts, emb)
    return {"texts": n, "load_s": round(load, 1), "texts_per_s": round(n / (time.perf_counter() - t1), 1)}


def main() -> None:
    """Run each size in a subprocess, then the embedding throughput; record the results."""
    sizes = [int(a) for a in sys.argv[1:]] or [9000, 1_000_000]
    results = []
    for rows in sizes:
        out = subprocess.run([sys.executable, "-c", f"import json; from bench.ingest_bench import run_one; "
                              f"print(json.dumps(run_one({rows})))"], cwd=ROOT, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-2000:])
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(results[-1], flush=True)
    emb = embed_throughput()
    print(emb)
    lines = ["| rows | generate (s) | ETL + load (s) | validate + load (s) "
             "| features + artifacts, alongside the last loads (s) | peak RSS (MiB) |",
             "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['rows']:,} | {r['generate_s']} | {r['etl_load_s']} | {r['validate_load_s']} | "
              f"{r['features_artifacts_s']} | {r['peak_rss_mb']} |" for r in results]
    lines.append("\nETL + load is the wall clock of `ingest_dir` without embeddings; peak RSS includes the "
                 "generator (same process). Targets: 1M-row ETL + load < 90 s at < 4 GB peak RSS."
                 "\n\nEmbedding throughput "
                 f"(all-MiniLM-L6-v2, CPU): {emb['texts_per_s']} texts/s on {emb['texts']} interaction texts "
                 f"(model load {emb['load_s']} s).")
    record("Ingestion", "\n".join(lines))


if __name__ == "__main__":
    main()
