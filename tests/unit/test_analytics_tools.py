"""Analytics run and the analytics tools on small real data: the planted synthetic data set through the pure path
(:func:`services.analytics_runs.analyse`), with the tools' database access replaced by the in-memory run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tools.analytics_tools as T
from analytics.cluster_metadata import validate_cluster_metadata
from analytics.projection import umap_reduce
from analytics.ranking import rank_clusters
from analytics.semantics import describe_clusters
from analytics.synthetic import PlantedDataset, make_planted_dataset
from cli.analytics_cmd import _parse_k, summarise
from services.analytics_runs import AnalyticsRun, RunOptions, analyse, clustering_space, profile
from services.analytics_store import by_count, profile_from_json, profile_to_json
from services.answer_key import score_against_key
from services.cluster_naming_offline import offline_name

PNG = b"\x89PNG\r\n\x1a\n"
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def data() -> PlantedDataset:
    return make_planted_dataset(seed=0)


@pytest.fixture(scope="module")
def run(data: PlantedDataset, tmp_path_factory: pytest.TempPathFactory) -> AnalyticsRun:
    out = tmp_path_factory.mktemp("analytics-run")
    planted = (data.truth == data.planted_blob) & (data.df["failure_type"] == "latency_timeout").to_numpy()
    key = out / "answer_key_labels.csv"
    pd.DataFrame({"interaction_id": data.df["interaction_id"], "incident_id": np.where(planted, "INC-SYN", "none")}
                 ).to_csv(key, index=False)  # fmt: skip
    return analyse(data.df, data.X, out / "run", RunOptions(k_range=(3, 6), answer_key=key))


@pytest.fixture()
def store(run: AnalyticsRun, data: PlantedDataset, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The tools read ``run`` instead of the database; ``calls`` records what they asked for."""
    record = run.record()
    calls: dict[str, Any] = {"new_runs": [], "has_run": True}
    failing = set(data.df.loc[data.df["is_failure"], "interaction_id"])
    no_umap = {"x_umap": None, "y_umap": None}
    points = [
        {"interaction_id": i, "cluster_id": int(c), "x_pca": float(x), "y_pca": float(y), **no_umap}
        for i, c, (x, y) in zip(run.ids, run.result.labels, run.pca.coords, strict=True)
    ]

    def new_run(opts: RunOptions, project: str = "default") -> dict[str, Any]:
        calls["new_runs"].append(opts)
        calls["has_run"] = True
        return record

    def member_ids(run_id: str, cluster_id: int, limit: int = 5) -> list[str]:
        rows = [str(p["interaction_id"]) for p in points if p["cluster_id"] == cluster_id]
        return [i for i in rows if i in failing][:limit]

    monkeypatch.setattr(T, "_run", lambda run_id=None, project="default": record)
    monkeypatch.setattr(T, "_has_current_run", lambda project="default": calls["has_run"])
    monkeypatch.setattr(T, "unavailable", lambda project, analysis, instead=None: None)
    monkeypatch.setattr(T, "_new_run", new_run)
    monkeypatch.setattr(T, "_points", lambda run_id: [dict(p) for p in points])
    monkeypatch.setattr(T, "_member_ids", member_ids)
    monkeypatch.setattr(T, "_compute_umap", lambda run_id, ids: umap_reduce(data.X, 2).coords)
    return calls


def _planted_cluster(run: AnalyticsRun, data: PlantedDataset) -> int:
    values, counts = np.unique(run.result.labels[data.truth == data.planted_blob], return_counts=True)
    return int(values[counts.argmax()])


def test_analyse_recovers_and_ranks_the_planted_incident(run: AnalyticsRun, data: PlantedDataset) -> None:
    ev = run.evaluation
    assert ev is not None
    (inc,) = ev["incidents"]
    assert inc["recall"] >= 0.95 and inc["rank"] == 1 and inc["type_share"] >= 0.9
    assert ev["incident_rows"]["purity"] == 1.0 and ev["in_top3"] == 1
    assert run.ranked[0].cluster_id == _planted_cluster(run, data)
    assert set(run.params["timings_s"]) >= {"cluster", "profile_rank", "pca", "charts", "report"}


