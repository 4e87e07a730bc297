"""Low-dimensional projections of embeddings: PCA and UMAP (cosine), fitted on a sample for large N.

UMAP is imported lazily, inside the functions that need it, because importing and first use are expensive:
umap-learn compiles its kernels with numba the first time they run in each process. Measured on 2 CPU cores
(umap-learn 0.5.12): a first 2-d fit on >= 4,096 rows costs ~34 s, later fits in the same process ~3.5 s;
below 4,096 rows a different (brute-force) path is taken and the first fit costs ~10 s. Only pynndescent's
kernels are cacheable on disk: call :func:`configure_numba_cache` *before* anything imports umap/numba so
that later processes reuse them (the cold first fit then drops to ~25 s; the rest is UMAP's own JIT, which
numba cannot cache). Passing a ``seed`` makes UMAP deterministic but single-threaded.
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

from analytics.threads import limit_threads

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
    BLAS/OpenMP pools (``analytics.threads``).
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


def umap_reduce(
    X: np.ndarray,
    n_components: int = 2,
    sample: int | None = 5000,
    seed: int | None = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "cosine",
    threads: int | None = 1,
    n_epochs: int | None = None,
) -> Projection:
    """UMAP of ``X`` to ``n_components``; with more than ``sample`` rows it is fitted on a random sample and
    the remaining rows are placed with ``transform``. Needs at least ``n_components + 2`` rows.
    ``n_epochs=None`` keeps UMAP's default (500 below 10,000 rows, else 200).
    ``threads`` caps BLAS/OpenMP pools (``analytics.threads``)."""
    X = np.asarray(X, dtype=np.float32)
    n = X.shape[0]
    if n < n_components + 2:
        raise ValueError(f"UMAP needs at least {n_components + 2} rows, got {n}")
    with warnings.catch_warnings(), limit_threads(threads):
        warnings.simplefilter("ignore", category=UserWarning)
        import umap  # lazy: importing/compiling umap is slow (see module docstring)

        idx = _sample_index(n, sample, seed)
        fit_X = X if idx is None else X[idx]
        neighbours = max(2, min(n_neighbors, fit_X.shape[0] - 1))
        reducer = umap.UMAP(
            n_components=n_components,
            n_neighbors=neighbours,
            min_dist=min_dist,
            metric=metric,
            random_state=seed,
            n_jobs=1 if seed is not None else -1,
            init="spectral" if fit_X.shape[0] > n_components + 10 else "random",
            n_epochs=n_epochs,
        )
        fitted = np.asarray(reducer.fit_transform(fit_X), dtype=np.float32)
        if idx is None:
            coords = fitted
        else:
            coords = np.empty((n, n_components), dtype=np.float32)
            coords[idx] = fitted
            rest = np.setdiff1d(np.arange(n), idx)
            coords[rest] = np.asarray(reducer.transform(X[rest]), dtype=np.float32)
    params = {
        "n_components": n_components,
        "sample": sample,
        "seed": seed,
        "n_neighbors": neighbours,
        "min_dist": min_dist,
        "metric": metric,
        "n_epochs": n_epochs,
    }
    return Projection(coords=coords, method="umap", params=params, fit_rows=fit_X.shape[0])


def project_2d(
    X: np.ndarray, method: ProjectionMethod = "pca", sample: int | None = 5000, seed: int = 0
) -> Projection:
    """2-d map of the embeddings for charts: ``"pca"`` (instant) or ``"umap"`` (cosine; slow first call)."""
    if method == "pca":
        return pca_reduce(X, n_components=2, sample=sample, seed=seed)
    if method == "umap":
        return umap_reduce(X, n_components=2, sample=sample, seed=seed)
    raise ValueError(f"unknown projection method {method!r}; use 'pca' or 'umap'")
