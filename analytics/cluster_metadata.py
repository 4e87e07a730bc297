"""The cluster-metadata JSON contract shared by analytics, tools, agents and MLflow artifacts.

Document (version ``CLUSTER_METADATA_VERSION``)::

    {
      "kind": "opsgraph.cluster_metadata",  "version": "1.0",  "created_at": ISO-8601 UTC,
      "method": "kmeans" | "hdbscan",  "k": int (non-noise clusters),  "n_rows": int,
      "params": {...clustering parameters...},  "scores": {"silhouette": float|null, "noise_share": float},
      "embedding_model": str|null,  "projection": {...} | null,  "ranking_strategy": str|null,
      "clusters": [ per-cluster object, ordered by rank (unranked clusters last, by id) ]
    }

Per-cluster object: ``cluster_id`` int (-1 = noise), ``label`` str, ``is_noise`` bool, ``size`` int,
``share`` float, ``n_failures`` int, ``failure_rate`` float, ``dominant_failure_type`` str|null,
``failure_types`` {type: count}, ``latency_p50_ms`` / ``latency_p95_ms`` float|null, ``cost_total_usd``
float|null, ``keywords`` [str], ``top_models`` {model: count}, ``exemplar_ids`` / ``failing_exemplar_ids``
[str], ``first_seen`` / ``last_seen`` ISO str|null, ``rank`` int|null, ``priority_score`` float|null,
``reason`` str|null. Floats are finite or null (never NaN). Additive changes keep the major version.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from analytics.clustering import ClusterResult
from analytics.projection import Projection
from analytics.ranking import RankedCluster
from analytics.semantics import ClusterProfile

CLUSTER_METADATA_KIND = "opsgraph.cluster_metadata"
CLUSTER_METADATA_VERSION = "1.0"

TOP_LEVEL_FIELDS: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "version": (str,),
    "created_at": (str,),
    "method": (str,),
    "k": (int,),
    "n_rows": (int,),
    "params": (dict,),
    "scores": (dict,),
    "embedding_model": (str, type(None)),
    "projection": (dict, type(None)),
    "ranking_strategy": (str, type(None)),
    "clusters": (list,),
}
NUM = (int, float, type(None))
CLUSTER_FIELDS: dict[str, tuple[type, ...]] = {
    "cluster_id": (int,),
    "label": (str,),
    "is_noise": (bool,),
    "size": (int,),
    "share": (int, float),
    "n_failures": (int,),
    "failure_rate": (int, float),
    "dominant_failure_type": (str, type(None)),
    "failure_types": (dict,),
    "latency_p50_ms": NUM,
    "latency_p95_ms": NUM,
    "cost_total_usd": NUM,
    "keywords": (list,),
    "top_models": (dict,),
    "exemplar_ids": (list,),
    "failing_exemplar_ids": (list,),
    "first_seen": (str, type(None)),
    "last_seen": (str, type(None)),
    "rank": (int, type(None)),
    "priority_score": NUM,
    "reason": (str, type(None)),
}


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _cluster_entry(p: ClusterProfile, r: RankedCluster | None) -> dict[str, Any]:
    return {
        "cluster_id": p.cluster_id,
        "label": p.label,
        "is_noise": p.is_noise,
        "size": p.size,
        "share": p.share,
        "n_failures": p.n_failures,
        "failure_rate": p.failure_rate,
        "dominant_failure_type": p.dominant_failure_type,
        "failure_types": dict(p.failure_types),
        "latency_p50_ms": p.latency_p50_ms,
        "latency_p95_ms": p.latency_p95_ms,
        "cost_total_usd": p.cost_total_usd,
        "keywords": list(p.keywords),
        "top_models": dict(p.top_models),
        "exemplar_ids": [e.interaction_id for e in p.exemplars],
        "failing_exemplar_ids": [e.interaction_id for e in p.failing_exemplars],
        "first_seen": p.first_seen,
        "last_seen": p.last_seen,
        "rank": r.rank if r else None,
        "priority_score": r.score if r else None,
        "reason": r.reason if r else None,
    }


def cluster_metadata(
    result: ClusterResult,
    profiles: Sequence[ClusterProfile],
    ranked: Sequence[RankedCluster] = (),
    embedding_model: str | None = None,
    projection: Projection | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """Build the versioned cluster-metadata document (see module docstring); JSON-serialisable as is."""
    by_rank = {r.cluster_id: r for r in ranked}
    order = sorted(
        profiles,
        key=lambda p: (by_rank[p.cluster_id].rank if p.cluster_id in by_rank else 10**9, p.cluster_id),
    )
    doc = {
        "kind": CLUSTER_METADATA_KIND,
        "version": CLUSTER_METADATA_VERSION,
        "created_at": (created_at or datetime.now(UTC)).isoformat(),
        "method": result.method,
        "k": int(result.k),
        "n_rows": len(result.labels),
        "params": result.params,
        "scores": result.scores,
        "embedding_model": embedding_model,
        "projection": projection.to_dict() if projection else None,
        "ranking_strategy": ranked[0].strategy if ranked else None,
        "clusters": [_cluster_entry(p, by_rank.get(p.cluster_id)) for p in order],
    }
    return dict(_finite(doc))


def validate_cluster_metadata(doc: dict[str, Any]) -> list[str]:
    """Problems found in ``doc`` (missing fields, wrong types, wrong kind/major version); ``[]`` if valid."""
    errors = [f"missing field {k!r}" for k in TOP_LEVEL_FIELDS if k not in doc]
    errors += [
        f"{k!r} should be {' or '.join(t.__name__ for t in types)}"
        for k, types in TOP_LEVEL_FIELDS.items()
        if k in doc and not isinstance(doc[k], types)
    ]
    if doc.get("kind") != CLUSTER_METADATA_KIND:
        errors.append(f"kind should be {CLUSTER_METADATA_KIND!r}")
    if str(doc.get("version", "")).split(".")[0] != CLUSTER_METADATA_VERSION.split(".")[0]:
        errors.append(f"unsupported version {doc.get('version')!r}")
    for i, cluster in enumerate(doc.get("clusters") or []):
        if not isinstance(cluster, dict):
            errors.append(f"clusters[{i}] should be an object")
            continue
        errors += [f"clusters[{i}] missing {k!r}" for k in CLUSTER_FIELDS if k not in cluster]
        errors += [
            f"clusters[{i}].{k} has type {type(cluster[k]).__name__}"
            for k, types in CLUSTER_FIELDS.items()
            if k in cluster
            and (not isinstance(cluster[k], types) or (isinstance(cluster[k], bool) and bool not in types))
        ]
    return errors