def test_report_charts_and_metadata_are_written(run: AnalyticsRun) -> None:
    html = Path(run.paths["report_html"]).read_text()
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html and not EXTERNAL.search(html)
    assert run.ranked[0].label in html and "Priority clusters (mixed ranking)" in html
    md = Path(run.paths["report_md"]).read_text()
    assert "## Summary" in md and "charts/" in md
    charts = Path(run.paths["charts_dir"])
    pngs = sorted(charts.glob("*.png"))
    assert {p.stem for p in pngs} >= {"cluster_priority", "map_by_cluster", "map_by_failure_type", "latency_by_model"}
    assert all(p.read_bytes().startswith(PNG) and p.stat().st_size > 1024 for p in pngs)
    assert "Plotly.newPlot" in (charts / "map_by_cluster.html").read_text()
    meta = json.loads(Path(run.paths["cluster_metadata"]).read_text())
    assert validate_cluster_metadata(meta) == [] and meta["clusters"][0]["rank"] == 1
    assert json.loads(Path(run.paths["run"]).read_text())["label_source"].startswith("c-tf-idf")


def test_offline_names_and_narrative_come_from_the_figures(run: AnalyticsRun, data: PlantedDataset) -> None:
    top = next(p for p in run.profiles if p.cluster_id == run.ranked[0].cluster_id)
    assert top.label == offline_name(top.to_dict()) and "latency_timeout" in top.label
    assert top.keywords[0] in top.label
    assert run.params["narrative_source"] == "composed offline from the figures"
    html = Path(run.paths["report_html"]).read_text()
    assert f"{len(data.df):,} interactions" in html and "offline reasoner" not in html


