"""Scan statistic for sustained failure-rate shifts in sparse series (for example one tool's calls).

Daily robust z-scores (:mod:`analytics.incident_detection`) need many requests per day; a tool used a few times a day
can double its error rate for two weeks unseen. For each key and failure type this scans every window of
``min_days``..``max_days`` days and keeps the one with the largest binomial log-likelihood ratio (rate inside vs
outside, Kulldorff's statistic). A window is reported when its chi-square(1) p-value survives a Bonferroni correction
over every window, key and type scanned, with at least ``min_events`` events and ``min_ratio`` x the outside rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2

from analytics import columns as C
from analytics.incident_detection import Incident
from analytics.timeseries import daily


def _llr(k_in: np.ndarray, n_in: np.ndarray, k_out: np.ndarray, n_out: np.ndarray) -> np.ndarray:
    def ll(k: np.ndarray, n: np.ndarray) -> np.ndarray:
        p = np.clip(k / np.maximum(n, 1), 1e-12, 1 - 1e-12)
        return k * np.log(p) + (n - k) * np.log(1 - p)
    total = ll(k_in + k_out, n_in + n_out)
    return ll(k_in, n_in) + ll(k_out, n_out) - total


def scan_incidents(df: pd.DataFrame, dimension: str, min_days: int = 3, max_days: int = 21, min_events: int = 5,
                   min_ratio: float = 1.5, alpha: float = 0.01) -> list[Incident]:
    """The strongest shifted window per key and failure type that passes the corrected test; strongest first."""
    if not C.has(df, "timestamp") or df.empty or dimension not in df:
        return []
    frame = pd.DataFrame({"day": daily(df), "key": df[dimension].astype(str), "type": C.failure_types(df)})
    frame = frame[frame["day"].notna() & df[dimension].notna().to_numpy()]  # a row without the key is in no series
    if frame.empty:
        return []
    days = pd.date_range(frame["day"].min(), frame["day"].max(), freq="D")
    kinds = sorted(t for t in frame["type"].unique() if t != C.NO_FAILURE)
    # every window (start, length), ordered by length then start: the first maximum wins, as in a scan by length
    lengths = np.arange(min_days, min(max_days, len(days) - 1) + 1)
    starts = np.concatenate([np.arange(len(days) - n + 1) for n in lengths] or [np.zeros(0, dtype=int)])
    ends = starts + np.repeat(lengths, len(days) - lengths + 1)  # exclusive
    day_idx = np.asarray((frame["day"] - days[0]).dt.days, dtype=np.int64)
    key_code, key_values = pd.factorize(frame["key"], sort=True)
    cell = key_code * len(days) + day_idx
    size = len(key_values) * len(days)
    n_all = np.bincount(cell, minlength=size).reshape(len(key_values), len(days)).astype(float)
    types = frame["type"].to_numpy()
    candidates: list[tuple[float, str, str, int, int, int, int, float]] = []
    tests = 0
    k_all = {t: np.bincount(cell[types == t], minlength=size).reshape(n_all.shape).astype(float) for t in kinds}
    for row, key in enumerate(key_values):
        for ftype in kinds:
            n, k = n_all[row], k_all[ftype][row]
            if k.sum() < min_events:
                continue
            cn, ck = np.concatenate([[0.0], np.cumsum(n)]), np.concatenate([[0.0], np.cumsum(k)])
            tests += len(starts)
            n_in, k_in = cn[ends] - cn[starts], ck[ends] - ck[starts]
            n_out, k_out = cn[-1] - n_in, ck[-1] - k_in
            ok = (k_in >= min_events) & (k_in / np.maximum(n_in, 1) >= min_ratio * k_out / np.maximum(n_out, 1))
            if not ok.any():
                continue
            llr = np.where(ok, _llr(k_in, n_in, k_out, n_out), -np.inf)
            i = int(np.argmax(llr))
            a, b = int(starts[i]), int(ends[i] - 1)
            events, requests = float(ck[b + 1] - ck[a]), float(cn[b + 1] - cn[a])
            p_out = (ck[-1] - events) / max(cn[-1] - requests, 1)
            candidates.append((float(llr[i]), str(key), ftype, a, b, int(events), int(requests), float(p_out)))
    found = []
    for stat, key, ftype, a, b, k_in, n_in, p_out in candidates:
        p_value = float(chi2.sf(2 * stat, 1))
        if p_value > alpha / max(tests, 1):
            continue
        start, end = days[a].date().isoformat(), days[b].date().isoformat()
        found.append(Incident(
            kind="failure_rate", dimension=dimension, key=key, failure_type=ftype, start=start, end=end,
            days=b - a + 1, magnitude=round(float(np.sqrt(2 * stat)), 2), n=n_in, n_events=k_in,
            value=round(k_in / n_in, 4), baseline=round(p_out, 4), p_value=p_value,
            description=(f"{key}: {ftype} rate {k_in / n_in:.0%} vs {p_out:.1%} outside the window from {start} "
                         f"to {end} ({k_in} of {n_in} requests; scan statistic, p={p_value:.1e})")))
    return sorted(found, key=lambda i: -i.magnitude)
