"""Low-dimensional projections of embeddings: PCA and UMAP (cosine), fitted on a sample for large N.

UMAP is imported lazily, inside the functions that need it, because importing and first use are expensive:
umap-learn compiles its kernels with numba the first time they run in each process. Three things keep that
down: :func:`configure_numba_cache` (call it *before* anything imports umap/numba) puts numba's on-disk cache in
a directory that outlives the process; umap's and pynndescent's kernels are made cacheable there (they are not
declared so); and up to ``EXACT_KNN_MAX_ROWS`` rows the neighbour graph is computed exactly with BLAS and handed
to UMAP, so pynndescent (whose main kernels cannot be cached) is not run at all. Measured on 2 CPU cores
(umap-learn 0.5.12, 9,000 x 384, 200 epochs): a first fit with an empty cache ~35 s, in a later process ~7 s.
Passing a ``seed`` makes UMAP deterministic but single-threaded.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.decomposition import PCA

from analytics.blas_threads import limit_threads

ProjectionMethod = Literal["pca", "umap"]


@dataclass
class Projection:
    """Coordinates of every row in the projected space and how they were obtained."""

    coords: np.ndarray
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    fit_rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (without the coordinates)."""
        out = asdict(self)
        out.pop("coords")
        out["n_rows"] = int(self.coords.shape[0])
        out["n_components"] = int(self.coords.shape[1]) if self.coords.ndim == 2 else 0
        return out


def configure_numba_cache(cache_dir: str | Path) -> bool:
    """Point numba's on-disk JIT cache at ``cache_dir`` (created if missing).

    Sets ``NUMBA_CACHE_DIR``; call it before umap (or numba) is first imported in the process. Returns
    True when that was the case, False when numba was already imported (the setting is then also applied to
    ``numba.config.CACHE_DIR``, which only affects functions compiled from now on).
    """
    path = Path(cache_dir).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    numba = sys.modules.get("numba")
    if numba is None:
        return True
    numba.config.CACHE_DIR = str(path)
    return False


def _sample_index(n: int, sample: int | None, seed: int | None) -> np.ndarray | None:
    if sample is None or n <= sample:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=sample, replace=False))


def pca_reduce(
    X: np.ndarray, n_components: int = 2, sample: int | None = 5000, seed: int = 0, threads: int | None = 1
) -> Projection:
    """PCA of ``X`` to ``n_components`` (capped by rows and columns), fitted on at most ``sample`` rows.

    On L2-normalised embeddings Euclidean PCA preserves cosine geometry up to a constant. ``threads`` caps
    BLAS/OpenMP pools (``analytics.blas_threads``).
    """
    X = np.asarray(X, dtype=np.float32)
    n, d = X.shape
    idx = _sample_index(n, sample, seed)
    fit_rows = n if idx is None else len(idx)
    k = max(1, min(n_components, d, fit_rows - 1 if fit_rows > 1 else 1))
    pca = PCA(n_components=k, random_state=seed)
    with limit_threads(threads):
        pca.fit(X if idx is None else X[idx])
        coords = pca.transform(X).astype(np.float32)
    if k < n_components:
        coords = np.hstack([coords, np.zeros((n, n_components - k), dtype=np.float32)])
    params = {
        "n_components": n_components,
        "sample": sample,
        "seed": seed,
        "explained_variance": float(np.sum(pca.explained_variance_ratio_)),
    }
    return Projection(coords=coords, method="pca", params=params, fit_rows=fit_rows)


EXACT_KNN_MAX_ROWS = 20_000  # up to here UMAP is fitted on every row with exact neighbours (a few BLAS seconds)
AUTO_SAMPLE = 5000  # above it, the fit sample (the other rows are placed with ``transform``)


