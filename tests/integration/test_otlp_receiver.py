"""The live OTLP receiver: a real OpenTelemetry SDK exporting over OTLP/HTTP and OTLP/gRPC, the same spans as
the files give, partial success, and refusals (no key, a wrong or revoked key, a malformed body)."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from core.api_keys import create_key, revoke_key
from core.bootstrap import open_database
from ingest.pipeline import ingest_dir
from tests.fixtures.genai_spans import jaeger_json, otlp_json, otlp_protobuf, spans

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def receiver(fresh_database: str) -> Iterator[tuple[str, int]]:
    """The receiver's HTTP base URL and gRPC port, served in this process."""
    from services.otlp_receiver import create_app, grpc_server

    open_database().conn.close()
    port, gport = _free_port(), _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    grpc = grpc_server("127.0.0.1", gport)
    grpc.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", gport
    server.should_exit = True
    grpc.stop(grace=1)
    thread.join(timeout=10)


def _count(conn, table: str = "interactions") -> int:  # type: ignore[no-untyped-def]
    return int(conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"])


def test_receiver_refuses_and_accepts(receiver: tuple[str, int], tmp_path: Path) -> None:
    base, _ = receiver
    db = open_database()
    key_id, key = create_key(db.conn, "shop")
    body = otlp_protobuf(spans())
    pb = {"content-type": "application/x-protobuf"}
    r = httpx.post(f"{base}/v1/traces", content=body, headers=pb)
    assert r.status_code == 401 and b"no API key" in r.content
    r = httpx.post(f"{base}/v1/traces", content=body, headers={**pb, "authorization": "Bearer ogk_wrong_key"})
    assert r.status_code == 401 and b"not valid" in r.content
    assert _count(db.conn) == 0 and _count(db.conn, "quarantine") == 0  # nothing written
    r = httpx.post(f"{base}/v1/traces", content=b"\x0a\xff\xff garbage", headers={**pb, "x-api-key": key})
    assert r.status_code == 400 and b"malformed protobuf" in r.content
    r = httpx.post(f"{base}/v1/traces", content=b'{"resourceSpans": [', headers={"content-type": "application/json",
                                                                                 "x-api-key": key})
    assert r.status_code == 400 and "malformed JSON" in r.json()["message"]
    r = httpx.post(f"{base}/v1/traces", content=gzip.compress(body), headers={**pb, "x-api-key": key,
                                                                            "content-encoding": "gzip"})
    assert r.status_code == 200 and not ExportTraceServiceResponse.FromString(r.content).HasField("partial_success")
    rows = {x["interaction_id"]: x for x in db.conn.execute("SELECT * FROM interactions")}
    assert len(rows) == 4 and {x["project"] for x in rows.values()} == {"shop"}
    # the same spans from the files change nothing: the three ways give the same rows
    for name, doc in (("otlp.json", otlp_json(spans())), ("jaeger.json", jaeger_json(spans()))):
        (tmp_path / name).write_text(json.dumps(doc))
        t = ingest_dir(db.conn, tmp_path / name, embed=False, out_dir=tmp_path, project="shop").tables["interactions"]
        assert (t["inserted"], t["updated"], t["unchanged"]) == (0, 0, 4), name
    assert {x["interaction_id"]: x for x in db.conn.execute("SELECT * FROM interactions")} == rows
    # a batch with a bad span: OTLP partial success, the span quarantined, the good one stored
    bad = otlp_json([dict(spans()[0], span="9" * 16, start=0, dur=1), dict(spans()[0], span="8" * 16)])
    r = httpx.post(f"{base}/v1/traces", json=bad, headers={"x-api-key": key})
    assert r.status_code == 200 and r.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "9999999999999999" in r.json()["partialSuccess"]["errorMessage"]
    assert _count(db.conn) == 5 and _count(db.conn, "quarantine") == 1
    # another project's key cannot touch these rows: the spans are quarantined, the rows stay as they are
    _, other = create_key(db.conn, "other")
    r = httpx.post(f"{base}/v1/traces", content=body, headers={**pb, "x-api-key": other})
    assert ExportTraceServiceResponse.FromString(r.content).partial_success.rejected_spans == 4
    assert {x["project"] for x in db.conn.execute("SELECT project FROM interactions")} == {"shop"}
    revoke_key(db.conn, key_id)
    r = httpx.post(f"{base}/v1/traces", content=body, headers={**pb, "x-api-key": key})
    assert r.status_code == 401


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_real_sdk_exports_to_the_receiver(receiver: tuple[str, int], protocol: str) -> None:
    base, gport = receiver
    db = open_database()
    _, key = create_key(db.conn, "sdk")
    endpoint = base if protocol != "grpc" else f"http://127.0.0.1:{gport}"
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_HEADERS": f"x-api-key={key}",
           "OTEL_EXPORTER_OTLP_PROTOCOL": protocol, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tests.fixtures.otel_app"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = db.conn.execute("SELECT session_id, model_name, prompt_tokens, is_failure, failure_type, tools_used, "
                           "request_text, response_text_snippet, extra, project FROM interactions "
                           "ORDER BY prompt_tokens").fetchall()
    assert [r["is_failure"] for r in rows] == [False, True] and {r["project"] for r in rows} == {"sdk"}
    ok, failed = rows
    assert ok["session_id"] == "sdk-conv" and ok["model_name"] == "gpt-4o" and ok["request_text"] == "Reset my password"
    assert ok["response_text_snippet"] == "Use Settings to reset it." and ok["failure_type"] == "none"
    assert failed["failure_type"] == "latency_timeout" and "timed out" in failed["extra"]["error"]
    # each tool span is credited to the chat call that started last before it, in the same trace
    assert ok["tools_used"] == failed["tools_used"] == "send_email"
