"""The ``/dashboard`` view: failures over time, latency per model, top clusters and the interaction maps (PCA and
UMAP, coloured by failure type, hovering shows the interaction id and its prompt).

Figures come from :mod:`analytics` chart specs rendered with plotly. Clusters and map coordinates come from the
latest persisted analytics run (``services.analytics_store``: profiles, cluster per interaction, UMAP or PCA
coordinates) when there is one; otherwise they are computed here from the stored embeddings (K-means with K by
silhouette, PCA map). Everything is one project's; an analysis its data cannot support (no latency column, no text
to cluster) is left out with a note saying why (:mod:`ingest.capabilities`). The result is cached until the
project's data version or the analytics runs change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import psycopg
from psycopg.rows import DictRow

from core.projects import DEFAULT_PROJECT

log = logging.getLogger(__name__)

MAP_POINTS = 3000  # points drawn on the map (a random sample keeps the page light)
HOVER_CHARS = 90
_cache: dict[str, Any] = {}
_lock = Lock()


@dataclass
class Dashboard:
    """What the chat shows: a markdown overview (headline figures, top clusters) and named plotly figures."""

    overview: str
    figures: list[tuple[str, go.Figure]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Clusters:
    """Ranked cluster profiles and, for the maps, each interaction's cluster and 2-d positions by projection."""

    ranked: list[Any]
    profiles: list[Any]
    ids: list[str]
    labels: np.ndarray
    maps: dict[str, np.ndarray]  # "PCA" / "UMAP" -> (n, 2) coordinates aligned with ids
    source: str


def _persisted(conn: psycopg.Connection[DictRow], project: str) -> Clusters | None:
    """The latest analytics run, or None when there is none (or the store is not available)."""
    try:
        from services.analytics_store import get_run, profile_from_json, run_points
    except ImportError:
        return None
    from analytics.ranking import rank_clusters

    try:
        run = get_run(conn, None, project)
    except psycopg.errors.UndefinedTable:
        return None
    profiles = [profile_from_json(p) for p in ((run or {}).get("params") or {}).get("profiles", [])]
    if run is None or not profiles:
        return None
    points = run_points(conn, run["run_id"], sample=MAP_POINTS)
    kinds = [k for k in ("pca", "umap") if points and all(p[f"x_{k}"] is not None for p in points)]
    maps = {k.upper(): np.array([[p[f"x_{k}"], p[f"y_{k}"]] for p in points], dtype=np.float32) for k in kinds}
    when = str(run.get("created_at", ""))[:16]
    return Clusters(rank_clusters(profiles, top=10), profiles, [p["interaction_id"] for p in points],
                    np.array([p["cluster_id"] for p in points], dtype=np.int64), maps,
                    f"analytics run {run['run_id']} of {when}, {run['method']}, {' and '.join(maps)} maps")


def _computed(conn: psycopg.Connection[DictRow], df: pd.DataFrame) -> Clusters:
    """Clusters computed now from the stored embeddings (raises LookupError without embeddings)."""
    from analytics.clustering import kmeans_auto
    from analytics.projection import pca_reduce
    from analytics.ranking import rank_clusters
    from analytics.semantics import describe_clusters
    from services.telemetry import load_embeddings

    ids = df["interaction_id"].astype(str).tolist()
    X = load_embeddings(conn, ids)
    result = kmeans_auto(X, k_range=(6, 16), sample=2000, seed=0)
    profiles = describe_clusters(df, X, result.labels, n_exemplars=1)
    coords = pca_reduce(X, n_components=2, sample=5000, seed=0).coords
    return Clusters(rank_clusters(profiles, top=10), profiles, ids, result.labels, {"PCA": coords},
                    "computed now: k-means, PCA map (`opsgraph analytics run` adds UMAP); an analytics run would "
                    "be reused")


