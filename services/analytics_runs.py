"""One analytics run over the stored telemetry: load -> cluster -> profile -> name -> rank -> project -> charts ->
report -> cluster metadata -> (answer-key score) -> persist.

Input: interactions joined with their ``log_embeddings`` vectors (rows without a vector are left out and counted in
``params['n_without_embedding']``; no vectors at all is an error). Outputs, in ``out_dir``: ``report.html``
(standalone: images inlined), ``report.md``, ``charts/`` (HTML + PNG), ``cluster_metadata.json`` (the contract of
:mod:`analytics.cluster_metadata`), ``run.json`` (parameters, timings, provenance) and ``evaluation.json`` when an
answer key was given. The run is persisted (:mod:`services.analytics_store`) so tools and agents read the latest one.

Clustering space: the 384-d text embedding, optionally extended by a one-hot failure-type block scaled by
``failure_weight`` (``w / sqrt(2)`` per coordinate, so two failure types are ``w`` apart). See docs/analytics.md for
the measured effect on the planted incidents.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import psycopg
from psycopg.rows import DictRow

from analytics import columns as C
from analytics.charts import map_chart, standard_charts, write_charts
from analytics.cluster_metadata import cluster_metadata, validate_cluster_metadata
from analytics.clustering import ClusterResult, hdbscan_clusters, kmeans_auto
from analytics.incident_detection import detect_incidents
from analytics.narrative import compose_narrative
from analytics.projection import Projection, configure_numba_cache, pca_reduce, umap_reduce
from analytics.ranking import STRATEGIES, RankedCluster, rank_clusters
from analytics.report import build_report
from analytics.semantics import IMPACT_WEIGHTS, ClusterProfile, describe_clusters
from analytics.timeseries import compute_trends
from core.projects import DEFAULT_PROJECT
from core.providers import embedder_spec
from core.settings import get_settings
from services.analytics_store import load_frame, profile_to_json, save_run
from services.answer_key import load_answer_key, score_against_key
from services.cluster_naming import name_clusters, write_narrative
from services.telemetry import data_version

Method = Literal["kmeans", "hdbscan"]
StepFn = Callable[[str], None]
DEFAULT_FAILURE_WEIGHT = 0.5


@dataclass
class RunOptions:
    """What to compute. ``k=None`` picks K in ``k_range`` by silhouette (kmeans; ignored by hdbscan)."""

    method: Method = "kmeans"
    k: int | None = None
    k_range: tuple[int, int] = (4, 24)
    strategy: str = "mixed"
    umap: bool = False
    max_rows: int | None = None
    seed: int = 0
    failure_weight: float = DEFAULT_FAILURE_WEIGHT
    charts: bool = True
    use_llm: bool = True
    answer_key: Path | None = None

    def validate(self) -> None:
        """Raise ValueError on an impossible combination."""
        if self.method not in ("kmeans", "hdbscan"):
            raise ValueError(f"method must be 'kmeans' or 'hdbscan', not {self.method!r}")
        if self.k is not None and not 2 <= self.k <= 200:
            raise ValueError("k must be between 2 and 200 (or None for automatic)")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose from {sorted(STRATEGIES)}")
        if self.max_rows is not None and self.max_rows < 50:
            raise ValueError("max_rows must be at least 50")
        if self.failure_weight < 0:
            raise ValueError("failure_weight must be >= 0")


@dataclass
class AnalyticsRun:
    """Everything one run produced (arrays row-aligned with ``ids``)."""

    run_id: str
    out_dir: Path
    ids: list[str]
    result: ClusterResult
    profiles: list[ClusterProfile]
    ranked: list[RankedCluster]
    metadata: dict[str, Any]
    params: dict[str, Any]
    pca: Projection
    umap: Projection | None = None
    evaluation: dict[str, Any] | None = None
    paths: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The run as :func:`services.analytics_store.get_run` returns it (without touching a database)."""
        return {
            "run_id": self.run_id,
            "created_at": datetime.now(UTC),
            "method": self.result.method,
            "k": self.result.k,
            "params": self.params,
            "metadata": self.metadata,
            "out_dir": str(self.out_dir),
        }


def clustering_space(X: np.ndarray, failure_types: pd.Series, weight: float) -> np.ndarray:
    """The embedding, plus a one-hot failure-type block scaled by ``weight`` (none when ``weight`` is 0)."""
    if weight <= 0:
        return X
    values = failure_types.astype(str).to_numpy()
    onehot = (values[:, None] == np.unique(values)[None, :]).astype(np.float32)
    return np.hstack([X, onehot * np.float32(weight / np.sqrt(2.0))])


