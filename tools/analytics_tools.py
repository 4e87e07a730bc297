"""LangChain tools over the analytics runs: cluster, describe, re-rank, project, and the top failure clusters.

Each tool validates its arguments, makes one call and returns compact JSON-serialisable data. Runs are persisted
(:mod:`services.analytics_store`); every tool except ``cluster_interactions`` reads the latest run, and
``top_failure_clusters`` runs one first when none exists. Tool runs use PCA only (UMAP costs ~30 s of JIT on a
process's first call); ``project_embeddings(method="umap")`` computes and stores UMAP coordinates on demand.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import InjectedState

from analytics.projection import configure_numba_cache, umap_reduce
from analytics.ranking import STRATEGIES
from analytics.ranking import rank_clusters as rank_profiles
from core.projects import DEFAULT_PROJECT
from core.settings import get_settings
from services.analytics_runs import RunOptions, run_analysis
from services.analytics_store import by_count, cluster_member_ids, get_run, profile_from_json, run_points, store_umap
from services.capabilities import unavailable
from services.telemetry import data_version, load_embeddings, pooled

_Project = Annotated[str, InjectedState("project")]  # the agent's project, injected by ToolNode (hidden from models)
MAX_TOP = 50
MAX_SAMPLE = 5000


class NoAnalyticsRun(LookupError):
    """No analytics run is stored yet (or not the one asked for)."""


def _round(value: Any, digits: int = 4) -> Any:
    return round(float(value), digits) if isinstance(value, float | np.floating) else value


def _top_share(counts: dict[str, int], total: int, overall: dict[str, float]) -> dict[str, Any] | None:
    """The leading entry of ``counts``, its share of ``total`` and its lift over its share of all rows."""
    if not counts or not total:
        return None
    name, n = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    out: dict[str, Any] = {"name": name, "count": n, "share": round(n / total, 3)}
    if overall.get(name):
        out["lift"] = round(n / total / overall[name], 2)
    return out


def _cluster_summary(
    profile: dict[str, Any], meta: dict[str, Any] | None = None, model_shares: dict[str, float] | None = None
) -> dict[str, Any]:
    """Compact view of one stored cluster profile (rank/score from the metadata entry). ``top_failing_model``
    carries ``lift``: its share of the cluster's failures over its share of all rows (1 = no concentration)."""
    meta = meta or {}
    return {
        "cluster_id": profile["cluster_id"],
        "label": profile["label"],
        "rank": meta.get("rank"),
        "score": _round(meta.get("priority_score")),
        "size": profile["size"],
        "failure_rate": profile["failure_rate"],
        "n_failures": profile["n_failures"],
        "dominant_failure_type": profile["dominant_failure_type"],
        "top_failing_model": _top_share(profile.get("failing_models") or {}, profile["n_failures"], model_shares or {}),
        "latency_p95_ms": profile.get("latency_p95_ms"),
        "cost_total_usd": profile.get("cost_total_usd"),
        "keywords": (profile.get("keywords") or [])[:5],
    }


# Data access: the only functions that touch the database (unit tests replace them with in-memory fakes).


def _run(run_id: str | None = None, project: str = DEFAULT_PROJECT) -> dict[str, Any]:
    """The stored run ``run_id`` (the project's newest when None); raises :class:`NoAnalyticsRun`."""
    with pooled() as conn:
        run = get_run(conn, run_id, project)
    if run is None:
        raise NoAnalyticsRun(
            f"no analytics run {run_id!r}" if run_id else "no analytics run yet; call cluster_interactions first"
        )
    return run


def _has_current_run(project: str = DEFAULT_PROJECT) -> bool:
    """Whether the project's newest run was computed on its current data version (then a question reuses it)."""
    with pooled() as conn:
        run = get_run(conn, None, project)
        return run is not None and run["params"].get("data_version") == data_version(conn, project)


def _new_run(opts: RunOptions, project: str = DEFAULT_PROJECT) -> dict[str, Any]:
    """Run and persist an analysis of the project; returns the stored run."""
    with pooled() as conn:
        run_id = run_analysis(conn, opts=opts, project=project).run_id
    return _run(run_id, project)


NO_TEXT = "failure_trends breaks the failures down by model, use case and tool without text"


def _no_clusters(project: str) -> dict[str, Any] | None:
    """Why the project's interactions cannot be clustered (no text to embed), or None when they can."""
    return unavailable(project, "text_clustering", NO_TEXT)


def _points(run_id: str) -> list[dict[str, Any]]:
    with pooled() as conn:
        return run_points(conn, run_id)


def _member_ids(run_id: str, cluster_id: int, limit: int = 5) -> list[str]:
    with pooled() as conn:
        return cluster_member_ids(conn, run_id, cluster_id, failing_only=True, limit=limit)


