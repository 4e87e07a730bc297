"""Persistence of analytics runs (``sql/007_analytics.sql``): write a run, read the latest back.

``analytics_runs.metadata`` holds the cluster-metadata contract document exactly as written to
``cluster_metadata.json``; ``analytics_runs.params`` holds the run's options, clustering parameters, timings, the
provenance of labels and narrative, output paths, the answer-key evaluation (when there was one) and the full
cluster ``profiles`` (without centroids) so tools can re-rank or describe a cluster without recomputing.
``interaction_clusters`` holds every interaction's cluster and 2-d map position (PCA always, UMAP when computed).
Only the newest :data:`KEEP_RUNS` runs are kept.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from analytics.semantics import ClusterProfile, Exemplar
from core.projects import DEFAULT_PROJECT
from services.answer_key import LABELS_FILE
from services.telemetry import load_embeddings, load_interactions

KEEP_RUNS = 20
RUN_COLUMNS = "run_id, created_at, method, k, params, metadata, out_dir"


def save_run(
    conn: psycopg.Connection[DictRow],
    run_id: str,
    method: str,
    k: int,
    params: dict[str, Any],
    metadata: dict[str, Any],
    out_dir: str | None,
    ids: list[str],
    labels: np.ndarray,
    pca: np.ndarray,
    umap: np.ndarray | None = None,
) -> None:
    """Insert the run and its per-interaction rows in one transaction; prune runs beyond :data:`KEEP_RUNS`."""
    xy_umap = umap if umap is not None else np.full((len(ids), 2), np.nan, dtype=np.float32)
    with conn.transaction():
        conn.execute(
            "INSERT INTO analytics_runs (run_id, method, k, params, metadata, out_dir) VALUES (%s, %s, %s, %s, %s, %s)",
            (run_id, method, int(k), Jsonb(params), Jsonb(metadata), out_dir),
        )
        with conn.cursor().copy(
            "COPY interaction_clusters (run_id, interaction_id, cluster_id, x_pca, y_pca, x_umap, y_umap) FROM STDIN"
        ) as copy:
            for i, iid in enumerate(ids):
                um = [None if np.isnan(v) else float(v) for v in xy_umap[i]]
                copy.write_row((run_id, iid, int(labels[i]), float(pca[i, 0]), float(pca[i, 1]), um[0], um[1]))
        conn.execute(
            "DELETE FROM analytics_runs WHERE run_id NOT IN "
            "(SELECT run_id FROM analytics_runs ORDER BY created_at DESC, run_id DESC LIMIT %s)",
            (KEEP_RUNS,),
        )


def get_run(conn: psycopg.Connection[DictRow], run_id: str | None = None,
            project: str = DEFAULT_PROJECT) -> dict[str, Any] | None:
    """The run ``run_id`` (the newest of ``project`` when None) as a dict, or None when there is none."""
    if run_id:
        row = conn.execute(f"SELECT {RUN_COLUMNS} FROM analytics_runs WHERE run_id = %s", (run_id,)).fetchone()
    else:
        row = conn.execute(
            f"SELECT {RUN_COLUMNS} FROM analytics_runs WHERE coalesce(params->>'project', %s) = %s "
            "ORDER BY created_at DESC, run_id DESC LIMIT 1", (DEFAULT_PROJECT, project)
        ).fetchone()
    return dict(row) if row else None


def run_points(
    conn: psycopg.Connection[DictRow], run_id: str, sample: int | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """Per-interaction rows of a run (interaction_id, cluster_id, x/y PCA and UMAP), a deterministic sample."""
    rows = conn.execute(
        "SELECT interaction_id, cluster_id, x_pca, y_pca, x_umap, y_umap FROM interaction_clusters "
        "WHERE run_id = %s ORDER BY interaction_id",
        (run_id,),
    ).fetchall()
    if sample is not None and len(rows) > sample:
        keep = np.sort(np.random.default_rng(seed).choice(len(rows), size=sample, replace=False))
        rows = [rows[i] for i in keep]
    return [dict(r) for r in rows]


def store_umap(conn: psycopg.Connection[DictRow], run_id: str, ids: list[str], coords: np.ndarray) -> None:
    """Record UMAP coordinates computed after the run."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "UPDATE interaction_clusters SET x_umap = %s, y_umap = %s WHERE run_id = %s AND interaction_id = %s",
            [(float(x), float(y), run_id, iid) for iid, (x, y) in zip(ids, coords, strict=True)],
        )


