"""Per-cluster profiles: what a cluster is about, how it fails, what it costs, and who it hurts.

``describe_clusters`` turns (frame, embeddings, labels) into one :class:`ClusterProfile` per label with
operational figures (failure mix, latency, cost, feedback, outcomes), c-TF-IDF keywords, exemplars and a
short human label. Missing optional columns leave the matching fields empty (``None`` or ``{}``).

Failure-weighted centroid: each member row gets weight ``failure_weight`` (default 3.0) when it failed and
1.0 otherwise; the centroid is the L2-normalised weighted mean. It leans toward the failing part of a mixed
cluster, so "central" exemplars show what goes wrong there. "Failing" exemplars are the failing rows most
similar (cosine) to the mean of the failing rows, i.e. the most typical failures.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics import columns as C
from analytics.keywords import class_tfidf_keywords

FAILURE_WEIGHT = 3.0
IMPACT_WEIGHTS: dict[str, float] = {"critical": 4.0, "high": 3.0, "medium": 2.0, "low": 1.0}
EXEMPLAR_CHARS = 280


@dataclass
class Exemplar:
    """One representative interaction: id, prompt text (truncated), cosine similarity, failure type."""

    interaction_id: str
    text: str
    similarity: float
    failure_type: str


@dataclass
class ClusterProfile:
    """Aggregates for one cluster. Shares are fractions in [0, 1]; latency in ms; cost in USD."""

    cluster_id: int
    label: str
    size: int
    share: float
    n_failures: int
    failure_rate: float
    failure_types: dict[str, int] = field(default_factory=dict)
    dominant_failure_type: str | None = None
    dominant_failure_share: float = 0.0
    failing_models: dict[str, int] = field(default_factory=dict)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_mean_ms: float | None = None
    cost_mean_usd: float | None = None
    cost_total_usd: float | None = None
    tokens_mean: float | None = None
    top_models: dict[str, int] = field(default_factory=dict)
    top_use_cases: dict[str, int] = field(default_factory=dict)
    top_channels: dict[str, int] = field(default_factory=dict)
    top_tools: dict[str, int] = field(default_factory=dict)
    feedback_n: int = 0
    feedback_mean: float | None = None
    feedback_negative_share: float | None = None
    resolution: dict[str, int] = field(default_factory=dict)
    repair_strategies: dict[str, int] = field(default_factory=dict)
    business_impact: dict[str, int] = field(default_factory=dict)
    impact_score: float = 0.0
    first_seen: str | None = None
    last_seen: str | None = None
    keywords: list[str] = field(default_factory=list)
    exemplars: list[Exemplar] = field(default_factory=list)
    failing_exemplars: list[Exemplar] = field(default_factory=list)
    is_noise: bool = False
    centroid: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self, include_centroid: bool = False) -> dict[str, Any]:
        """JSON-serialisable dict (NaN becomes None); the centroid only on request, as a list."""
        centroid = self.centroid
        self.centroid = None
        try:
            out = asdict(self)
        finally:
            self.centroid = centroid
        out.pop("centroid")
        if include_centroid and centroid is not None:
            out["centroid"] = [round(float(v), 6) for v in centroid]
        return out


def _num(value: Any, digits: int = 4) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else round(f, digits)


def _top(series: pd.Series | None, n: int) -> dict[str, int]:
    if series is None or series.empty:
        return {}
    counts = series.dropna().astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.head(n).items()}


def failure_weighted_centroid(
    X: np.ndarray, failed: np.ndarray, weight: float = FAILURE_WEIGHT
) -> np.ndarray:
    """L2-normalised weighted mean of ``X`` rows; failing rows weigh ``weight``, the others 1."""
    w = np.where(failed, weight, 1.0).astype(np.float32)
    centre = (X * w[:, None]).sum(axis=0) / max(float(w.sum()), 1e-12)
    norm = float(np.linalg.norm(centre))
    return (centre / norm if norm > 0 else centre).astype(np.float32)


def _exemplars(
    X: np.ndarray, centre: np.ndarray, ids: np.ndarray, prompts: np.ndarray, types: np.ndarray, n: int
) -> list[Exemplar]:
    if len(ids) == 0 or n <= 0:
        return []
    sims = X @ centre
    order = np.argsort(-sims, kind="stable")[:n]
    return [
        Exemplar(str(ids[i]), str(prompts[i])[:EXEMPLAR_CHARS], round(float(sims[i]), 4), str(types[i]))
        for i in order
    ]


def make_label(keywords: list[str], profile: ClusterProfile, n_words: int = 3) -> str:
    """Short label: top keywords, then the failure rate and dominant failure type when there are failures."""
    words = ", ".join(keywords[:n_words]) or f"cluster {profile.cluster_id}"
    if profile.n_failures == 0:
        return f"{words} | no failures"
    tail = f" | {profile.failure_rate:.0%} failing"
    if profile.dominant_failure_type and profile.dominant_failure_share >= 0.5:
        tail += f", mostly {profile.dominant_failure_type}"
    elif profile.dominant_failure_type:
        tail += ", mixed failure types"
    return words + tail


def _feedback(sub: pd.DataFrame) -> tuple[int, float | None, float | None]:
    score = C.numeric(sub, "user_feedback_score")
    label = C.column(sub, "user_feedback_label")
    mean = _num(score.mean()) if score is not None and score.notna().any() else None
    n = int(score.notna().sum()) if score is not None else 0
    negative: float | None = None
    if label is not None:
        observed = label.astype(str)
        observed = observed[~observed.isin(["no_feedback", "nan", "None", ""])]
        negative = _num((observed == "negative").mean()) if len(observed) else None
        n = max(n, len(observed))
    elif score is not None and n:
        negative = _num((score.dropna() < 0).mean())
    return n, mean, negative


def _profile(
    cid: int, sub: pd.DataFrame, Xc: np.ndarray, n_total: int, top_n: int, n_exemplars: int, weight: float
) -> ClusterProfile:
    failed = C.failure_mask(sub)
    types = C.failure_types(sub).to_numpy()
    n_fail = int(failed.sum())
    ftypes = _top(pd.Series(types[failed]), 10)
    dominant = next(iter(ftypes), None)
    p = ClusterProfile(
        cluster_id=cid,
        label="",
        size=len(sub),
        share=round(len(sub) / max(n_total, 1), 4),
        n_failures=n_fail,
        failure_rate=round(n_fail / max(len(sub), 1), 4),
        failure_types=ftypes,
        dominant_failure_type=dominant,
        dominant_failure_share=round(ftypes[dominant] / n_fail, 4) if dominant else 0.0,
        is_noise=cid < 0,
    )
    model = C.column(sub, "model_name")
    p.top_models = _top(model, top_n)
    p.failing_models = _top(model[failed] if model is not None else None, top_n)
    latency = C.numeric(sub, "latency_ms")
    if latency is not None and latency.notna().any():
        p.latency_p50_ms = _num(latency.quantile(0.5), 1)
        p.latency_p95_ms = _num(latency.quantile(0.95), 1)
        p.latency_mean_ms = _num(latency.mean(), 1)
    cost = C.numeric(sub, "cost_usd")
    if cost is not None and cost.notna().any():
        p.cost_mean_usd, p.cost_total_usd = _num(cost.mean(), 6), _num(cost.sum(), 4)
    tokens = C.numeric(sub, "total_tokens")
    p.tokens_mean = _num(tokens.mean(), 1) if tokens is not None and tokens.notna().any() else None
    p.top_use_cases = _top(C.column(sub, "use_case"), top_n)
    p.top_channels = _top(C.column(sub, "channel"), top_n)
    p.top_tools = _top(C.exploded_tools(sub), top_n)
    p.feedback_n, p.feedback_mean, p.feedback_negative_share = _feedback(sub)
    p.resolution = _top(C.column(sub, "final_resolution_state"), 10)
    p.repair_strategies = _top(C.column(sub, "repair_strategy"), 10)
    impact = C.column(sub, "business_impact_tag")
    if impact is not None:
        tags = impact[failed].astype(str).str.lower()
        p.business_impact = _top(tags, 10)
        p.impact_score = round(float(pd.to_numeric(tags.map(IMPACT_WEIGHTS), errors="coerce").fillna(1.0).sum()), 2)
    ts = C.timestamps(sub)
    if ts is not None and ts.notna().any():
        p.first_seen, p.last_seen = ts.min().isoformat(), ts.max().isoformat()
    ids_col = C.column(sub, "interaction_id")
    ids = (ids_col if ids_col is not None else pd.Series(sub.index)).astype(str).to_numpy()
    prompt_col = C.column(sub, "prompt_text")
    prompts = (prompt_col.fillna("").astype(str) if prompt_col is not None else C.texts(sub)).to_numpy()
    p.centroid = failure_weighted_centroid(Xc, failed, weight)
    p.exemplars = _exemplars(Xc, p.centroid, ids, prompts, types, n_exemplars)
    if n_fail:  # most typical failures, not repeating the central exemplars
        fail_centre = failure_weighted_centroid(Xc[failed], np.zeros(n_fail, dtype=bool))
        pick = failed & ~np.isin(ids, [e.interaction_id for e in p.exemplars])
        p.failing_exemplars = _exemplars(
            Xc[pick], fail_centre, ids[pick], prompts[pick], types[pick], n_exemplars
        )
    return p


def describe_clusters(
    df: pd.DataFrame,
    X: np.ndarray,
    labels: np.ndarray,
    top_n: int = 5,
    n_keywords: int = 8,
    n_exemplars: int = 3,
    failure_weight: float = FAILURE_WEIGHT,
) -> list[ClusterProfile]:
    """One profile per distinct label (ascending; noise -1 first when present).

    ``df``, ``X`` and ``labels`` must be row-aligned. Keywords are c-TF-IDF over prompt + completion text.
    """
    labels = np.asarray(labels)
    X = np.asarray(X, dtype=np.float32)
    if not len(df) == len(X) == len(labels):
        raise ValueError(f"misaligned inputs: {len(df)} rows, {len(X)} vectors, {len(labels)} labels")
    frame = df.reset_index(drop=True)
    keywords = class_tfidf_keywords(C.texts(frame).tolist(), labels, top_n=n_keywords)
    profiles = []
    for cid in np.unique(labels):
        idx = np.flatnonzero(labels == cid)
        p = _profile(int(cid), frame.iloc[idx], X[idx], len(frame), top_n, n_exemplars, failure_weight)
        p.keywords = [w for w, _ in keywords.get(int(cid), [])]
        p.label = (
            "noise (unclustered) | " + make_label(p.keywords, p) if p.is_noise else make_label(p.keywords, p)
        )
        profiles.append(p)
    return profiles
