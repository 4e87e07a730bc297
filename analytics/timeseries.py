"""Trends over time and per model: daily failures by type, latency and cost per model, overall figures.

All tables are plain DataFrames (long format, one row per date x failure type or per model) so that charts,
reports and agents read the same numbers. Days are UTC calendar days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics import columns as C


@dataclass
class Trends:
    """The trend tables plus ``overall`` headline figures (rows, failure rate, date range, p95, spend)."""

    failures_daily: pd.DataFrame
    latency_by_model: pd.DataFrame
    cost_by_model: pd.DataFrame
    overall: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict: every table as a list of records (dates as ISO strings)."""
        return {
            "overall": self.overall,
            "failures_daily": records(self.failures_daily),
            "latency_by_model": records(self.latency_by_model),
            "cost_by_model": records(self.cost_by_model),
        }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as JSON-safe dicts (timestamps to ISO dates/strings, NaN to None, numpy to Python)."""
    out = []
    for row in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                clean[str(key)] = (
                    value.date().isoformat() if value == value.normalize() else value.isoformat()
                )
            elif isinstance(value, float | np.floating):
                clean[str(key)] = None if np.isnan(value) else round(float(value), 6)
            elif isinstance(value, np.integer | np.bool_):
                clean[str(key)] = value.item()
            else:
                clean[str(key)] = value
        out.append(clean)
    return out


def daily(df: pd.DataFrame) -> pd.Series:
    """UTC calendar day of every row (``NaT`` where the timestamp is missing); raises without timestamps."""
    ts = C.timestamps(df)
    if ts is None:
        raise ValueError("the frame has no timestamp column (timestamp or timestamp_utc)")
    return ts.dt.floor("D")


def failures_over_time(df: pd.DataFrame) -> pd.DataFrame:
    """Daily failing rows by failure type: columns date, failure_type, count, total (rows that day), rate.

    Every day between the first and last timestamp appears for every failure type seen (zeros included).
    """
    cols = ["date", "failure_type", "count", "total", "rate"]
    days = daily(df)
    types = C.failure_types(df)
    frame = pd.DataFrame({"date": days, "failure_type": types}).dropna(subset=["date"])
    if frame.empty:
        return pd.DataFrame(columns=cols)
    totals = frame.groupby("date").size()
    failing = frame[frame["failure_type"] != C.NO_FAILURE]
    all_days = pd.date_range(frame["date"].min(), frame["date"].max(), freq="D")
    kinds = sorted(failing["failure_type"].unique())
    if not kinds:
        return pd.DataFrame(columns=cols)
    counts = failing.groupby(["date", "failure_type"]).size()
    grid = pd.MultiIndex.from_product([all_days, kinds], names=["date", "failure_type"])
    out = counts.reindex(grid, fill_value=0).rename("count").reset_index()
    out["total"] = totals.reindex(out["date"]).fillna(0).astype(int).to_numpy()
    out["rate"] = np.where(out["total"] > 0, out["count"] / out["total"].where(out["total"] > 0, 1), 0.0)
    return out[cols]


def latency_by_model(df: pd.DataFrame, by: str = "model_name") -> pd.DataFrame:
    """Latency per ``by`` value: count, p50_ms, p95_ms, mean_ms, max_ms, failure_rate; slowest p95 first."""
    cols = [by, "count", "p50_ms", "p95_ms", "mean_ms", "max_ms", "failure_rate"]
    latency, key = C.numeric(df, "latency_ms"), C.column(df, by)
    if latency is None or key is None:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame({by: key.astype(str), "latency": latency, "failed": C.failure_mask(df)})
    g = frame.groupby(by)
    out = pd.DataFrame(
        {
            "count": g.size(),
            "p50_ms": g["latency"].quantile(0.5),
            "p95_ms": g["latency"].quantile(0.95),
            "mean_ms": g["latency"].mean(),
            "max_ms": g["latency"].max(),
            "failure_rate": g["failed"].mean(),
        }
    ).reset_index()
    return out.sort_values(["p95_ms", by], ascending=[False, True]).reset_index(drop=True)[cols]


def cost_by_model(df: pd.DataFrame, by: str = "model_name") -> pd.DataFrame:
    """Spend per ``by`` value: count, total_usd, mean_usd, failing_usd (spent on failing rows),
    share_of_spend and usd_per_1k_tokens (when total_tokens exists); biggest spender first."""
    cols = [by, "count", "total_usd", "mean_usd", "failing_usd", "share_of_spend", "usd_per_1k_tokens"]
    cost, key = C.numeric(df, "cost_usd"), C.column(df, by)
    if cost is None or key is None:
        return pd.DataFrame(columns=cols)
    tokens = C.numeric(df, "total_tokens")
    failed = C.failure_mask(df)
    frame = pd.DataFrame(
        {
            by: key.astype(str),
            "cost": cost,
            "failing_cost": cost.where(failed, 0.0),
            "tokens": tokens if tokens is not None else np.nan,
        }
    )
    g = frame.groupby(by)
    total = g["cost"].sum()
    token_sum = g["tokens"].sum(min_count=1)
    out = pd.DataFrame(
        {
            "count": g.size(),
            "total_usd": total,
            "mean_usd": g["cost"].mean(),
            "failing_usd": g["failing_cost"].sum(),
            "share_of_spend": total / total.sum() if total.sum() else 0.0,
            "usd_per_1k_tokens": total / token_sum.where(token_sum > 0) * 1000,
        }
    ).reset_index()
    return out.sort_values(["total_usd", by], ascending=[False, True]).reset_index(drop=True)[cols]


def overall_summary(df: pd.DataFrame) -> dict[str, Any]:
    """Headline figures: n_rows, n_failures, failure_rate, failure_types (counts), start/end dates,
    latency p50/p95 (ms), cost_total_usd, n_models."""
    failed = C.failure_mask(df)
    types = C.failure_types(df)
    out: dict[str, Any] = {
        "n_rows": len(df),
        "n_failures": int(failed.sum()),
        "failure_rate": round(float(failed.mean()), 4) if len(df) else 0.0,
        "failure_types": {str(k): int(v) for k, v in types[failed].value_counts().items()},
    }
    ts = C.timestamps(df)
    if ts is not None and ts.notna().any():
        out["start"], out["end"] = ts.min().date().isoformat(), ts.max().date().isoformat()
    latency = C.numeric(df, "latency_ms")
    if latency is not None and latency.notna().any():
        out["latency_p50_ms"] = round(float(latency.quantile(0.5)), 1)
        out["latency_p95_ms"] = round(float(latency.quantile(0.95)), 1)
    cost = C.numeric(df, "cost_usd")
    if cost is not None:
        out["cost_total_usd"] = round(float(cost.sum()), 4)
    model = C.column(df, "model_name")
    if model is not None:
        out["n_models"] = int(model.nunique())
    return out


def compute_trends(df: pd.DataFrame) -> Trends:
    """All trend tables at once (``failures_daily`` is empty when the frame has no timestamps)."""
    failures = failures_over_time(df) if C.has(df, "timestamp") else pd.DataFrame()
    return Trends(failures, latency_by_model(df), cost_by_model(df), overall_summary(df))
