"""Cluster profiles, c-TF-IDF keywords, exemplars and priority ranking on a planted data set."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from analytics.keywords import class_tfidf_keywords
from analytics.ranking import STRATEGIES, rank_clusters
from analytics.semantics import ClusterProfile, describe_clusters, failure_weighted_centroid
from analytics.synthetic import TOPICS, PlantedDataset, make_planted_dataset


@pytest.fixture(scope="module")
def planted() -> PlantedDataset:
    return make_planted_dataset(seed=0)


@pytest.fixture(scope="module")
def profiles(planted: PlantedDataset) -> list[ClusterProfile]:
    return describe_clusters(planted.df, planted.X, planted.truth)


def _planted_profile(profiles: list[ClusterProfile], planted: PlantedDataset) -> ClusterProfile:
    return next(p for p in profiles if p.cluster_id == planted.planted_blob)


def test_profiles_carry_operational_figures(profiles: list[ClusterProfile], planted: PlantedDataset) -> None:
    assert [p.cluster_id for p in profiles] == [0, 1, 2, 3]
    assert sum(p.size for p in profiles) == len(planted.df)
    p = _planted_profile(profiles, planted)
    rows = planted.df[planted.truth == planted.planted_blob]
    assert p.size == len(rows)
    assert p.n_failures == int(rows["is_failure"].sum())
    assert p.failure_rate == pytest.approx(rows["is_failure"].mean(), abs=1e-4)
    assert p.dominant_failure_type == "latency_timeout" and p.dominant_failure_share > 0.8
    assert next(iter(p.failing_models)) == planted.planted_model
    assert p.latency_p95_ms == pytest.approx(rows["latency_ms"].quantile(0.95), abs=0.1)
    assert p.cost_total_usd == pytest.approx(rows["cost_usd"].sum(), abs=1e-3)
    assert p.top_tools == {"http_request": p.size, "workflow_orchestrator": p.size}
    assert p.feedback_negative_share is not None and p.feedback_negative_share > 0.3
    assert set(p.business_impact) <= {"critical", "high", "medium", "low"}
    assert p.impact_score > max(q.impact_score for q in profiles if q is not p)
    assert p.first_seen is not None and p.last_seen is not None
    assert "latency_timeout" in p.label


def test_keywords_come_from_the_cluster_topic(profiles: list[ClusterProfile]) -> None:
    for p in profiles:
        assert len(p.keywords) == 8
        assert set(p.keywords[:5]) <= set(TOPICS[p.cluster_id])


def test_exemplars_belong_to_the_cluster(profiles: list[ClusterProfile], planted: PlantedDataset) -> None:
    ids = planted.df["interaction_id"].to_numpy()
    for p in profiles:
        members = set(ids[planted.truth == p.cluster_id])
        assert len(p.exemplars) == 3
        assert {e.interaction_id for e in p.exemplars + p.failing_exemplars} <= members
        assert all(e.failure_type != "none" for e in p.failing_exemplars)
        assert not {e.interaction_id for e in p.exemplars} & {e.interaction_id for e in p.failing_exemplars}
        sims = [e.similarity for e in p.exemplars]
        assert sims == sorted(sims, reverse=True)


def test_failure_weighted_centroid_leans_to_failures() -> None:
    X = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    centre = failure_weighted_centroid(X, np.array([False, True]), weight=3.0)
    assert centre[1] > centre[0]
    assert np.linalg.norm(centre) == pytest.approx(1.0)


def test_profiles_to_dict_is_json(profiles: list[ClusterProfile]) -> None:
    doc = profiles[0].to_dict()
    assert "centroid" not in doc
    json.dumps(doc, allow_nan=False)
    assert len(profiles[0].to_dict(include_centroid=True)["centroid"]) == 384
    assert profiles[0].centroid is not None


def test_missing_optional_columns_are_tolerated(planted: PlantedDataset) -> None:
    # no latency/cost/model/feedback columns, and the prompt under its real-export name
    slim = planted.df[["interaction_id", "failure_type", "prompt_text"]].rename(
        columns={"prompt_text": "request_text"}
    )
    profiles = describe_clusters(slim, planted.X, planted.truth)
    p = profiles[planted.planted_blob]
    assert p.failure_rate > 0.5 and p.latency_p95_ms is None and p.top_models == {}
    assert p.keywords and p.exemplars
    json.dumps(p.to_dict(), allow_nan=False)
    with pytest.raises(ValueError):
        describe_clusters(slim.iloc[:10], planted.X, planted.truth)


def test_class_tfidf_prefers_distinctive_terms() -> None:
    texts = ["apple banana shared", "apple apple shared", "cherry grape shared", "grape cherry shared"]
    keywords = class_tfidf_keywords(texts, np.array([0, 0, 1, 1]), top_n=2)
    assert keywords[0][0][0] == "apple"
    assert {w for w, _ in keywords[1]} == {"cherry", "grape"}
    assert class_tfidf_keywords(["a", "b"], np.array([0, 1])) == {0: [], 1: []}


def test_planted_cluster_ranks_first_under_mixed(
    profiles: list[ClusterProfile], planted: PlantedDataset
) -> None:
    ranked = rank_clusters(profiles)
    top = ranked[0]
    assert top.cluster_id == planted.planted_blob and top.rank == 1 and top.strategy == "mixed"
    p = _planted_profile(profiles, planted)
    assert top.reason.startswith(f"rank 1: {p.size:,} interactions")
    assert f"{p.failure_rate:.0%} failing" in top.reason
    assert "latency_timeout" in top.reason
    assert re.search(r"p95 \d+\.\d s", top.reason)
    assert planted.planted_model in top.reason
    assert [r.rank for r in ranked] == [1, 2, 3, 4]
    assert 0.0 <= ranked[-1].score <= top.score <= 1.0
    json.dumps([r.to_dict() for r in ranked])


@pytest.mark.parametrize("strategy", ["failure_rate", "size_x_failure", "business_impact"])
def test_failure_strategies_rank_planted_first(
    profiles: list[ClusterProfile], planted: PlantedDataset, strategy: str
) -> None:
    assert rank_clusters(profiles, strategy)[0].cluster_id == planted.planted_blob


def test_size_and_cost_strategies_and_explanations(
    profiles: list[ClusterProfile], planted: PlantedDataset
) -> None:
    assert rank_clusters(profiles, "size")[-1].cluster_id == planted.planted_blob
    by_cost = rank_clusters(profiles, "cost")
    costs = [r.components["cost"] for r in by_cost]
    assert costs == sorted(costs, reverse=True)
    assert set(STRATEGIES) == {"size", "failure_rate", "size_x_failure", "business_impact", "cost", "mixed"}
    assert all(text and "\n" not in text for text in STRATEGIES.values())
    with pytest.raises(ValueError):
        rank_clusters(profiles, "nonsense")


def test_noise_is_left_out_of_ranking(planted: PlantedDataset) -> None:
    labels = planted.truth.copy()
    labels[:40] = -1
    profiles = describe_clusters(planted.df, planted.X, labels)
    assert profiles[0].is_noise and profiles[0].label.startswith("noise")
    assert all(r.cluster_id != -1 for r in rank_clusters(profiles))
    assert any(r.cluster_id == -1 for r in rank_clusters(profiles, include_noise=True))
    assert len(rank_clusters(profiles, top=2)) == 2