def cluster(X: np.ndarray, opts: RunOptions) -> ClusterResult:
    """K-means (K fixed or by silhouette) or HDBSCAN (PCA-50, then UMAP-10 when ``opts.umap``) on ``X``."""
    if opts.method == "hdbscan":
        return hdbscan_clusters(X, seed=opts.seed, reduce_to=10 if opts.umap else None)
    k_range = (opts.k, opts.k) if opts.k else opts.k_range
    return kmeans_auto(X, k_range=k_range, seed=opts.seed)


def profile(df: pd.DataFrame, X: np.ndarray, labels: np.ndarray) -> list[ClusterProfile]:
    """:func:`describe_clusters` plus business impact computed here.

    Works around ``analytics.semantics`` summing an empty pandas-3 ``str`` Series (a cluster without failures)
    into ``''``; the figures are the same as that module's (failing rows weighted by ``IMPACT_WEIGHTS``).
    """
    impact = C.column(df, "business_impact_tag")
    profiles = describe_clusters(df.drop(columns=["business_impact_tag"], errors="ignore"), X, labels)
    if impact is None:
        return profiles
    failed = C.failure_mask(df)
    tags = impact.astype(object).fillna("").map(lambda v: str(v).lower()).to_numpy(dtype=object)
    for p in profiles:
        sel = tags[(labels == p.cluster_id) & failed]
        counts = pd.Series(sel, dtype=object).value_counts()
        p.business_impact = {str(k): int(v) for k, v in counts.head(10).items()}
        p.impact_score = round(float(sum(IMPACT_WEIGHTS.get(str(t), 1.0) for t in sel)), 2)
    return profiles


def _figures(
    profiles: list[ClusterProfile], ranked: list[RankedCluster], trends: Any, incidents: list[Any]
) -> dict[str, Any]:
    by_id = {p.cluster_id: p for p in profiles}
    return {
        "overall": trends.overall,
        "top_clusters": [{**r.to_dict(), "keywords": by_id[r.cluster_id].keywords[:5]} for r in ranked[:5]],
        "incidents": [i.to_dict() for i in incidents[:5]],
    }


def _shares(df: pd.DataFrame, name: str) -> dict[str, float]:
    col = C.column(df, name)
    if col is None:
        return {}
    return {str(k): round(float(v), 5) for k, v in col.astype(str).value_counts(normalize=True).items()}


def _write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return str(path)


class _Clock:
    """Seconds per stage, and the caller's progress callback as each stage starts."""

    def __init__(self, step: StepFn | None) -> None:
        self.step = step
        self.timings: dict[str, float] = {}
        self._t = time.perf_counter()

    def start(self, name: str) -> None:
        if self.step:
            self.step(name)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._t, 3)
        self._t = now


