"""Scoring an analytics run against a generator's answer key (``answer_key_labels.csv``: interaction_id, incident_id).

The planted incidents are small (tens to ~150 failing rows of 9,000) and live inside a baseline where about a quarter
of all rows fail, so ARI over every row mostly measures how the healthy majority is split by topic, which the answer
key says nothing about (all of it is ``none``). The measures reported, and why:

``incident_rows``
    ARI and purity over the *failing rows of planted incidents* only (truth = incident id): are the incidents kept
    apart from each other and not scattered (ARI 1 = each incident is exactly one cluster of its own)?
``failing_rows``
    ARI and purity over all failing rows (truth = incident id, or ``none`` for baseline failures): the same question
    including the baseline failures, which form their own groups (by failure template and topic) and so lower it.
``all_rows``
    :func:`analytics.cluster_scoring.evaluate_clusters` over every row, for reference.
``incidents``
    per incident: its *main cluster* (the one holding most of its failing rows), ``recall`` (share of the incident's
    failing rows in that cluster), ``precision`` (share of the cluster's rows that are the incident's failing rows),
    ``type_share`` (share of the cluster's failing rows with the incident's failure type) and the cluster's
    ``rank`` under the ranking strategy. ``in_top3`` counts incidents whose main cluster ranks 1-3.

Only failing rows are used for an incident, also for INC-001 whose key labels every in-scope row: its non-failing
rows (slow but successful requests) are indistinguishable in text from other requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.cluster_scoring import adjusted_rand, evaluate_clusters, purity
from analytics.ranking import RankedCluster

NONE = "none"
LABELS_FILE = "answer_key_labels.csv"


def load_answer_key(path: str | Path) -> pd.Series:
    """``answer_key_labels.csv`` as a Series interaction_id -> incident id (``none`` for unplanted rows)."""
    frame = pd.read_csv(path, dtype=str)
    missing = {"interaction_id", "incident_id"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path} lacks column(s) {sorted(missing)}; expected interaction_id,incident_id")
    return frame.set_index("interaction_id")["incident_id"].fillna(NONE)


def _pair(labels: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    if labels.size == 0:
        return {"n_rows": 0, "adjusted_rand": None, "purity": None}
    return {
        "n_rows": int(labels.size),
        "adjusted_rand": round(adjusted_rand(labels, truth), 4),
        "purity": round(purity(labels, truth), 4),
    }


def _incident(
    inc: str, labels: np.ndarray, truth: np.ndarray, failed: np.ndarray, types: np.ndarray, ranks: dict[int, int]
) -> dict[str, Any]:
    rows = (truth == inc) & failed
    out: dict[str, Any] = {"incident_id": inc, "n_failing_rows": int(rows.sum())}
    if not rows.any():
        return out
    clusters, counts = np.unique(labels[rows], return_counts=True)
    main = int(clusters[counts.argmax()])
    in_main = labels == main
    main_type = pd.Series(types[rows]).mode().iloc[0]
    cluster_failing = in_main & failed
    out.update(
        failure_type=str(main_type),
        main_cluster=main,
        cluster_size=int(in_main.sum()),
        n_clusters_touched=len(clusters),
        recall=round(float(counts.max() / rows.sum()), 4),
        precision=round(float(counts.max() / in_main.sum()), 4),
        type_share=round(float((types[cluster_failing] == main_type).mean()), 4) if cluster_failing.any() else 0.0,
        rank=ranks.get(main),
    )
    return out


def score_against_key(
    ids: Sequence[str],
    labels: np.ndarray,
    failed: np.ndarray,
    failure_types: Sequence[str],
    key: pd.Series,
    ranked: Sequence[RankedCluster] = (),
) -> dict[str, Any]:
    """The measures of the module docstring for a run (``ids``, ``labels``, ``failed`` row-aligned)."""
    labels = np.asarray(labels)
    failed = np.asarray(failed, dtype=bool)
    truth = key.reindex(list(ids)).fillna(NONE).astype(str).to_numpy()
    types = np.asarray(failure_types, dtype=object).astype(str)
    planted = sorted(set(truth.tolist()) - {NONE})
    inc_rows = failed & (truth != NONE)
    ranks = {r.cluster_id: r.rank for r in ranked}
    incidents = [_incident(i, labels, truth, failed, types, ranks) for i in planted]
    return {
        "measure": "see services/answer_key.py: incident_rows = failing rows of planted incidents",
        "n_matched": int(key.index.isin(list(ids)).sum()),
        "incident_rows": _pair(labels[inc_rows], truth[inc_rows]),
        "failing_rows": _pair(labels[failed], truth[failed]),
        "all_rows": evaluate_clusters(labels, truth),
        "incidents": incidents,
        "in_top3": sum(1 for i in incidents if i.get("rank") is not None and i["rank"] <= 3),
        "ranking_strategy": ranked[0].strategy if ranked else None,
    }
