"""Bring-your-own telemetry: the author's layout, a minimum-contract file, mapping, formats, capabilities."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.bootstrap import open_database
from ingest.pipeline import ingest_dir
from tests.fixtures.byo_telemetry import write_author_sample

pytestmark = pytest.mark.integration


def _caps(summary_caps: list[dict[str, object]]) -> dict[str, bool]:
    return {str(c["analysis"]): bool(c["available"]) for c in summary_caps}


def test_author_layout_loads_with_derived_summaries(fresh_database: str, tmp_path: Path) -> None:
    paths = write_author_sample(tmp_path / "src")
    rows = pd.read_csv(paths["interactions"])
    bad = rows.index[rows["failure_type"] == "none"][0]
    rows.loc[bad, "toxicity_flag"] = 1  # a flag that contradicts failure_type: quarantined
    rows.to_csv(paths["interactions"], index=False)
    db = open_database()
    s = ingest_dir(db.conn, tmp_path / "src", embed=True, out_dir=tmp_path / "out", project="author")
    inter = s.tables["interactions"]
    assert inter["rows_read"] == 240 == inter["rows_loaded"] + inter["rows_rejected"] and inter["rows_rejected"] == 1
    assert inter["quarantined"] == 1
    assert inter["new_levels"]["use_case"].keys() >= {"summarization"} and "is_failure_was_missing" in inter[
        "extra_columns"]
    assert s.tables["users"]["mapped_columns"] == {"user_total_cost_usd": "total_cost_usd",
                                                   "user_total_requests": "total_requests",
                                                   "user_total_failures": "total_failed_requests"}
    q = db.conn.execute("SELECT file, row_number, column_name, reason, project FROM quarantine").fetchone()
    assert q["file"] == "interactions.csv" and q["row_number"] == bad + 2 and q["column_name"] == "toxicity_flag"
    assert "contradicts failure_type" in q["reason"] and q["project"] == "author"
    # provided summary values are kept and checked: the rejected row makes its session's counts disagree
    mism = s.summaries["sessions"]["mismatches"]
    assert {"total_requests", "total_tokens", "total_cost_usd"} <= set(mism) <= {
        "total_requests", "total_tokens", "total_cost_usd", "start_timestamp_utc", "end_timestamp_utc"}
    assert {m["rows"] for m in mism.values()} == {1} and len({m["first"] for m in mism.values()}) == 1
    assert s.summaries["sessions"]["filled"]["avg_latency_ms"] == 57  # derived where the file is silent
    row = db.conn.execute("SELECT total_requests, avg_latency_ms, csat_mean, project FROM sessions "
                          "WHERE session_id = %s", (mism["total_requests"]["first"],)).fetchone()
    assert row["total_requests"] == int(mism["total_requests"]["provided"]) and row["project"] == "author"
    users = db.conn.execute("SELECT count(*) AS n, count(total_sessions) AS derived FROM users").fetchone()
    assert users["n"] == users["derived"] == 20
    extra = db.conn.execute("SELECT extra FROM interactions LIMIT 1").fetchone()["extra"]
    assert extra == {"is_failure_was_missing": "0"}
    caps = _caps(s.capabilities)
    assert caps["latency"] and caps["cost"] and caps["structured_clustering"]
    assert not caps["embeddings"] and not caps["text_clustering"] and not caps["similarity_search"]
    assert s.embeddings["skipped"] and s.embeddings["reason"] == "no interaction has text"


def test_minimum_contract_file_loads(fresh_database: str, tmp_path: Path) -> None:
    src = tmp_path / "calls.jsonl"
    lines = [
        {"id": "a1", "conversation_id": "c1", "time": 1738400000, "error": None, "prompt": "hi", "llm": "m1"},
        {"id": "a2", "conversation_id": "c1", "time": "2025-02-01T09:00:00.250+01:00", "error": "timeout",
         "prompt": "again", "llm": "m1"},
        {"id": "a3", "conversation_id": "c2", "time": "2025-02-01 10:00:00Z", "error": "", "prompt": "x",
         "llm": "m2", "debug": {"k": 1}},
        {"id": "a4", "conversation_id": "c2", "time": "not a time", "error": "", "prompt": "y", "llm": "m2"},
        {"id": "a5", "conversation_id": "c3", "time": "3025-01-01T00:00:00Z", "error": "", "llm": "m2"},
    ]
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    db = open_database()
    s = ingest_dir(db.conn, src, embed=False, out_dir=tmp_path / "out", mappings={"interactions": {
        "model_name": "llm"}})
    t = s.tables["interactions"]
    assert (t["rows_read"], t["rows_loaded"], t["rows_rejected"]) == (6, 3, 3)
    reasons = {r["row_number"]: (r["column_name"], r["reason"]) for r in db.conn.execute(
        "SELECT row_number, column_name, reason FROM quarantine")}
    assert reasons[4][0] == "timestamp_utc" and "malformed timestamp" in reasons[4][1]
    assert reasons[5][0] == "timestamp_utc" and "absurd timestamp" in reasons[5][1]
    assert "not JSON" in reasons[6][1]
    got = {r["interaction_id"]: r for r in db.conn.execute(
        "SELECT interaction_id, user_id, timestamp_utc, is_failure, failure_type, model_name, latency_ms, extra "
        "FROM interactions")}
    assert got["a1"]["timestamp_utc"].isoformat() == "2025-02-01T08:53:20+00:00" and not got["a1"]["is_failure"]
    assert got["a2"]["timestamp_utc"].isoformat() == "2025-02-01T08:00:00.250000+00:00"
    assert got["a2"]["is_failure"] and got["a2"]["failure_type"] == "error" and got["a2"]["extra"]["error"] == "timeout"
    assert got["a3"]["extra"] == {"debug": '{"k": 1}'} and got["a3"]["model_name"] == "m2"
    assert got["a1"]["user_id"] is None and got["a1"]["latency_ms"] is None
    sess = {r["session_id"]: r for r in db.conn.execute("SELECT * FROM sessions")}
    assert sess["c1"]["total_requests"] == 2 and sess["c1"]["failed_requests"] == 1
    assert sess["c1"]["avg_latency_ms"] is None and sess["c1"]["total_cost_usd"] is None  # unknown, never zero
    caps = {c["analysis"]: c for c in s.capabilities}
    assert caps["failure_rates"]["available"] and caps["embeddings"]["available"]
    assert not caps["latency"]["available"] and "latency_ms" in caps["latency"]["reason"]


def test_analytics_dashboard_and_diagnosis_on_data_without_text(fresh_database: str, tmp_path: Path) -> None:
    """The author's layout has no text: the answers use what exists and say what is unavailable, and why."""
    from langchain_core.messages import HumanMessage

    from agents.debugging.agent import run_diagnostic_agent
    from chat.dashboard import build_dashboard
    from tools.analytics_tools import top_failure_clusters
    from tools.ops_tools import failure_trends, latency_report

    write_author_sample(tmp_path / "src")
    db = open_database()
    ingest_dir(db.conn, tmp_path / "src", embed=True, out_dir=tmp_path / "out", project="author")
    trends = failure_trends.invoke({"project": "author"})
    assert trends["rows"] == 240 and set(trends["failure_rate_by_model"]) == {"llama", "gpt"}
    assert latency_report.invoke({"project": "author"})["rows"] == 240
    assert failure_trends.invoke({})["rows"] == 0  # the default project has nothing: projects are apart
    clusters = top_failure_clusters.invoke({"project": "author"})
    assert clusters["unavailable"] == "text_clustering" and "request_text" in clusters["reason"]
    out = run_diagnostic_agent("failure", [HumanMessage("What are the top failure clusters?")], {}, "author")
    names = [c["name"] for c in out["tool_calls"]]
    assert names[0] == "top_failure_clusters" and "failure_trends" in names  # the breakdowns instead
    summary = out["diagnosis"].summary
    assert "not available for this data: text_clustering" in summary and "offline" in summary
    assert any("llama" in a for c in out["diagnosis"].causes for a in c.aggregates)  # from the author's rows
    board = build_dashboard("author")
    assert "240 interactions" in board.overview and "Top clusters" not in board.overview
    assert {name for name, _ in board.figures} == {"Failures over time", "Latency per model"}
    assert any("text_clustering" in n or "clusters" in n for n in board.notes)