def _window_counts(run_id: str, start: str | None, end: str | None) -> dict[int, dict[str, Any]]:
    """Per cluster of the run: its members and failures with a timestamp in [start, end] (days, inclusive), and up
    to 5 failing ids of the window, newest first."""
    with pooled() as conn:
        rows = conn.execute(
            "SELECT c.cluster_id, count(*) AS size, count(*) FILTER (WHERE i.is_failure) AS n_failures, "
            "(array_agg(i.interaction_id ORDER BY i.timestamp_utc DESC) FILTER (WHERE i.is_failure))[1:5] AS ids "
            "FROM interaction_clusters c JOIN interactions i USING (interaction_id) WHERE c.run_id = %s "
            "AND (%s::date IS NULL OR (i.timestamp_utc AT TIME ZONE 'UTC')::date >= %s::date) "
            "AND (%s::date IS NULL OR (i.timestamp_utc AT TIME ZONE 'UTC')::date <= %s::date) GROUP BY c.cluster_id",
            (run_id, start, start, end, end)).fetchall()
    return {int(r["cluster_id"]): {"size": int(r["size"]), "n_failures": int(r["n_failures"]),
                                   "ids": list(r["ids"] or [])} for r in rows}


def _compute_umap(run_id: str, ids: list[str]) -> np.ndarray:
    """UMAP coordinates of the run's rows from their stored embeddings; stored for the next call."""
    configure_numba_cache(get_settings().model_cache_dir / "numba")
    with pooled() as conn:
        coords = umap_reduce(load_embeddings(conn, ids), 2).coords
        store_umap(conn, run_id, ids, coords)
    return coords


