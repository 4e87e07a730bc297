"""External evaluation of cluster labels against an answer key: purity and adjusted Rand index.

Noise (label -1) counts as one more cluster by default; ``exclude_noise=True`` scores only clustered rows
(and reports the share left out).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def _prepare(labels: np.ndarray, truth: np.ndarray, exclude_noise: bool) -> tuple[np.ndarray, np.ndarray]:
    labels, truth = np.asarray(labels), np.asarray(truth)
    if labels.shape != truth.shape:
        raise ValueError(f"labels {labels.shape} and truth {truth.shape} differ in shape")
    if exclude_noise:
        keep = labels != -1
        return labels[keep], truth[keep]
    return labels, truth


def purity(labels: np.ndarray, truth: np.ndarray, exclude_noise: bool = False) -> float:
    """Share of rows whose cluster's majority answer-key class is their own (1.0 = every cluster pure)."""
    labels, truth = _prepare(labels, truth, exclude_noise)
    if labels.size == 0:
        return 0.0
    _, label_idx = np.unique(labels, return_inverse=True)
    _, truth_idx = np.unique(truth.astype(str), return_inverse=True)
    table = np.zeros((label_idx.max() + 1, truth_idx.max() + 1), dtype=np.int64)
    np.add.at(table, (label_idx, truth_idx), 1)
    return float(table.max(axis=1).sum() / labels.size)


def adjusted_rand(labels: np.ndarray, truth: np.ndarray, exclude_noise: bool = False) -> float:
    """Adjusted Rand index of the labels vs the answer key (1 = identical partitions, ~0 = chance)."""
    labels, truth = _prepare(labels, truth, exclude_noise)
    if labels.size == 0:
        return 0.0
    return float(adjusted_rand_score(truth.astype(str), labels))


def evaluate_clusters(labels: np.ndarray, truth: np.ndarray, exclude_noise: bool = False) -> dict[str, Any]:
    """Purity, ARI, NMI, cluster and class counts, and the noise share, as a JSON-serialisable dict."""
    all_labels = np.asarray(labels)
    kept, key = _prepare(all_labels, np.asarray(truth), exclude_noise)
    return {
        "purity": round(purity(kept, key), 4),
        "adjusted_rand": round(adjusted_rand(kept, key), 4),
        "nmi": round(float(normalized_mutual_info_score(key.astype(str), kept)), 4) if kept.size else 0.0,
        "n_clusters": len(set(kept.tolist()) - {-1}),
        "n_classes": len(set(key.astype(str).tolist())),
        "noise_share": round(float(np.mean(all_labels == -1)), 4) if all_labels.size else 0.0,
        "n_scored": int(kept.size),
    }
