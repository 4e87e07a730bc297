"""Clustering and cluster evaluation on embeddings with planted blobs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analytics.cluster_scoring import adjusted_rand, evaluate_clusters, purity
from analytics.clustering import ClusterResult, hdbscan_clusters, kmeans_auto
from analytics.synthetic import PlantedDataset, make_planted_dataset


@pytest.fixture(scope="module")
def planted() -> PlantedDataset:
    return make_planted_dataset(seed=0)


def test_kmeans_auto_recovers_k_and_partition(planted: PlantedDataset) -> None:
    result = kmeans_auto(planted.X, k_range=(2, 10), seed=0)
    assert result.method == "kmeans"
    assert result.k == 4
    assert adjusted_rand(result.labels, planted.truth) > 0.8
    assert result.labels.shape == (len(planted.X),)
    assert result.centroids.shape == (4, planted.X.shape[1])
    np.testing.assert_allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-5)
    curve = result.params["silhouette_by_k"]
    assert set(curve) == {str(k) for k in range(2, 11)}
    assert max(curve, key=curve.get) == "4"
    assert result.scores["silhouette"] > 0.2
    json.dumps(result.to_dict())


def test_kmeans_auto_default_range_and_sampling(planted: PlantedDataset) -> None:
    result = kmeans_auto(planted.X, sample=600, seed=1)
    assert result.k == 4
    assert result.params["sample"] == 600
    assert adjusted_rand(result.labels, planted.truth) > 0.8


def test_kmeans_auto_minibatch_for_large_n(planted: PlantedDataset) -> None:
    result = kmeans_auto(planted.X, k_range=(3, 6), sample=800, minibatch_above=1000)
    assert result.params["estimator"] == "MiniBatchKMeans"
    assert adjusted_rand(result.labels, planted.truth) > 0.8


def test_kmeans_auto_tiny_inputs() -> None:
    X = np.eye(2, 8, dtype=np.float32)
    assert kmeans_auto(X).k == 1
    few = np.random.default_rng(0).normal(size=(6, 8)).astype(np.float32)
    result = kmeans_auto(few, k_range=(4, 24))
    assert 2 <= result.k <= 5
    assert len(result.labels) == 6


def test_hdbscan_on_pca_recovers_blobs(planted: PlantedDataset) -> None:
    result = hdbscan_clusters(planted.X, reduce_to=None, seed=0)
    assert result.method == "hdbscan"
    assert result.params["space"] == "pca50"
    assert result.k == 4
    clustered = result.labels != -1
    assert clustered.mean() > 0.9
    assert adjusted_rand(result.labels[clustered], planted.truth[clustered]) > 0.9
    assert result.scores["noise_share"] < 0.1


@pytest.mark.slow
def test_hdbscan_on_umap_recovers_blobs(planted: PlantedDataset) -> None:
    result = hdbscan_clusters(planted.X, reduce_to=5, seed=0)
    assert result.params["space"] == "pca50+umap5"
    assert result.k == 4
    assert evaluate_clusters(result.labels, planted.truth, exclude_noise=True)["adjusted_rand"] > 0.9


def test_hdbscan_marks_scattered_points_as_noise() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 64)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    result = hdbscan_clusters(X, reduce_to=None, min_cluster_size=30)
    assert isinstance(result, ClusterResult)
    assert result.scores["noise_share"] > 0.3
    assert result.sizes().get(-1, 0) > 0


def test_purity_and_ari_against_answer_key() -> None:
    truth = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    perfect = np.array([5, 5, 5, 7, 7, 7, 9, 9])
    assert purity(perfect, truth) == 1.0
    assert adjusted_rand(perfect, truth) == pytest.approx(1.0)
    merged = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    assert purity(merged, truth) == pytest.approx(5 / 8)
    assert adjusted_rand(merged, truth) < 1.0
    noisy = np.array([0, 0, -1, 1, 1, -1, 2, 2])
    report = evaluate_clusters(noisy, truth, exclude_noise=True)
    assert report["purity"] == 1.0 and report["n_scored"] == 6 and report["noise_share"] == 0.25
    with pytest.raises(ValueError):
        purity(np.zeros(3), np.zeros(4))
