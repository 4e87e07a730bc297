"""OpenTelemetry traces in: OTLP/JSON (both shapes) and Jaeger JSON files give the same rows; bad spans are
quarantined with the span named; GenAI attributes map as docs/traces.md says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.bootstrap import open_database
from ingest.pipeline import ingest_dir
from tests.fixtures.genai_spans import TRACE_A, jaeger_json, otlp_json, otlp_protobuf, spans

pytestmark = pytest.mark.integration
COLUMNS = ("interaction_id, session_id, user_id, timestamp_utc, model_provider, model_name, prompt_tokens, "
           "completion_tokens, total_tokens, latency_ms, cost_usd, is_failure, failure_type, tools_used, "
           "tool_calls_count, request_text, response_text_snippet, extra, project")


def _rows(conn) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    return {r["interaction_id"]: r for r in conn.execute(f"SELECT {COLUMNS} FROM interactions")}


def _write(tmp: Path, name: str, doc: object) -> Path:
    path = tmp / name
    path.write_text(json.dumps(doc))
    return path


def test_files_in_three_shapes_give_the_same_rows(fresh_database: str, tmp_path: Path) -> None:
    db = open_database()
    first = ingest_dir(db.conn, _write(tmp_path, "otlp.json", otlp_json(spans())), embed=False, out_dir=tmp_path)
    t = first.tables["interactions"]
    assert (t["spans"], t["interactions"], t["tool_spans"], t["ignored"], t["rejected"]) == (6, 4, 1, 1, 0)
    rows = _rows(db.conn)
    chat = rows["eee19b7ec3c1b174"]
    assert chat["session_id"] == "conv-1" and chat["user_id"] == "alice" and chat["model_provider"] == "openai"
    assert chat["model_name"] == "gpt-4o-mini-2024-07-18" and chat["total_tokens"] == 150
    assert chat["latency_ms"] == 1251 and chat["request_text"] == "Where is my order 1234?"
    assert chat["response_text_snippet"] == "Let me look it up."
    assert chat["timestamp_utc"].isoformat() == "2025-02-01T08:53:20+00:00"
    assert abs(chat["cost_usd"] - (120 * 0.15 + 30 * 0.60) / 1e6) < 1e-12  # gpt-4o-mini price
    assert chat["is_failure"] and chat["failure_type"] == "tool_error" and chat["tools_used"] == "lookup_order"
    assert "connection refused" in chat["extra"]["error"] and chat["extra"]["trace_id"] == TRACE_A
    old = rows["00f067aa0ba902b7"]
    assert old["failure_type"] == "latency_timeout" and old["request_text"] == "Cancel my subscription"
    assert old["model_provider"] == "anthropic" and old["extra"]["error"] == "Request timed out after 30s"
    events = rows["53995c3f42cd8ad8"]
    assert events["request_text"] == "Explain my invoice" and events["response_text_snippet"] == "Your invoice lists..."
    assert not events["is_failure"] and events["session_id"] == "0af7651916cd43dd8448eb211c80319c"
    oi = rows["1d3f8e2c9a7b6054"]
    assert oi["session_id"] == "sess-9" and oi["user_id"] == "bob" and oi["total_tokens"] == 11
    assert oi["cost_usd"] is None and oi["latency_ms"] == 2  # no price for this model: unknown, never zero
    sess = db.conn.execute("SELECT total_requests, failed_requests, user_id, summary_source FROM sessions "
                           "WHERE session_id = 'conv-1'").fetchone()
    assert sess == {"total_requests": 2, "failed_requests": 2, "user_id": "alice", "summary_source": "derived"}
    for name, doc in (("old.json", otlp_json(spans(), old_shape=True)), ("jaeger.json", jaeger_json(spans()))):
        again = ingest_dir(db.conn, _write(tmp_path, name, doc), embed=False, out_dir=tmp_path).tables["interactions"]
        assert (again["inserted"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 4, 0), name
    assert _rows(db.conn) == rows
    pb = tmp_path / "req.pb"
    pb.write_bytes(otlp_protobuf(spans()))
    assert ingest_dir(db.conn, pb, embed=False, out_dir=tmp_path).tables["interactions"]["unchanged"] == 4
    changed = spans()
    changed[0]["attrs"]["gen_ai.usage.output_tokens"] = 31
    later = ingest_dir(db.conn, _write(tmp_path, "later.json", otlp_json(changed)), embed=False, out_dir=tmp_path)
    assert (later.tables["interactions"]["updated"], later.tables["interactions"]["unchanged"]) == (1, 3)
    assert db.conn.execute("SELECT count(*) AS n FROM interactions").fetchone()["n"] == 4


def test_bad_spans_are_quarantined_and_named(fresh_database: str, tmp_path: Path) -> None:
    items = [spans()[0], *(dict(spans()[0], span=c * 16) for c in "1234")]
    items[1] = {**items[1], "trace": ""}  # no trace id
    items[2] = {**items[2], "start": 0, "dur": 5}  # 1970: absurd
    items[3] = {**items[3], "attrs": {**items[3]["attrs"], "gen_ai.input.messages": "x" * 10_000_000}}
    doc = otlp_json(items)
    weird = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][4]
    weird["attributes"].append({"key": "odd", "value": {"fancyValue": 1}})  # an unknown attribute type
    db = open_database()
    s = ingest_dir(db.conn, _write(tmp_path, "bad.json", doc), embed=False, out_dir=tmp_path)
    t = s.tables["interactions"]
    assert (t["spans"], t["interactions"], t["rejected"], t["truncated"]) == (5, 2, 3, 1)
    q = {r["record_id"]: r for r in db.conn.execute("SELECT file, row_number, column_name, reason, record_id "
                                                     "FROM quarantine")}
    assert q["1111111111111111"]["column_name"] == "traceId" and "no trace id" in q["1111111111111111"]["reason"]
    assert q["2222222222222222"]["column_name"] == "timestamp_utc" and "absurd" in q["2222222222222222"]["reason"]
    assert q["4444444444444444"]["column_name"] == "odd" and "unknown type 'fancyValue'" in q[
        "4444444444444444"]["reason"]
    assert all(r["file"] == "bad.json" and "span " in r["reason"] for r in q.values())
    big = db.conn.execute("SELECT length(request_text) AS n, extra FROM interactions WHERE interaction_id = "
                          "'3333333333333333'").fetchone()
    assert big["n"] <= 32_768 and big["extra"]["truncated"] == {"gen_ai.input.messages": 10_000_000}
    with pytest.raises(Exception, match="malformed JSON"):
        (tmp_path / "broken.json").write_text('{"resourceSpans": [')
        ingest_dir(db.conn, tmp_path / "broken.json", embed=False, out_dir=tmp_path)
    assert db.conn.execute("SELECT count(*) AS n FROM interactions").fetchone()["n"] == 2


def test_a_batch_lands_whole_or_not_at_all(fresh_database: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash after the interactions are loaded but before the quarantine is written leaves nothing behind."""
    from ingest.otlp import store

    items = [spans()[0], dict(spans()[0], span="5" * 16, start=0)]  # one good span, one to quarantine
    path = _write(tmp_path, "batch.json", otlp_json(items))

    def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError("crash while writing the quarantine")

    monkeypatch.setattr(store, "write_quarantine", crash)
    db = open_database()
    with pytest.raises(RuntimeError, match="crash"):
        ingest_dir(db.conn, path, embed=False, out_dir=tmp_path)
    for table in ("interactions", "sessions", "quarantine"):
        assert db.conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"] == 0, table