def new_run_id() -> str:
    """Sortable, unique run id: UTC timestamp plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def _outputs(
    df: pd.DataFrame,
    result: ClusterResult,
    profiles: list[ClusterProfile],
    ranked: list[RankedCluster],
    pca: Projection,
    um: Projection | None,
    opts: RunOptions,
    out: Path,
    clock: _Clock,
) -> tuple[dict[str, str], str]:
    """Charts, narrative and report files; returns (paths, narrative source)."""
    trends, incidents = compute_trends(df), detect_incidents(df)
    charts: dict[str, dict[str, str]] = {}
    if opts.charts:
        clock.start("charts")
        specs = standard_charts(df, trends, ranked, profiles, (um or pca).coords, result.labels)
        if um is not None:
            specs["map_pca_by_cluster"] = map_chart(pca.coords, result.labels, "cluster (PCA)")
        charts = write_charts(specs, out / "charts")
        clock.lap("charts")
    clock.start("report")
    composed = compose_narrative(profiles, ranked, trends, incidents)
    narrative, source = (composed, "composed offline from the figures")
    if opts.use_llm:
        narrative, source = write_narrative(_figures(profiles, ranked, trends, incidents), composed)
    md, html = build_report(profiles, ranked, trends, incidents, charts, narrative, md_base_dir=out)
    (out / "report.md").write_text(md, encoding="utf-8")
    (out / "report.html").write_text(html, encoding="utf-8")
    paths = {"report_html": str(out / "report.html"), "report_md": str(out / "report.md")}
    if charts:
        paths["charts_dir"] = str(out / "charts")
    clock.lap("report")
    return paths, source


def analyse(
    df: pd.DataFrame,
    X: np.ndarray,
    out_dir: Path,
    opts: RunOptions | None = None,
    step: StepFn | None = None,
    run_id: str | None = None,
) -> AnalyticsRun:
    """Every stage after loading, on a harmonised frame and its row-aligned embeddings (no database)."""
    opts = opts or RunOptions()
    opts.validate()
    clock = _Clock(step)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = df.reset_index(drop=True)
    clock.start("cluster")
    result = cluster(clustering_space(X, C.failure_types(df), opts.failure_weight), opts)
    clock.lap("cluster")
    clock.start("profile")
    profiles = profile(df, X, result.labels)
    label_source = name_clusters(profiles) if opts.use_llm else "c-tf-idf"
    ranked = rank_clusters(profiles, opts.strategy)
    clock.lap("profile_rank")
    clock.start("project (PCA)")
    pca = pca_reduce(X, 2, seed=opts.seed)
    clock.lap("pca")
    um: Projection | None = None
    if opts.umap:
        clock.start("project (UMAP)")
        configure_numba_cache(get_settings().model_cache_dir / "numba")
        um = umap_reduce(X, 2, seed=opts.seed)
        clock.lap("umap")
    paths, narrative_source = _outputs(df, result, profiles, ranked, pca, um, opts, out, clock)
    metadata = cluster_metadata(result, profiles, ranked, embedder_spec().model, um or pca)
    problems = validate_cluster_metadata(metadata)
    if problems:
        raise RuntimeError(f"cluster metadata does not match its contract: {problems}")
    paths["cluster_metadata"] = _write_json(out / "cluster_metadata.json", metadata)
    evaluation = None
    ids = df["interaction_id"].astype(str).tolist()
    if opts.answer_key:
        key = load_answer_key(opts.answer_key)
        failed, types = C.failure_mask(df), C.failure_types(df).tolist()
        evaluation = {**score_against_key(ids, result.labels, failed, types, key, ranked),
                      "answer_key": str(opts.answer_key)}  # fmt: skip
        paths["evaluation"] = _write_json(out / "evaluation.json", evaluation)
    paths["run"] = str(out / "run.json")
    params = {
        "options": {**asdict(opts), "answer_key": str(opts.answer_key) if opts.answer_key else None},
        "clustering": result.to_dict(), "n_rows": len(ids), "label_source": label_source,
        "narrative_source": narrative_source, "timings_s": clock.timings, "paths": paths, "evaluation": evaluation,
        "pca": pca.to_dict(), "umap": um.to_dict() if um else None, "model_shares": _shares(df, "model_name"),
        "profiles": [profile_to_json(p) for p in profiles],
    }  # fmt: skip
    _write_json(out / "run.json", {k: v for k, v in params.items() if k != "profiles"})
    return AnalyticsRun(run_id or new_run_id(), out, ids, result, profiles, ranked, metadata, params, pca, um,
                        evaluation, paths)  # fmt: skip


def run_analysis(
    conn: psycopg.Connection[DictRow],
    out_dir: Path | None = None,
    opts: RunOptions | None = None,
    step: StepFn | None = None,
    project: str = DEFAULT_PROJECT,
) -> AnalyticsRun:
    """Load ``project``'s interactions from the database, :func:`analyse`, persist; ``step(name)`` is called as
    each stage starts."""
    opts = opts or RunOptions()
    opts.validate()
    run_id = new_run_id()
    out = Path(out_dir) if out_dir else get_settings().artifacts_dir / "analytics" / run_id
    if step:
        step("load")
    started = time.perf_counter()
    version = data_version(conn, project)
    df, X, missing = load_frame(conn, opts.max_rows, opts.seed, project)
    load_s = round(time.perf_counter() - started, 3)
    run = analyse(df, X, out, opts, step, run_id)
    run.params["timings_s"] = {"load": load_s, **run.params["timings_s"]}
    run.params["n_without_embedding"] = missing
    run.params["data_version"] = version
    run.params["project"] = project
    if step:
        step("persist")
    save_run(conn, run.run_id, run.result.method, run.result.k, run.params, run.metadata, str(out), run.ids,
             run.result.labels, run.pca.coords, run.umap.coords if run.umap else None)  # fmt: skip
    return run