def _overview(df: pd.DataFrame, overall: dict[str, Any], clusters: Clusters | None) -> str:
    rate = overall.get("failure_rate")
    lines = [
        "### Dashboard",
        f"{len(df):,} interactions"
        + (f", failure rate {rate:.1%}" if isinstance(rate, float) else "")
        + (f", p95 latency {overall['latency_p95_ms']:,.0f} ms" if overall.get("latency_p95_ms") else "")
        + (f", {overall['start']} to {overall.get('end', '')}" if overall.get("start") else "")
        + ".",
    ]
    if clusters and clusters.ranked:
        by_id = {p.cluster_id: p for p in clusters.profiles}
        lines += ["", f"**Top clusters** ({clusters.source})", "",
                  "| rank | topic | size | failure rate | dominant failure | p95 latency |",
                  "|---|---|---|---|---|---|"]
        for r in clusters.ranked[:8]:
            p = by_id[r.cluster_id]
            topic = str(r.label).split(" | ")[0].replace("|", "/")
            p95 = f"{p.latency_p95_ms:,.0f} ms" if p.latency_p95_ms else "-"
            lines.append(f"| {r.rank} | c{r.cluster_id}: {topic} | {p.size:,} | {p.failure_rate:.1%} | "
                         f"{p.dominant_failure_type or '-'} | {p95} |")
    return "\n".join(lines)


def _maps(df: pd.DataFrame, clusters: Clusters) -> list[tuple[str, go.Figure]]:
    """One map per projection the run has, coloured by failure type; hover: interaction id, cluster, prompt."""
    from analytics.charts import map_chart, to_plotly

    if not len(clusters.ids):
        return []
    rows = df.set_index("interaction_id").reindex(clusters.ids)
    prompts = rows["prompt_text"].fillna("").astype(str).str.slice(0, HOVER_CHARS)
    hover = [f"{i} (c{c}): {p}" for i, c, p in zip(clusters.ids, clusters.labels, prompts, strict=True)]
    types = rows["failure_type"].fillna("unknown").astype(str).tolist()
    return [(f"Interaction map ({kind})", to_plotly(map_chart(coords, types, "failure type", hover,
                                                               max_points=MAP_POINTS,
                                                               title=f"Interaction map ({kind}) by failure type")))
            for kind, coords in clusters.maps.items()]


def _compute(project: str) -> Dashboard:
    from analytics.charts import failures_over_time_chart, latency_chart, priority_chart, to_plotly
    from analytics.timeseries import compute_trends
    from ingest.capabilities import available, capabilities
    from services.telemetry import load_interactions, pooled

    notes: list[str] = []
    with pooled() as conn:
        df = load_interactions(conn, project=project)
        if df.empty:
            return Dashboard(f"### Dashboard\nNo telemetry in project {project!r} yet: drop telemetry files into the "
                             "chat to ingest them, run `opsgraph data ingest PATH`, or send traces to the OTLP "
                             "receiver.")
        caps = capabilities(conn, project)
        notes += [f"Not available: {c.reason}" for c in caps if not c.available]
        trends = compute_trends(df)
        clusters = None
        if available(caps, "text_clustering").available:
            clusters = _persisted(conn, project)
            if clusters is None:
                try:
                    clusters = _computed(conn, df)
                except LookupError as exc:  # texts not embedded yet
                    notes.append(f"Clusters and map unavailable: {exc}")
    figures = [("Failures over time", to_plotly(failures_over_time_chart(trends.failures_daily)))]
    if available(caps, "latency").available:
        figures.append(("Latency per model", to_plotly(latency_chart(df))))
    if clusters is not None and clusters.ranked:
        figures.append(("Top clusters", to_plotly(priority_chart(clusters.ranked, clusters.profiles, top=10))))
        figures += _maps(df, clusters)
        if "UMAP" not in clusters.maps:
            notes.append("No UMAP map for this run: `opsgraph analytics run` computes one (tool runs use PCA only).")
    return Dashboard(_overview(df, trends.overall, clusters), figures, notes)


def _data_key(project: str) -> str:
    from services.telemetry import data_version, pooled

    with pooled() as conn:
        try:
            run = conn.execute("SELECT max(created_at) AS at FROM analytics_runs").fetchone()
        except psycopg.errors.UndefinedTable:
            run = None
        return f"{data_version(conn, project)}:{run['at'] if run else ''}"


def build_dashboard(project: str = DEFAULT_PROJECT) -> Dashboard:
    """The dashboard of ``project``'s data (blocking: call it from a worker thread); cached per data version."""
    key = _data_key(project)
    with _lock:
        if _cache.get("key") != key:
            _cache.update(key=key, value=_compute(project))
        return _cache["value"]  # type: ignore[no-any-return]
