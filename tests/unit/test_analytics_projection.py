"""PCA and UMAP projections (UMAP's first call JIT-compiles for ~10 s on small inputs: marked slow)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from analytics.projection import configure_numba_cache, exact_knn, pca_reduce, project_2d, umap_reduce
from analytics.synthetic import PlantedDataset, make_planted_dataset


@pytest.fixture(scope="module")
def planted() -> PlantedDataset:
    return make_planted_dataset(sizes=(300, 300, 300, 200), seed=1)


def test_pca_shapes_and_sampled_fit(planted: PlantedDataset) -> None:
    full = project_2d(planted.X, "pca")
    assert full.coords.shape == (len(planted.X), 2) and full.coords.dtype == np.float32
    assert full.fit_rows == len(planted.X) and full.to_dict()["n_rows"] == len(planted.X)
    sampled = pca_reduce(planted.X, n_components=2, sample=400, seed=0)
    assert sampled.fit_rows == 400 and sampled.coords.shape == (len(planted.X), 2)
    assert 0.0 < sampled.params["explained_variance"] <= 1.0
    wide = pca_reduce(planted.X[:5], n_components=10)
    assert wide.coords.shape == (5, 10)
    with pytest.raises(ValueError):
        project_2d(planted.X, "tsne")  # type: ignore[arg-type]


def test_configure_numba_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", os.environ.get("NUMBA_CACHE_DIR", ""))
    numba = sys.modules.get("numba")
    if numba is not None:
        monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    took_effect = configure_numba_cache(tmp_path / "numba")
    assert os.environ["NUMBA_CACHE_DIR"] == str((tmp_path / "numba").resolve())
    assert (tmp_path / "numba").is_dir()
    assert took_effect is (numba is None)


@pytest.mark.slow
def test_umap_shapes_sampled_fit_and_separation(planted: PlantedDataset) -> None:
    proj = umap_reduce(planted.X, n_components=2, sample=600, seed=0)
    assert proj.method == "umap" and proj.fit_rows == 600
    assert proj.coords.shape == (len(planted.X), 2) and np.isfinite(proj.coords).all()
    centres = np.array([proj.coords[planted.truth == b].mean(axis=0) for b in range(4)])
    spread = max(
        np.linalg.norm(proj.coords[planted.truth == b] - centres[b], axis=1).mean() for b in range(4)
    )
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(4) for b in range(a + 1, 4)]
    assert min(gaps) > 2 * spread
    with pytest.raises(ValueError):
        umap_reduce(planted.X[:3], n_components=2)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_knn_matches_brute_force(planted: PlantedDataset, metric: str) -> None:
    from sklearn.metrics import pairwise_distances

    X = planted.X[:700]
    X = np.vstack([X, X[:3]])  # duplicates: each row must still come first in its own list
    idx, dist = exact_knn(X, 10, metric, chunk=256)
    D = pairwise_distances(X, metric=metric)
    assert (idx[:, 0] == np.arange(len(X))).all()
    np.testing.assert_allclose(dist[:, 1:], np.sort(D, axis=1)[:, 1:10], atol=1e-4)
    assert (np.diff(dist, axis=1) >= -1e-5).all()
