"""Incident detection: windows where a model's daily latency p95 or a failure type's daily rate jumps.

Each series is compared with its own baseline (per value of ``dimension``, usually the model, and ``all``
for the whole fleet):

* latency: daily p95 (days with >= ``min_rows_per_day`` rows); robust z = (p95_day - median) / scale with
  scale = max(1.4826 * MAD, 5% of the median, 1 ms).
* failure rate, per failure type: daily rate = type count / rows that day; the baseline rate is the pooled
  rate over the days not flagged in a first pass; robust z = (rate_day - baseline) / scale_day with
  scale_day = max(1.4826 * MAD of daily rates, binomial sd sqrt(p(1-p)/n_day)) so that sparse series with a
  zero MAD do not explode.

Days with z >= ``z_threshold`` are merged into windows (gaps up to ``max_gap_days``). A window is kept when
its value is >= ``min_ratio`` x the baseline, it holds >= ``min_events`` events (failures of the type, or
requests slower than the baseline p95) and the event count is significant: Poisson tail probability given
the baseline event rate below ``alpha`` divided by the number of day-level tests run (Bonferroni), so that
many models x failure types x days do not produce chance incidents. ``magnitude`` is the peak daily z.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics import columns as C
from analytics.timeseries import daily

MAD_SCALE = 1.4826


@dataclass(frozen=True)
class DetectorSettings:
    """Thresholds of :func:`detect_incidents` (see the module docstring)."""

    z_threshold: float = 3.5
    min_rows_per_day: int = 3
    min_events: int = 5
    min_ratio: float = 1.5
    max_gap_days: int = 1
    alpha: float = 0.01


@dataclass
class Incident:
    """One anomalous window. ``value``/``baseline`` are ms (latency_p95) or fractions (failure_rate);
    ``n`` counts the key's requests in the window, ``n_events`` the failures of the type (failure_rate) or
    the requests slower than the baseline p95 (latency_p95); ``p_value`` is the uncorrected Poisson tail."""

    kind: str
    dimension: str
    key: str
    failure_type: str | None
    start: str
    end: str
    days: int
    magnitude: float
    n: int
    n_events: int
    value: float
    baseline: float
    p_value: float
    description: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict."""
        return asdict(self)


def poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam); returns 1.0 whenever k <= lam (not an excess, conservatively)."""
    if k <= 0 or k <= lam:
        return 1.0
    if lam <= 0:
        return 0.0
    term = math.exp(-lam + k * math.log(lam) - math.lgamma(k + 1))
    total, i = 0.0, k
    while term > 0 and term >= total * 1e-15:
        total += term
        i += 1
        term *= lam / i
    return min(1.0, total)


def _windows(days: list[pd.Timestamp], max_gap_days: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    out: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    for day in sorted(days):
        if out and (day - out[-1][1]).days <= max_gap_days + 1:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def _fmt_ms(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _latency(frame: pd.DataFrame, dim: str, key: str, s: DetectorSettings) -> tuple[list[Incident], int]:
    g = frame.groupby("day")["latency"]
    stats = pd.DataFrame({"n": g.size(), "p95": g.quantile(0.95)})
    stats = stats[stats["n"] >= s.min_rows_per_day]
    if len(stats) < 7:
        return [], 0
    median = float(stats["p95"].median())
    scale = max(MAD_SCALE * float((stats["p95"] - median).abs().median()), 0.05 * median, 1.0)
    zs = (stats["p95"] - median) / scale
    incidents = []
    for start, end in _windows(list(zs.index[zs >= s.z_threshold]), s.max_gap_days):
        inside = (frame["day"] >= start) & (frame["day"] <= end)
        rows, outside = frame[inside], frame.loc[~inside, "latency"]
        value = float(rows["latency"].quantile(0.95))
        slow = int((rows["latency"] > median).sum())
        if value < s.min_ratio * median or slow < s.min_events:
            continue
        p_slow = max(float((outside > median).mean()) if len(outside) else 0.05, 0.5 / max(len(outside), 1))
        types = rows.loc[rows["type"] != C.NO_FAILURE, "type"]
        ftype = str(types.mode().iloc[0]) if len(types) else None
        peak = float(zs[(zs.index >= start) & (zs.index <= end)].max())
        mostly = f", mostly {ftype} failures" if ftype else ""
        text = (
            f"{key}: latency p95 {_fmt_ms(value)} vs baseline {_fmt_ms(median)} (x{value / median:.1f}, "
            f"robust z {peak:.1f}) from {start.date()} to {end.date()}, {len(rows)} requests, "
            f"{slow} slower than the baseline p95{mostly}"
        )
        incidents.append(
            Incident(
                kind="latency_p95",
                dimension=dim,
                key=key,
                failure_type=ftype,
                start=start.date().isoformat(),
                end=end.date().isoformat(),
                days=(end - start).days + 1,
                magnitude=round(peak, 2),
                n=len(rows),
                n_events=slow,
                value=round(value, 1),
                baseline=round(median, 1),
                p_value=poisson_tail(slow, p_slow * len(rows)),
                description=text,
            )
        )
    return incidents, len(stats)


def _rates(
    days: pd.DatetimeIndex, n_day: np.ndarray, k_day: np.ndarray, dim: str, key: str, ftype: str, s: DetectorSettings
) -> tuple[list[Incident], int]:
    """Failure-rate windows of one failure type from its daily counts (``n_day`` rows, ``k_day`` failures)."""
    keep = n_day >= s.min_rows_per_day
    days, n, k = days[keep], n_day[keep].astype(float), k_day[keep].astype(float)
    if len(n) < 7 or k.sum() < s.min_events:
        return [], len(n)
    rate = k / n
    mad = MAD_SCALE * float(np.median(np.abs(rate - np.median(rate))))
    flagged = np.zeros(len(n), dtype=bool)
    for _ in range(2):  # second pass: baseline without the days flagged in the first
        p0 = max(float(k[~flagged].sum() / max(n[~flagged].sum(), 1)), 0.5 / float(n.sum()))
        zs = (rate - p0) / np.maximum(mad, np.sqrt(p0 * (1 - p0) / n))
        flagged = (zs >= s.z_threshold) & (k > 0)
    incidents = []
    for start, end in _windows(list(days[flagged]), s.max_gap_days):
        inside = (days >= start) & (days <= end)
        events, rows = int(k[inside].sum()), int(n[inside].sum())
        value = events / rows
        if events < s.min_events or value < s.min_ratio * p0:
            continue
        peak = float(zs[inside].max())
        text = (
            f"{key}: {ftype} rate {value:.0%} vs baseline {p0:.1%} (robust z {peak:.1f}) from {start.date()} "
            f"to {end.date()}, {events} of {rows} requests"
        )
        incidents.append(
            Incident(
                kind="failure_rate",
                dimension=dim,
                key=key,
                failure_type=ftype,
                start=start.date().isoformat(),
                end=end.date().isoformat(),
                days=(end - start).days + 1,
                magnitude=round(peak, 2),
                n=rows,
                n_events=events,
                value=round(value, 4),
                baseline=round(p0, 4),
                p_value=poisson_tail(events, p0 * rows),
                description=text,
            )
        )
    return incidents, len(n)


def _rate_tests(part: pd.DataFrame, kinds: list[str], dim: str, key: str, s: DetectorSettings,
                run: bool) -> tuple[list[Incident], int]:
    """Failure-rate incidents of every failure type in ``part`` (daily counts by bincount); with
    ``run=False`` only the number of day-level tests they would make (for the Bonferroni cutoff)."""
    day_code, day_values = pd.factorize(part["day"], sort=True)
    n_day = np.bincount(day_code, minlength=len(day_values))
    if not run:
        return [], len(kinds) * int((n_day >= s.min_rows_per_day).sum())
    days = pd.DatetimeIndex(day_values)
    types = part["type"].to_numpy()
    found: list[Incident] = []
    tests = 0
    for ftype in kinds:
        k_day = np.bincount(day_code[types == ftype], minlength=len(day_values))
        incidents, n_tests = _rates(days, n_day, k_day, dim, key, ftype, s)
        found += incidents
        tests += n_tests
    return found, tests


def _latency_tests(
    part: pd.DataFrame, dim: str, key: str, s: DetectorSettings, run: bool
) -> tuple[list[Incident], int]:
    """Latency-p95 incidents of ``part``; with ``run=False`` only the number of day-level tests."""
    if run:
        return _latency(part, dim, key, s)
    days = int((part.groupby("day").size() >= s.min_rows_per_day).sum())
    return [], days if days >= 7 else 0


def detect_incidents(
    df: pd.DataFrame,
    dimension: str = "model_name",
    include_overall: bool = True,
    settings: DetectorSettings | None = None,
    kind: str | None = None,
) -> list[Incident]:
    """Latency-p95 and failure-rate incidents per value of ``dimension`` (and fleet-wide ``all``), strongest
    first. Returns ``[]`` when the frame lacks timestamps; latency checks need ``latency_ms``. ``kind``
    (``latency_p95`` or ``failure_rate``) computes only that kind; the Bonferroni cutoff still counts the
    tests of both, so the incidents found are the same as without it."""
    s = settings or DetectorSettings()
    if not C.has(df, "timestamp") or df.empty:
        return []
    latency = C.numeric(df, "latency_ms")
    frame = pd.DataFrame(
        {"day": daily(df), "latency": latency if latency is not None else np.nan, "type": C.failure_types(df)}
    ).dropna(subset=["day"])
    key_col = C.column(df, dimension)
    groups: list[tuple[str, str, pd.DataFrame]] = []
    if key_col is not None:
        keys = key_col.astype(str).reindex(frame.index)
        groups += [(dimension, str(k), part) for k, part in frame.groupby(keys)]
    if include_overall or key_col is None:
        groups.append(("all", "all", frame))
    kinds = sorted(t for t in frame["type"].unique() if t != C.NO_FAILURE)
    found: list[Incident] = []
    tests = 0
    for dim, key, part in groups:
        results = [_rate_tests(part, kinds, dim, key, s, run=kind in (None, "failure_rate"))]
        if latency is not None:
            results.append(_latency_tests(part.dropna(subset=["latency"]), dim, key, s,
                                          run=kind in (None, "latency_p95")))
        for incidents, n_tests in results:
            found += incidents
            tests += n_tests
    cutoff = s.alpha / max(tests, 1)
    kept = [i for i in found if i.p_value <= cutoff]
    return sorted(kept, key=lambda i: (-i.magnitude, i.start, i.key))