def exact_knn(X: np.ndarray, k: int, metric: str, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest neighbours of every row (itself first) as UMAP's ``(indices, distances)``; ``metric``
    is ``cosine`` (1 - cosine similarity) or ``euclidean``."""
    X = np.asarray(X, dtype=np.float32)
    if metric == "cosine":
        X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    sq = (X * X).sum(axis=1)
    n = X.shape[0]
    idx, dist = np.empty((n, k), dtype=np.int64), np.empty((n, k), dtype=np.float32)
    for start in range(0, n, chunk):
        block = X[start:start + chunk] @ X.T
        score = block.copy() if metric == "cosine" else 2 * block - sq[None, :]  # larger is nearer
        rows = np.arange(block.shape[0])
        score[rows, start + rows] = np.inf  # a row is its own nearest neighbour, even among duplicates
        part = np.argpartition(-score, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(score, part, axis=1), axis=1, kind="stable")
        near = np.take_along_axis(part, order, axis=1)
        sim = np.take_along_axis(block, near, axis=1)
        # euclidean: the chosen neighbours' distances computed directly (the expansion |a|^2 - 2ab + |b|^2
        # cancels badly in float32 for near-duplicates)
        d = 1.0 - sim if metric == "cosine" else np.linalg.norm(X[start:start + chunk, None, :] - X[near], axis=2)
        idx[start:start + chunk], dist[start:start + chunk] = near, np.maximum(d, 0.0)
    return idx, dist


def _cache_umap_kernels() -> None:
    """Let numba cache umap's and pynndescent's kernels on disk (they are not declared cacheable); kernels that
    cannot be cached (dynamic globals) are compiled as before."""
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    for name, module in list(sys.modules.items()):
        if module is not None and name.split(".")[0] in ("umap", "pynndescent"):
            for obj in vars(module).values():
                if isinstance(obj, Dispatcher) and isinstance(getattr(obj, "_cache", None), NullCache):
                    obj.enable_caching()


def umap_reduce(
    X: np.ndarray,
    n_components: int = 2,
    sample: int | None = None,
    seed: int | None = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "cosine",
    threads: int | None = 1,
    n_epochs: int | None = 200,
) -> Projection:
    """UMAP of ``X`` to ``n_components``. ``sample=None`` fits every row when there are at most
    ``EXACT_KNN_MAX_ROWS`` (with exact neighbours, so pynndescent is not needed), else a random sample of
    ``AUTO_SAMPLE`` rows; with more rows than the fit sample, the remaining rows are placed with ``transform``.
    Needs at least ``n_components + 2`` rows. ``n_epochs`` defaults to 200 (UMAP's own choice above 10,000 rows;
    ``None`` keeps its 500 below that, about 2.5x the fit time). ``threads`` caps BLAS/OpenMP pools
    (``analytics.blas_threads``)."""
    X = np.asarray(X, dtype=np.float32)
    n = X.shape[0]
    if n < n_components + 2:
        raise ValueError(f"UMAP needs at least {n_components + 2} rows, got {n}")
    if sample is None:
        sample = n if n <= EXACT_KNN_MAX_ROWS else AUTO_SAMPLE
    with warnings.catch_warnings(), limit_threads(threads):
        warnings.simplefilter("ignore", category=UserWarning)
        import umap  # lazy: importing/compiling umap is slow (see module docstring)
        from numba.core.errors import NumbaWarning

        warnings.simplefilter("ignore", category=NumbaWarning)  # "cannot cache ... dynamic globals"
        _cache_umap_kernels()
        idx = _sample_index(n, sample, seed)
        fit_X = X if idx is None else X[idx]
        neighbours = max(2, min(n_neighbors, fit_X.shape[0] - 1))
        exact = idx is None and metric in ("cosine", "euclidean") and fit_X.shape[0] <= EXACT_KNN_MAX_ROWS
        reducer = umap.UMAP(
            n_components=n_components,
            n_neighbors=neighbours,
            min_dist=min_dist,
            metric=metric,
            random_state=seed,
            n_jobs=1 if seed is not None else -1,
            init="spectral" if fit_X.shape[0] > n_components + 10 else "random",
            n_epochs=n_epochs,
            precomputed_knn=exact_knn(fit_X, neighbours, metric) if exact else (None, None, None),
        )
        fitted = np.asarray(reducer.fit_transform(fit_X), dtype=np.float32)
        if idx is None:
            coords = fitted
        else:
            coords = np.empty((n, n_components), dtype=np.float32)
            coords[idx] = fitted
            rest = np.setdiff1d(np.arange(n), idx)
            reducer.n_epochs = None  # transform keeps UMAP's own epochs (30 for large inputs, not n_epochs / 3)
            coords[rest] = np.asarray(reducer.transform(X[rest]), dtype=np.float32)
    params = {
        "n_components": n_components,
        "sample": sample,
        "seed": seed,
        "n_neighbors": neighbours,
        "min_dist": min_dist,
        "metric": metric,
        "n_epochs": n_epochs,
        "neighbours": "exact" if exact else "approximate (pynndescent)",
    }
    return Projection(coords=coords, method="umap", params=params, fit_rows=fit_X.shape[0])


def project_2d(
    X: np.ndarray, method: ProjectionMethod = "pca", sample: int | None = None, seed: int = 0
) -> Projection:
    """2-d map of the embeddings for charts: ``"pca"`` (instant) or ``"umap"`` (cosine; slow first call)."""
    if method == "pca":
        return pca_reduce(X, n_components=2, sample=AUTO_SAMPLE if sample is None else sample, seed=seed)
    if method == "umap":
        return umap_reduce(X, n_components=2, sample=sample, seed=seed)
    raise ValueError(f"unknown projection method {method!r}; use 'pca' or 'umap'")
