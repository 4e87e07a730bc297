"""The OTLP receiver under sustained load: LLM spans per second over 60 s, request p50/p95, and a count check.

A scratch data dir (own embedded Postgres) and a project API key are made; the receiver runs as
``opsgraph serve otlp`` in its own process, and a bounded load generator in another: ``CLIENTS`` connections,
each sending one protobuf ``ExportTraceServiceRequest`` of ``BATCH`` GenAI chat spans at a time (about 2 KB of
attributes per span: messages, model, usage, conversation and user ids; every span id unique) and waiting for
the answer before sending the next. After the run, the interactions stored for the project must equal the spans
the receiver acknowledged: no span lost. Embeddings are deferred (not on the request path).
Set OTLP_BENCH_SECONDS to change the duration (default 60).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.common import ROOT, record, scratch_home

BATCH, CLIENTS = 512, 3
SECONDS = float(os.environ.get("OTLP_BENCH_SECONDS", "60"))


def _template(client: int) -> Any:
    """One request of ``BATCH`` chat spans (about 2 KB of attributes each); :func:`_renumber` gives each batch
    its own trace, span and conversation ids."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="load-gen")))
    ss = rs.scope_spans.add()
    question = "My order {0} has not arrived and the tracking page shows no update since last week. " * 8
    for i in range(BATCH):
        text = question.format(client * BATCH + i)
        msgs = json.dumps([{"role": "user", "parts": [{"type": "text", "content": text}]}])
        out = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "I am sorry. " * 30}]}])
        span = Span(name="chat gpt-4o-mini", kind=3)
        attrs = {"gen_ai.conversation.id": "", "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                 "gen_ai.request.model": "gpt-4o-mini", "user.id": f"user-{i % 97}", "gen_ai.input.messages": msgs,
                 "gen_ai.output.messages": out}
        span.attributes.extend(KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in attrs.items())
        span.attributes.extend([KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=180)),
                                KeyValue(key="gen_ai.usage.output_tokens", value=AnyValue(int_value=90))])
        ss.spans.append(span)
    return req


def _renumber(req: Any, client: int, batch_no: int) -> bytes:
    now = time.time_ns()
    for i, span in enumerate(req.resource_spans[0].scope_spans[0].spans):
        n = (client << 40) | (batch_no << 12) | i
        span.trace_id = (n + (1 << 100)).to_bytes(16, "big")
        span.span_id = (n + 1).to_bytes(8, "big")
        span.start_time_unix_nano, span.end_time_unix_nano = now - 900_000_000, now
        span.attributes[0].value.string_value = f"conv-{n >> 4}"
    return bytes(req.SerializeToString())


def _client(url: str, key: str, client: int, seconds: float, out: Any) -> None:
    import httpx
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    lat, accepted, rejected, batch_no = [], 0, 0, 0
    template = _template(client)
    body = _renumber(template, client, batch_no)
    end = time.perf_counter() + seconds
    with httpx.Client(timeout=120) as http:
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            r = http.post(url, content=body, headers={"content-type": "application/x-protobuf", "x-api-key": key})
            lat.append(time.perf_counter() - t0)
            r.raise_for_status()
            resp = ExportTraceServiceResponse.FromString(r.content)
            rejected += resp.partial_success.rejected_spans
            accepted += BATCH - resp.partial_success.rejected_spans
            batch_no += 1
            body = _renumber(template, client, batch_no)  # while nothing is in flight for this client: bounded
    out.put({"latencies": lat, "accepted": accepted, "rejected": rejected, "sent": batch_no * BATCH})


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    """Run the load and record the section in BENCHMARKS.md."""
    with scratch_home() as home:
        from core.api_keys import create_key
        from core.bootstrap import open_database

        db = open_database()
        _, key = create_key(db.conn, "bench")
        port = _port()
        env = {**os.environ, "OPSGRAPH_HOME": str(home)}
        server = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "otlp", "--port", str(port),
                                   "--grpc-port", "0"], cwd=ROOT, env=env)
        try:
            url = f"http://127.0.0.1:{port}/v1/traces"
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            procs = [ctx.Process(target=_client, args=(url, key, c, SECONDS, queue)) for c in range(CLIENTS)]
            t0 = time.perf_counter()
            for p in procs:
                p.start()
            results = [queue.get(timeout=SECONDS + 300) for _ in procs]
            wall = time.perf_counter() - t0
            for p in procs:
                p.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
        stored = db.conn.execute("SELECT count(*) AS n FROM interactions WHERE project = 'bench'").fetchone()["n"]
        embedded = db.conn.execute("SELECT count(*) AS n FROM log_embeddings").fetchone()["n"]
        db.conn.close()
    lat = sorted(x for r in results for x in r["latencies"])
    accepted = sum(r["accepted"] for r in results)
    p95 = lat[int(0.95 * (len(lat) - 1))]
    rate = accepted / wall
    body = (
        f"`python -m bench.otlp_bench`: {CLIENTS} client processes, each with one request in flight, sending "
        f"protobuf batches of {BATCH} GenAI chat spans (~2 KB of attributes each) for {SECONDS:.0f} s to "
        "`opsgraph serve otlp` (its own process, embedded Postgres).\n\n"
        "| spans acknowledged | requests | wall (s) | spans/s | request p50 (s) | request p95 (s) | stored rows | "
        "lost | embedded on the request path |\n|---|---|---|---|---|---|---|---|---|\n"
        f"| {accepted:,} | {len(lat):,} | {wall:.1f} | **{rate:,.0f}** | {statistics.median(lat):.3f} | {p95:.3f} | "
        f"{stored:,} | {accepted - stored:,} | {embedded} |\n\n"
        f"Target: >= 5,000 spans/s on this 2-core machine; {'met' if rate >= 5000 else 'not met'}. "
        "The load generator shares the two cores with the receiver and Postgres."
    )
    record("OTLP receiver", body)
    print(body)
    if stored != accepted:
        raise SystemExit(f"lost spans: {accepted} acknowledged, {stored} stored")


if __name__ == "__main__":
    main()
