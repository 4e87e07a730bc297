"""The OTLP receiver: OTLP/HTTP ``POST /v1/traces`` (protobuf or JSON, gzip or not) and OTLP/gRPC
``TraceService/Export``, writing GenAI spans to the telemetry tables.

Every request must carry a project API key (``Authorization: Bearer <key>``, or ``x-api-key: <key>``; over gRPC
the same names as metadata). Without a valid key the request is refused (HTTP 401 / gRPC UNAUTHENTICATED) and
nothing is written; the key decides the project of the rows. A body that is not OTLP is refused with 400 /
INVALID_ARGUMENT and a message saying why. Each request is one batch (:func:`ingest.otlp.store.store_spans`): its
accepted and quarantined spans commit together, and when spans are rejected the answer is an OTLP partial
success (``rejected_spans`` and the first reasons). Session and user summaries are derived by a background
thread every :data:`REFRESH_SECONDS` (and once more at shutdown), and embeddings are deferred
(``opsgraph data embed``): neither is on the request path.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from concurrent import futures
from contextlib import asynccontextmanager
from typing import Any

import grpc
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.api_keys import project_for
from ingest.derive import refresh_stale
from ingest.otlp.spans import SpanRecord, TraceDecodeError, decode_body, spans_from_request
from ingest.otlp.store import BatchResult, store_spans
from services.telemetry import pooled

log = logging.getLogger("opsgraph.otlp")
MAX_BODY_BYTES = 64 << 20
REFRESH_SECONDS = 2.0
PROTOBUF = "application/x-protobuf"


def _key(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get("x-api-key") or None


def project_of(key: str | None) -> str | None:
    """The project of an active API key (None when the key is missing, unknown or revoked)."""
    if key is None:
        return None
    with pooled() as conn:
        return project_for(conn, key)


def accept(spans: list[SpanRecord], project: str, source: str) -> BatchResult:
    """Store one request's ``spans`` into ``project`` as one batch."""
    ingest_id = time.strftime("otlp-%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]
    with pooled() as conn:
        return store_spans(conn, spans, project=project, source=source, ingest_id=ingest_id, derive=False)


class SummaryRefresher:
    """Derives the summaries of stale sessions every ``every`` seconds in a thread (and once more on stop)."""

    def __init__(self, every: float = REFRESH_SECONDS) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="summary-refresher", daemon=True)

    def refresh(self) -> int:
        """Derive the stale sessions now; returns how many."""
        with pooled() as conn:
            return refresh_stale(conn)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.refresh()
            except Exception:  # a failed round is retried on the next tick; the flags stay set
                log.exception("summary refresh failed")

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and refresh what is left."""
        self._stop.set()
        self._thread.join(timeout=30)
        self.refresh()


def _response(result: BatchResult) -> trace_service_pb2.ExportTraceServiceResponse:
    resp = trace_service_pb2.ExportTraceServiceResponse()
    if result.rejected:
        resp.partial_success.rejected_spans = result.rejected
        resp.partial_success.error_message = f"{result.rejected} span(s) quarantined: " + "; ".join(result.reasons[:3])
    return resp


def _encode(message: Any, as_json: bool, status: int = 200) -> Response:
    if as_json:
        return Response(json_format.MessageToJson(message), status_code=status, media_type="application/json")
    return Response(message.SerializeToString(), status_code=status, media_type=PROTOBUF)


def _error(code: int, http: int, message: str, as_json: bool) -> Response:
    return _encode(status_pb2.Status(code=code, message=message), as_json, http)


async def export_traces(request: Request) -> Response:
    """``POST /v1/traces``: decode, authenticate, store (the blocking database work in a worker thread)."""
    content_type = request.headers.get("content-type", PROTOBUF).split(";")[0].strip().lower()
    as_json = content_type == "application/json"
    if content_type not in (PROTOBUF, "application/json"):
        return _error(code_pb2.INVALID_ARGUMENT, 415, f"unsupported content type {content_type!r} (use {PROTOBUF} "
                      "or application/json)", False)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _error(code_pb2.INVALID_ARGUMENT, 413, f"body larger than {MAX_BODY_BYTES >> 20} MiB", as_json)
    key = _key({k.lower(): v for k, v in request.headers.items()})
    project = await run_in_threadpool(project_of, key)
    if project is None:
        why = "no API key: send Authorization: Bearer <key> or x-api-key (create one with opsgraph keys create " \
              "--project P)" if key is None else "API key not valid (unknown or revoked)"
        return _error(code_pb2.UNAUTHENTICATED, 401, why, as_json)
    try:
        spans = decode_body(body, content_type, request.headers.get("content-encoding", ""))
    except TraceDecodeError as exc:
        return _error(code_pb2.INVALID_ARGUMENT, 400, f"request body: {exc}", as_json)
    peer = request.client.host if request.client else "?"
    result = await run_in_threadpool(accept, spans, project, f"otlp-http:{peer}")
    log.info("project %s: %s", project, json.dumps(result.to_dict()))
    return _encode(_response(result), as_json)


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    refresher = SummaryRefresher()
    refresher.start()
    try:
        yield
    finally:
        await run_in_threadpool(refresher.stop)


def create_app(refresh: bool = True) -> Starlette:
    """The OTLP/HTTP app, with its summary refresher when ``refresh`` (serve it with uvicorn; an app mounted in
    another runs no lifespan: its host starts a :class:`SummaryRefresher`)."""
    return Starlette(routes=[Route("/v1/traces", export_traces, methods=["POST"])],
                     lifespan=_lifespan if refresh else None)


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    """OTLP/gRPC trace service."""

    def Export(self, request: trace_service_pb2.ExportTraceServiceRequest,
               context: grpc.ServicerContext) -> trace_service_pb2.ExportTraceServiceResponse:
        """Store one request's spans for the project of the caller's key."""
        meta = {k.lower(): v for k, v in context.invocation_metadata()}  # type: ignore[misc]
        key = _key(meta)
        project = project_of(key)
        if project is None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "no API key: send authorization: Bearer <key> or x-api-key"
                          if key is None else "API key not valid (unknown or revoked)")
        assert project is not None
        return _response(accept(spans_from_request(request), project, f"otlp-grpc:{context.peer()}"))


def grpc_server(host: str, port: int, workers: int = 4) -> grpc.Server:
    """An OTLP/gRPC server bound to ``host:port`` (not started)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers),
                         options=[("grpc.max_receive_message_length", MAX_BODY_BYTES)])
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
    if server.add_insecure_port(f"{host}:{port}") == 0:
        raise OSError(f"cannot bind gRPC to {host}:{port}")
    return server
