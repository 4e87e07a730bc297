"""Trend tables and the incident detector on a data set with one planted incident window."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics.incident_detection import DetectorSettings, detect_incidents, poisson_tail
from analytics.synthetic import PlantedDataset, make_planted_dataset
from analytics.timeseries import compute_trends, cost_by_model, failures_over_time, latency_by_model


@pytest.fixture(scope="module")
def planted() -> PlantedDataset:
    return make_planted_dataset(seed=0)


def test_failures_over_time_counts_every_failure(planted: PlantedDataset) -> None:
    daily = failures_over_time(planted.df)
    assert list(daily.columns) == ["date", "failure_type", "count", "total", "rate"]
    assert daily["count"].sum() == int(planted.df["is_failure"].sum())
    assert "none" not in set(daily["failure_type"])
    days = daily["date"].nunique()
    assert len(daily) == days * daily["failure_type"].nunique()
    per_day = daily.groupby("date")["total"].first()
    assert per_day.sum() == len(planted.df)
    spike = daily[(daily["failure_type"] == "latency_timeout") & (daily["date"] == planted.window_start)]
    assert spike["count"].iloc[0] > 20


def test_latency_and_cost_by_model_match_the_rows(planted: PlantedDataset) -> None:
    lat = latency_by_model(planted.df)
    assert lat.iloc[0]["model_name"] == planted.planted_model
    rows = planted.df[planted.df["model_name"] == "gpt-4.1"]["latency_ms"]
    got = lat.set_index("model_name").loc["gpt-4.1"]
    assert got["count"] == len(rows)
    assert got["p50_ms"] == pytest.approx(np.percentile(rows, 50))
    assert got["p95_ms"] == pytest.approx(np.percentile(rows, 95))
    assert got["mean_ms"] == pytest.approx(rows.mean())
    cost = cost_by_model(planted.df)
    assert cost["total_usd"].sum() == pytest.approx(planted.df["cost_usd"].sum())
    assert cost["share_of_spend"].sum() == pytest.approx(1.0)
    gpt = cost.set_index("model_name").loc["gpt-4.1"]
    assert gpt["usd_per_1k_tokens"] == pytest.approx(0.40)


def test_trends_are_json_serialisable(planted: PlantedDataset) -> None:
    trends = compute_trends(planted.df)
    doc = json.loads(json.dumps(trends.to_dict(), allow_nan=False))
    assert doc["overall"]["n_rows"] == len(planted.df)
    assert doc["failures_daily"][0]["date"] == "2025-02-01"
    assert doc["overall"]["failure_types"]["latency_timeout"] > 150


def test_incident_detector_finds_planted_window(planted: PlantedDataset) -> None:
    incidents = detect_incidents(planted.df)
    model_level = [i for i in incidents if i.dimension == "model_name"]
    kinds = {(i.kind, i.key, i.failure_type) for i in model_level}
    assert ("failure_rate", planted.planted_model, "latency_timeout") in kinds
    assert ("latency_p95", planted.planted_model, "latency_timeout") in kinds
    assert all(i.key == planted.planted_model for i in model_level)
    start, end = planted.window_start.date().isoformat(), planted.window_end.date().isoformat()
    for inc in model_level:
        assert (inc.start, inc.end) == (start, end)
        assert inc.magnitude > 10 and inc.n > 100 and inc.value > 3 * inc.baseline
        assert planted.planted_model in inc.description and start in inc.description
    rate = next(i for i in model_level if i.kind == "failure_rate")
    in_window = planted.df[
        (planted.df["model_name"] == planted.planted_model)
        & (planted.df["timestamp"] >= planted.window_start)
        & (planted.df["timestamp"] <= planted.window_end)
    ]
    assert rate.n == len(in_window)
    assert rate.n_events == int((in_window["failure_type"] == "latency_timeout").sum())
    assert json.dumps([i.to_dict() for i in incidents])
    magnitudes = [i.magnitude for i in incidents]
    assert magnitudes == sorted(magnitudes, reverse=True)


def test_no_incidents_without_a_planted_problem(planted: PlantedDataset) -> None:
    calm = planted.df[planted.truth != planted.planted_blob]
    assert detect_incidents(calm) == []


def test_detector_tolerates_missing_columns(planted: PlantedDataset) -> None:
    assert detect_incidents(planted.df.drop(columns=["timestamp"])) == []
    no_latency = planted.df.drop(columns=["latency_ms"]).rename(columns={"timestamp": "timestamp_utc"})
    no_latency["timestamp_utc"] = no_latency["timestamp_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    found = detect_incidents(no_latency, include_overall=False)
    assert found and {i.kind for i in found} == {"failure_rate"}
    only_ts = pd.DataFrame({"timestamp": planted.df["timestamp"]})
    assert detect_incidents(only_ts) == []


def test_significance_filter_and_settings(planted: PlantedDataset) -> None:
    assert poisson_tail(0, 1.0) == 1.0 and poisson_tail(2, 3.0) == 1.0
    assert poisson_tail(7, 0.83) == pytest.approx(2.6e-5, rel=0.05)
    assert 0.0 <= poisson_tail(400, 5.0) < 1e-300
    found = detect_incidents(planted.df)
    assert all(i.p_value < 1e-20 for i in found)
    assert detect_incidents(planted.df, settings=DetectorSettings(z_threshold=500.0)) == []
    small = planted.df.copy()
    day = pd.Timestamp("2025-04-02", tz="UTC")
    rows = small.index[(small["model_name"] == "gpt-4.1")][:12]
    small.loc[rows, "timestamp"] = day + pd.to_timedelta(np.arange(12), unit="h")
    small.loc[rows, ["failure_type", "is_failure"]] = ["tool_error", True]
    small_hits = [i for i in detect_incidents(small) if i.key == "gpt-4.1"]
    assert [(i.failure_type, i.start, i.n_events) for i in small_hits] == [("tool_error", "2025-04-02", 12)]


def test_one_kind_finds_the_same_incidents_as_both(planted: PlantedDataset) -> None:
    both = detect_incidents(planted.df)
    for kind in ("latency_p95", "failure_rate"):
        only = detect_incidents(planted.df, kind=kind)
        assert only and only == [i for i in both if i.kind == kind]  # same Bonferroni cutoff, same order
