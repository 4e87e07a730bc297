"""Rank cluster profiles by operational priority, with a one-line reason per position.

Strategies (each has a one-line explanation in ``STRATEGIES``):
``size``, ``failure_rate`` (smoothed toward the overall rate), ``size_x_failure`` (number of failing rows),
``business_impact`` (failing rows weighted critical 4, high 3, medium 2, low 1), ``cost`` (total spend), and
``mixed`` (default): a weighted sum of the min-max normalised values of the others (``MIXED_WEIGHTS``).
HDBSCAN noise (cluster -1) is left out unless ``include_noise`` is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from analytics.semantics import ClusterProfile

RATE_PRIOR_ROWS = 10.0

STRATEGIES: dict[str, str] = {
    "size": "Largest clusters first: the number of interactions in the cluster.",
    "failure_rate": "Highest failure rate first, smoothed toward the overall rate with 10 pseudo-rows "
    "so that tiny clusters cannot top the list on a handful of rows.",
    "size_x_failure": "Most failing interactions first (size x failure rate): "
    "the volume of user-visible failures.",
    "business_impact": "Highest business impact first: failing rows weighted "
    "critical 4, high 3, medium 2, low 1.",
    "cost": "Most expensive clusters first: total cost_usd spent on the cluster's interactions.",
    "mixed": "Weighted blend of min-max normalised failing volume (0.35), smoothed failure rate (0.25), "
    "business impact (0.25), cost (0.10) and size (0.05).",
}
MIXED_WEIGHTS: dict[str, float] = {
    "size_x_failure": 0.35,
    "failure_rate": 0.25,
    "business_impact": 0.25,
    "cost": 0.10,
    "size": 0.05,
}


@dataclass
class RankedCluster:
    """A cluster's position under one strategy; ``components`` holds its raw value for every base metric."""

    rank: int
    cluster_id: int
    label: str
    score: float
    strategy: str
    reason: str
    components: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict."""
        return asdict(self)


def _metrics(profiles: Sequence[ClusterProfile]) -> dict[str, np.ndarray]:
    sizes = np.array([p.size for p in profiles], dtype=float)
    fails = np.array([p.n_failures for p in profiles], dtype=float)
    overall = float(fails.sum() / sizes.sum()) if sizes.sum() else 0.0
    return {
        "size": sizes,
        "failure_rate": (fails + RATE_PRIOR_ROWS * overall) / (sizes + RATE_PRIOR_ROWS),
        "size_x_failure": fails,
        "business_impact": np.array([p.impact_score for p in profiles], dtype=float),
        "cost": np.array([p.cost_total_usd or 0.0 for p in profiles], dtype=float),
    }


def _minmax(values: np.ndarray) -> np.ndarray:
    span = float(values.max() - values.min()) if len(values) else 0.0
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def strategy_scores(profiles: Sequence[ClusterProfile], strategy: str = "mixed") -> np.ndarray:
    """Score per profile (higher = more urgent) under ``strategy``; ``mixed`` scores lie in [0, 1]."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {sorted(STRATEGIES)}")
    if not profiles:
        return np.zeros(0)
    metrics = _metrics(profiles)
    if strategy != "mixed":
        return metrics[strategy]
    return sum((w * _minmax(metrics[name]) for name, w in MIXED_WEIGHTS.items()), np.zeros(len(profiles)))


def format_ms(ms: float | None) -> str:
    """Human latency: ``850 ms`` or ``4.1 s``."""
    if ms is None:
        return "n/a"
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "0%"


def failure_mix(p: ClusterProfile) -> str:
    """``mostly latency_timeout, 95% of failures`` or ``largest type tool_error, 21% of failures``."""
    if not p.dominant_failure_type:
        return "no failure type recorded"
    lead = "mostly" if p.dominant_failure_share >= 0.5 else "largest type"
    return f"{lead} {p.dominant_failure_type}, {p.dominant_failure_share:.0%} of failures"


def reason_for(p: ClusterProfile, rank: int, score: float, strategy: str, total_rows: int) -> str:
    """One sentence with the figures that put ``p`` at ``rank``."""
    parts = [f"rank {rank}: {p.size:,} interactions ({_share(p.size, total_rows)} of all)"]
    if p.n_failures:
        parts.append(f"{p.failure_rate:.0%} failing ({failure_mix(p)})")
    else:
        parts.append("no failures")
    if p.latency_p95_ms is not None:
        parts.append(f"p95 {format_ms(p.latency_p95_ms)}")
    if p.cost_total_usd is not None:
        parts.append(f"${p.cost_total_usd:,.2f} total cost")
    if p.failing_models and p.n_failures:
        model, count = next(iter(p.failing_models.items()))
        parts.append(f"{_share(count, p.n_failures)} of failures on {model}")
    severe = sum(p.business_impact.get(tag, 0) for tag in ("critical", "high"))
    if severe:
        parts.append(f"{severe} critical/high-impact failures")
    if p.keywords:
        parts.append("about " + ", ".join(p.keywords[:3]))
    return ", ".join(parts) + f"; score {score:.3g} ({strategy})"


def rank_clusters(
    profiles: Sequence[ClusterProfile],
    strategy: str = "mixed",
    include_noise: bool = False,
    top: int | None = None,
) -> list[RankedCluster]:
    """Profiles sorted by ``strategy`` score (descending; ties by size, then cluster id), ranks from 1."""
    kept = [p for p in profiles if include_noise or not p.is_noise]
    scores = strategy_scores(kept, strategy)
    metrics = _metrics(kept) if kept else {}
    total = sum(p.size for p in profiles)
    order = sorted(range(len(kept)), key=lambda i: (-scores[i], -kept[i].size, kept[i].cluster_id))
    ranked = []
    for rank, i in enumerate(order[:top] if top else order, start=1):
        p = kept[i]
        ranked.append(
            RankedCluster(
                rank=rank,
                cluster_id=p.cluster_id,
                label=p.label,
                score=round(float(scores[i]), 6),
                strategy=strategy,
                reason=reason_for(p, rank, float(scores[i]), strategy, total),
                components={name: round(float(v[i]), 6) for name, v in metrics.items()},
            )
        )
    return ranked