def _profiles(run: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The run's stored profiles by cluster id, count dicts re-sorted (jsonb loses key order)."""
    return {p["cluster_id"]: by_count(p) for p in run["params"]["profiles"]}


def _summaries(run: dict[str, Any], top: int | None = None, failing_only: bool = False) -> list[dict[str, Any]]:
    meta = {c["cluster_id"]: c for c in run["metadata"]["clusters"]}
    profiles = _profiles(run)
    order = [c["cluster_id"] for c in run["metadata"]["clusters"]]  # metadata is ordered by rank
    shares = run["params"].get("model_shares") or {}
    out = [
        _cluster_summary(profiles[c], meta[c], shares) for c in order if not failing_only or profiles[c]["n_failures"]
    ]
    return out[:top] if top else out


def _header(run: dict[str, Any]) -> dict[str, Any]:
    params = run["params"]
    return {
        "run_id": run["run_id"],
        "created_at": str(run["created_at"]),
        "method": run["method"],
        "k": run["k"],
        "n_rows": params["n_rows"],
        "silhouette": _round(params["clustering"]["scores"].get("silhouette")),
        "ranking_strategy": run["metadata"].get("ranking_strategy"),
        "report_html": params["paths"].get("report_html"),
    }


@tool
def cluster_interactions(
    method: Literal["kmeans", "hdbscan"] = "kmeans", k: int | None = None, max_rows: int | None = None,
    project: _Project = DEFAULT_PROJECT,
) -> dict[str, Any]:
    """Cluster the stored interaction embeddings (k=None picks K automatically), profile and rank the clusters
    (mixed strategy), persist the run and return the clusters ranked by priority."""
    missing = _no_clusters(project)
    if missing:
        return missing
    if k is not None and not 2 <= k <= 200:
        raise ValueError("k must be between 2 and 200, or null for automatic")
    if max_rows is not None and max_rows < 50:
        raise ValueError("max_rows must be at least 50, or null for all rows")
    run = _new_run(RunOptions(method=method, k=k, max_rows=max_rows), project)
    return {**_header(run), "clusters": _summaries(run, top=MAX_TOP)}


@tool
def describe_cluster(cluster_id: int, run_id: str | None = None, project: _Project = DEFAULT_PROJECT) -> dict[str, Any]:
    """Everything known about one cluster of the latest (or given) run: failure mix, models, use cases, tools,
    latency, cost, feedback, resolution, keywords, typical and typical failing prompts, example interaction ids."""
    run = _run(run_id, project)
    profiles = _profiles(run)
    if cluster_id not in profiles:
        raise ValueError(f"cluster {cluster_id} is not in run {run['run_id']}; clusters: {sorted(profiles)}")
    p = profiles[cluster_id]
    meta = next(c for c in run["metadata"]["clusters"] if c["cluster_id"] == cluster_id)
    recent_failures = _member_ids(run["run_id"], cluster_id)
    keep = ("failure_types", "failing_models", "top_models", "top_use_cases", "top_tools", "top_channels",
            "latency_p50_ms", "latency_p95_ms", "cost_mean_usd", "tokens_mean", "feedback_mean",
            "feedback_negative_share", "resolution", "repair_strategies", "business_impact", "first_seen",
            "last_seen", "keywords")  # fmt: skip
    return {
        "run_id": run["run_id"],
        **_cluster_summary(p, meta, run["params"].get("model_shares")),
        "reason": meta.get("reason"),
        **{k: p.get(k) for k in keep},
        "exemplars": [{k: e[k] for k in ("interaction_id", "failure_type", "text")} for e in p["exemplars"]],
        "failing_exemplars": [
            {k: e[k] for k in ("interaction_id", "failure_type", "text")} for e in p["failing_exemplars"]
        ],
        "recent_failure_ids": recent_failures,
    }


@tool
def rank_clusters(strategy: str = "mixed", top: int = 10, project: _Project = DEFAULT_PROJECT) -> dict[str, Any]:
    """Re-rank the clusters of the current data version's run (computed first if there is none) under a strategy
    (size, failure_rate, size_x_failure, business_impact, cost, mixed) with a one-line reason per position."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {sorted(STRATEGIES)}")
    top = max(1, min(int(top), MAX_TOP))
    missing = _no_clusters(project)
    if missing:
        return missing
    run = _run(None, project) if _has_current_run(project) else _new_run(RunOptions(), project)
    ranked = rank_profiles([profile_from_json(p) for p in run["params"]["profiles"]], strategy, top=top)
    return {
        **_header(run),
        "strategy": strategy,
        "explanation": STRATEGIES[strategy],
        "ranking": [{**r.to_dict(), "score": _round(r.score)} for r in ranked],
    }


@tool
def project_embeddings(method: Literal["pca", "umap"] = "pca", sample: int = 500,
                       run_id: str | None = None, project: _Project = DEFAULT_PROJECT) -> dict[str, Any]:
    """2-d map of the interactions of the latest (or given) run (PCA, or UMAP: ~30 s the first time in a
    process): a sample of points [interaction_id, cluster_id, x, y] and each cluster's centre on the map."""
    if method not in ("pca", "umap"):
        raise ValueError("method must be 'pca' or 'umap'")
    sample = max(10, min(int(sample), MAX_SAMPLE))
    missing = None if run_id else _no_clusters(project)
    if missing:
        return missing
    run = _run(run_id, project)
    points = _points(run["run_id"])
    if method == "umap" and any(p["x_umap"] is None for p in points):
        coords = _compute_umap(run["run_id"], [p["interaction_id"] for p in points])
        for pt, (x, y) in zip(points, coords, strict=True):
            pt["x_umap"], pt["y_umap"] = float(x), float(y)
    xs = np.array([[p[f"x_{method}"], p[f"y_{method}"]] for p in points], dtype=float)
    labels = np.array([p["cluster_id"] for p in points])
    labels_by_id = {c["cluster_id"]: c["label"] for c in run["metadata"]["clusters"]}
    centres = [
        {"cluster_id": int(c), "label": labels_by_id.get(int(c)), "size": int((labels == c).sum()),
         "x": round(float(xs[labels == c, 0].mean()), 4), "y": round(float(xs[labels == c, 1].mean()), 4)}
        for c in np.unique(labels)
    ]  # fmt: skip
    pick = np.random.default_rng(0).choice(len(points), size=min(sample, len(points)), replace=False)
    return {
        **_header(run),
        "method": method,
        "n_points": len(points),
        "centres": centres,
        "points": [
            [points[i]["interaction_id"], int(labels[i]), round(xs[i, 0], 4), round(xs[i, 1], 4)] for i in np.sort(pick)
        ],
    }


@tool
def top_failure_clusters(top: int = 5, start: str | None = None, end: str | None = None,
                         project: _Project = DEFAULT_PROJECT) -> dict[str, Any]:
    """The highest-priority clusters that contain failures (the latest run when it is of the current data version;
    otherwise a new run first), each with its failure mix, the model most of its failures come from, and example
    failing interaction ids. With ``start`` / ``end`` (YYYY-MM-DD, inclusive) the clusters are ranked by their
    failures in that window and carry the window's size, failures, failure rate and failing ids."""
    top = max(1, min(int(top), MAX_TOP))
    missing = _no_clusters(project)
    if missing:
        return missing
    run = _run(None, project) if _has_current_run(project) else _new_run(RunOptions(), project)
    if not (start or end):
        clusters = _summaries(run, top=top, failing_only=True)
        for c in clusters:
            c["example_failure_ids"] = _member_ids(run["run_id"], c["cluster_id"])
        return {**_header(run), "clusters": clusters}
    counts = _window_counts(run["run_id"], start, end)
    in_window = [c for c in _summaries(run, failing_only=True) if counts.get(c["cluster_id"], {}).get("n_failures")]
    ranked = sorted(in_window, key=lambda c: (-counts[c["cluster_id"]]["n_failures"], c["rank"] or 0))[:top]
    for c in ranked:
        w = counts[c["cluster_id"]]
        c["window"] = {"start": start, "end": end, "size": w["size"], "n_failures": w["n_failures"],
                       "failure_rate": _round(w["n_failures"] / w["size"])}
        c["example_failure_ids"] = w["ids"]
    return {**_header(run), "window": {"start": start, "end": end}, "clusters": ranked}


ANALYTICS_TOOLS: list[BaseTool] = [
    cluster_interactions,
    describe_cluster,
    rank_clusters,
    project_embeddings,
    top_failure_clusters,
]