def cluster_member_ids(
    conn: psycopg.Connection[DictRow], run_id: str, cluster_id: int, failing_only: bool = False, limit: int = 5
) -> list[str]:
    """Interaction ids in a cluster (optionally only failing ones), most recent first."""
    cond = " AND i.is_failure" if failing_only else ""
    rows = conn.execute(
        "SELECT c.interaction_id FROM interaction_clusters c JOIN interactions i USING (interaction_id) "
        f"WHERE c.run_id = %s AND c.cluster_id = %s{cond} ORDER BY i.timestamp_utc DESC, c.interaction_id LIMIT %s",
        (run_id, cluster_id, limit),
    ).fetchall()
    return [r["interaction_id"] for r in rows]


def profile_to_json(p: ClusterProfile) -> dict[str, Any]:
    """A profile as stored in ``params['profiles']`` (no centroid)."""
    return p.to_dict()


def by_count(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every ``{name: count}`` field re-sorted by count, descending (ties by name).

    Postgres ``jsonb`` does not keep key order, and profiles rely on "first key = most frequent"."""
    out = dict(data)
    for key, value in data.items():
        if isinstance(value, dict) and value and all(isinstance(v, int) for v in value.values()):
            out[key] = dict(sorted(value.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def profile_from_json(data: dict[str, Any]) -> ClusterProfile:
    """Rebuild a :class:`ClusterProfile` from :func:`profile_to_json` output (unknown keys are ignored)."""
    known = {f.name for f in fields(ClusterProfile)} - {"centroid"}
    kwargs = {k: v for k, v in by_count(data).items() if k in known}
    for key in ("exemplars", "failing_exemplars"):
        kwargs[key] = [Exemplar(**e) for e in kwargs.get(key) or []]
    return ClusterProfile(**kwargs)


def load_frame(
    conn: psycopg.Connection[DictRow], max_rows: int | None = None, seed: int = 0, project: str = DEFAULT_PROJECT
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """``project``'s interactions that have an embedding (a deterministic random sample of ``max_rows``), their
    vectors and how many interactions were left out for lack of a vector."""
    embedded = {r["interaction_id"] for r in conn.execute(
        "SELECT e.interaction_id FROM log_embeddings e JOIN interactions i USING (interaction_id) "
        "WHERE i.project = %s", (project,))}
    if not embedded:
        raise LookupError(f"no interaction of project {project!r} has an embedding (no text, or not embedded yet: "
                          "`opsgraph data embed`)")
    df = load_interactions(conn, project=project)
    keep = df["interaction_id"].isin(embedded).to_numpy()
    missing = int((~keep).sum())
    df = df[keep]
    if max_rows is not None and len(df) > max_rows:
        pick = np.sort(np.random.default_rng(seed).choice(len(df), size=max_rows, replace=False))
        df = df.iloc[pick]
    df = df.reset_index(drop=True)
    return df, load_embeddings(conn, df["interaction_id"].tolist()), missing


def find_answer_key(conn: psycopg.Connection[DictRow]) -> Path | None:
    """``answer_key_labels.csv`` next to the source of the newest finished ingestion that has one (a later small
    upload of real rows does not hide the key of the generated data loaded before it), if there is one."""
    rows = conn.execute(
        "SELECT source_dir FROM ingest_runs WHERE status = 'done' ORDER BY finished_at DESC NULLS LAST"
    ).fetchall()
    for row in rows:
        path = Path(row["source_dir"]) / LABELS_FILE
        if path.is_file():
            return path
    return None