def test_a_folder_with_only_a_minimum_contract_file(fresh_database: str, tmp_path: Path) -> None:
    """Only interactions, only the contract's columns: it loads, sessions are derived, and what cannot be
    computed says so (the dashboard's notes, the tools' answers)."""
    from chat.dashboard import build_dashboard
    from tools.ops_tools import cost_report, failure_trends, latency_report

    paths = write_author_sample(tmp_path / "gen")
    src = tmp_path / "only"
    src.mkdir()
    rows = pd.read_csv(paths["interactions"])[["interaction_id", "session_id", "timestamp_utc", "failure_type"]]
    rows.to_csv(src / "interactions.csv", index=False)
    db = open_database()
    s = ingest_dir(db.conn, src, embed=True, out_dir=tmp_path / "out")
    t = s.tables["interactions"]
    assert t["rows_read"] == t["rows_loaded"] + t["rows_rejected"] == 240 and t["rows_rejected"] == 0
    assert "is_failure" in t["derived_columns"]
    sessions = db.conn.execute("SELECT count(*) AS n, sum(total_requests) AS req, count(avg_latency_ms) AS lat, "
                               "count(user_id) AS users FROM sessions").fetchone()
    assert sessions["req"] == 240 and sessions["n"] == rows["session_id"].nunique()
    assert sessions["lat"] == 0 and sessions["users"] == 0  # no latency, no users: unknown, not zero
    caps = _caps(s.capabilities)
    assert caps["failure_rates"] and caps["failure_types"] and not caps["latency"] and not caps["users"]
    assert failure_trends.invoke({})["rows"] == 240
    assert latency_report.invoke({})["unavailable"] == "latency"
    assert cost_report.invoke({})["unavailable"] == "cost"
    board = build_dashboard()
    assert {name for name, _ in board.figures} == {"Failures over time"}
    assert any("latency" in n for n in board.notes) and any("request_text" in n for n in board.notes)
    from langchain_core.messages import HumanMessage

    from agents.debugging.agent import run_diagnostic_agent

    out = run_diagnostic_agent("performance", [HumanMessage("Which model is slowest and what does it cost?")], {})
    summary = out["diagnosis"].summary
    assert "not available for this data: latency" in summary and "cost" in summary.split("not available")[1]