def test_scores_against_a_key_reward_separated_incidents() -> None:
    ids = [f"i{n}" for n in range(8)]
    key = pd.Series(["A", "A", "B", "B", "none", "none", "none", "none"], index=ids)
    failed = np.array([1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)
    types = ["x", "x", "y", "y", "x", "z", "none", "none"]
    exact = score_against_key(ids, np.array([0, 0, 1, 1, 2, 2, 3, 3]), failed, types, key)
    assert exact["incident_rows"] == {"n_rows": 4, "adjusted_rand": 1.0, "purity": 1.0}
    assert [i["recall"] for i in exact["incidents"]] == [1.0, 1.0]
    merged = score_against_key(ids, np.array([0, 0, 0, 0, 1, 1, 1, 1]), failed, types, key)
    assert merged["incident_rows"]["adjusted_rand"] == 0.0 and merged["incidents"][0]["precision"] == 0.5


def test_failure_block_keeps_failure_types_apart() -> None:
    X = np.eye(4, 6, dtype=np.float32)
    types = pd.Series(["none", "tool_error", "tool_error", "hallucination"])
    assert clustering_space(X, types, 0.0) is X
    Z = clustering_space(X, types, 0.5)
    assert Z.shape == (4, 9)
    assert np.linalg.norm(Z[1, 6:] - Z[3, 6:]) == pytest.approx(0.5) and np.allclose(Z[1, 6:], Z[2, 6:])


def test_profiles_survive_clusters_without_failures_and_round_trip(data: PlantedDataset) -> None:
    df = data.df.copy()
    labels = data.truth.copy()
    df.loc[labels == 0, "is_failure"] = False
    df.loc[labels == 0, "failure_type"] = "none"
    profiles = profile(df, data.X, labels)
    healthy = next(p for p in profiles if p.cluster_id == 0)
    assert healthy.n_failures == 0 and healthy.impact_score == 0.0
    planted = next(p for p in profiles if p.cluster_id == data.planted_blob)
    assert planted.impact_score > planted.n_failures  # critical/high failures weigh 3-4
    rebuilt = [profile_from_json(json.loads(json.dumps(profile_to_json(p)))) for p in profiles]
    assert [r.to_dict() for r in rank_clusters(rebuilt)] == [r.to_dict() for r in rank_clusters(profiles)]
    assert list(by_count({"m": {"b": 1, "a": 3, "c": 1}, "s": "x"})["m"]) == ["a", "b", "c"]
    plain = describe_clusters(data.df.head(50), data.X[:50], labels[:50])
    assert profiles[0].to_dict().keys() == plain[0].to_dict().keys()


def test_cluster_interactions_tool(store: dict[str, Any], run: AnalyticsRun) -> None:
    out = T.cluster_interactions.invoke({"method": "kmeans", "k": 4, "max_rows": 1000})
    assert store["new_runs"][-1].k == 4 and store["new_runs"][-1].max_rows == 1000
    assert out["run_id"] == run.run_id and [c["rank"] for c in out["clusters"]] == list(range(1, run.result.k + 1))
    assert len(json.dumps(out)) < 8000
    with pytest.raises(ValueError, match="k must be"):
        T.cluster_interactions.invoke({"k": 1})


def test_describe_cluster_tool(store: dict[str, Any], run: AnalyticsRun, data: PlantedDataset) -> None:
    cid = _planted_cluster(run, data)
    out = T.describe_cluster.invoke({"cluster_id": cid})
    assert out["rank"] == 1 and out["dominant_failure_type"] == "latency_timeout"
    assert out["top_failing_model"]["name"] == data.planted_model and out["top_failing_model"]["lift"] > 1.5
    assert out["reason"].startswith("rank 1")
    assert out["failing_exemplars"] and out["recent_failure_ids"]
    with pytest.raises(ValueError, match="not in run"):
        T.describe_cluster.invoke({"cluster_id": 999})


def test_rank_clusters_tool(store: dict[str, Any], run: AnalyticsRun) -> None:
    out = T.rank_clusters.invoke({"strategy": "size", "top": 3})
    sizes = [r["components"]["size"] for r in out["ranking"]]
    assert len(sizes) == 3 and sizes == sorted(sizes, reverse=True) and out["explanation"].startswith("Largest")
    mixed = T.rank_clusters.invoke({})
    assert [r["cluster_id"] for r in mixed["ranking"]] == [r.cluster_id for r in run.ranked]
    with pytest.raises(ValueError, match="unknown strategy"):
        T.rank_clusters.invoke({"strategy": "vibes"})


def test_project_embeddings_tool(store: dict[str, Any], run: AnalyticsRun) -> None:
    pca = T.project_embeddings.invoke({"method": "pca", "sample": 50})
    assert len(pca["points"]) == 50 and len(pca["centres"]) == run.result.k and pca["n_points"] == len(run.ids)
    umap = T.project_embeddings.invoke({"method": "umap", "sample": 20})
    assert umap["method"] == "umap" and len(umap["points"]) == 20
    assert all(np.isfinite(c["x"]) and np.isfinite(c["y"]) for c in umap["centres"])


def test_top_failure_clusters_tool_runs_one_when_none_exists(store: dict[str, Any], run: AnalyticsRun) -> None:
    store["has_run"] = False
    out = T.top_failure_clusters.invoke({"top": 2})
    assert len(store["new_runs"]) == 1 and len(out["clusters"]) == 2
    assert out["clusters"][0]["cluster_id"] == run.ranked[0].cluster_id and out["clusters"][0]["example_failure_ids"]
    assert all(c["n_failures"] > 0 for c in out["clusters"])
    assert [t.name for t in T.ANALYTICS_TOOLS] == [
        "cluster_interactions", "describe_cluster", "rank_clusters", "project_embeddings", "top_failure_clusters",
    ]  # fmt: skip


def test_cli_helpers(run: AnalyticsRun) -> None:
    assert _parse_k("auto") is None and _parse_k("12") == 12
    summary = summarise(run)
    assert summary["top_clusters"][0]["rank"] == 1 and summary["evaluation"]["in_top3"] == 1
    json.dumps(summary, default=str)
