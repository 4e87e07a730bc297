"""The debugging agents' tools on the embedded Postgres with the generated sample: every number is checked
against SQL on the same tables, and the planted incidents of the answer key are found."""

from __future__ import annotations

from typing import Any

import pytest

from core.db import connect
from tools.ops_tools import (
    cost_report,
    failure_trends,
    find_similar_incidents,
    latency_report,
    search_similar_interactions,
)

pytestmark = pytest.mark.integration


def _sql(query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with connect() as conn:
        return list(conn.execute(query, params).fetchall())


def _incident(answer_key: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(i for i in answer_key["incidents"] if i["kind"] == kind)


def test_failure_trends_match_sql_and_find_the_tool_regression(sample_db) -> None:  # type: ignore[no-untyped-def]
    out = failure_trends.invoke({})
    truth = _sql("SELECT count(*) AS n, avg(is_failure::int) AS rate FROM interactions")[0]
    assert out["rows"] == truth["n"] and out["failure_rate"] == pytest.approx(float(truth["rate"]), abs=1e-4)
    by_type = {r["failure_type"]: r["n"] for r in _sql(
        "SELECT failure_type, count(*) AS n FROM interactions WHERE failure_type <> 'none' GROUP BY 1")}
    assert out["by_type"] == by_type
    planted = _incident(sample_db["answer_key"], "tool_regression")
    found = [i for i in out["incidents"] if i["key"] == planted["tool"] and i["failure_type"] == "tool_error"]
    assert found, out["incidents"]
    inc = found[0]
    assert inc["start"] <= planted["window_end"] and planted["window_start"] <= inc["end"]
    rows = _sql("SELECT tools_used, failure_type, timestamp_utc::date::text AS day FROM interactions "
                "WHERE interaction_id = ANY(%s)", (inc["example_ids"],))
    assert rows and all(planted["tool"] in r["tools_used"] and r["failure_type"] == "tool_error" for r in rows)


def test_latency_report_matches_sql_and_names_the_regressed_model(sample_db) -> None:  # type: ignore[no-untyped-def]
    planted = _incident(sample_db["answer_key"], "latency_regression")
    out = latency_report.invoke({})
    truth = {r["model_name"]: r for r in _sql(
        "SELECT model_name, count(*) AS n, percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95 "
        "FROM interactions GROUP BY 1")}
    assert {r["model_name"] for r in out["by_model"]} == set(truth)
    for r in out["by_model"]:
        assert r["count"] == truth[r["model_name"]]["n"]
        assert r["p95_ms"] == pytest.approx(float(truth[r["model_name"]]["p95"]), rel=1e-3)
    assert {i["kind"] for i in out["incidents"]} == {"latency_p95"}
    inc = next(i for i in out["incidents"] if i["key"] == planted["model"])  # the fleet series may come first
    assert inc["start"] <= planted["window_end"] and planted["window_start"] <= inc["end"]
    slow = _sql("SELECT model_name, latency_ms FROM interactions WHERE interaction_id = ANY(%s)",
                (inc["example_ids"],))
    assert slow and all(r["model_name"] == planted["model"] and r["latency_ms"] > inc["baseline"] for r in slow)
    window = latency_report.invoke({"model_name": planted["model"], "start": planted["window_start"],
                                    "end": planted["window_end"]})
    n = _sql("SELECT count(*) AS n FROM interactions WHERE model_name = %s AND timestamp_utc >= %s::date "
             "AND timestamp_utc < %s::date + 1", (planted["model"], planted["window_start"], planted["window_end"]))
    assert window["rows"] == n[0]["n"] and [r["model_name"] for r in window["by_model"]] == [planted["model"]]


def test_cost_report_matches_sql(sample_db) -> None:  # type: ignore[no-untyped-def]
    out = cost_report.invoke({"use_case": "customer_support"})
    truth = {r["model_name"]: r for r in _sql(
        "SELECT model_name, count(*) AS n, sum(cost_usd) AS total FROM interactions "
        "WHERE use_case = 'customer_support' GROUP BY 1")}
    assert out["rows"] == sum(r["n"] for r in truth.values())
    totals = [r["total_usd"] for r in out["by_model"]]
    assert totals == sorted(totals, reverse=True)
    for r in out["by_model"]:
        assert r["count"] == truth[r["model_name"]]["n"]
        assert r["total_usd"] == pytest.approx(float(truth[r["model_name"]]["total"]), rel=1e-3)


def test_filtered_search_returns_k_matching_rows_nearest_first(sample_db) -> None:  # type: ignore[no-untyped-def]
    planted = _incident(sample_db["answer_key"], "latency_regression")
    args = {"query": "the request timed out waiting for the model", "k": 7, "model_name": planted["model"],
            "failure_type": "latency_timeout", "start": planted["window_start"], "end": planted["window_end"]}
    rows = search_similar_interactions.invoke(args)
    assert len(rows) == 7
    sims = [r["similarity"] for r in rows]
    assert sims == sorted(sims, reverse=True)
    days = {r["day"] for r in _sql("SELECT timestamp_utc::date::text AS day FROM interactions "
                                   "WHERE interaction_id = ANY(%s)", ([r["interaction_id"] for r in rows],))}
    assert all(planted["window_start"] <= d <= planted["window_end"] for d in days)
    assert all(r["model_name"] == planted["model"] and r["failure_type"] == "latency_timeout" for r in rows)
    # a rare combination far from the query still yields k rows (exact scan when the index returns too few)
    rare = search_similar_interactions.invoke({"query": "write a poem", "k": 5, "failure_type": "safety_block",
                                               "use_case": "coding_assistant"})
    n_rare = _sql("SELECT count(*) AS n FROM interactions WHERE failure_type = 'safety_block' "
                  "AND use_case = 'coding_assistant'")[0]["n"]
    assert len(rare) == min(5, n_rare) and n_rare > 0


def test_similar_incidents_are_failures_with_what_fixed_them(sample_db) -> None:  # type: ignore[no-untyped-def]
    out = find_similar_incidents.invoke({"query": "sql_query tool call failed with a schema error", "k": 10})
    assert len(out["incidents"]) == 10
    ids = [r["interaction_id"] for r in out["incidents"]]
    truth = {r["interaction_id"]: r for r in _sql(
        "SELECT interaction_id, is_failure, repair_strategy, final_resolution_state FROM interactions "
        "WHERE interaction_id = ANY(%s)", (ids,))}
    assert all(truth[i]["is_failure"] for i in ids)
    outcomes: dict[str, int] = {}
    for i in ids:
        outcomes[truth[i]["final_resolution_state"]] = outcomes.get(truth[i]["final_resolution_state"], 0) + 1
    assert out["resolution_outcomes"] == outcomes
    fixed = sum(1 for i in ids if truth[i]["final_resolution_state"] == "auto_resolved"
                and truth[i]["repair_strategy"] != "none")
    assert sum(f["resolved"] for f in out["what_fixed_them"]) == fixed
    assert sum(r["failure_type"] == "tool_error" for r in out["incidents"]) >= 5  # the query's failure mode
