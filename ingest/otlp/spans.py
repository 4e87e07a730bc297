"""Spans from OTLP requests and exports, as plain records.

Reads an ``ExportTraceServiceRequest`` as protobuf (through ``opentelemetry-proto``) or as OTLP/JSON: the
current ``resourceSpans`` / ``scopeSpans`` shape and the older ``batches`` / ``instrumentationLibrarySpans`` one.
In OTLP/JSON, trace and span ids are hex strings, 64-bit integers may be strings, and enums may be numbers or
names, as the OTLP specification defines. Attribute values are flattened to Python values (arrays to lists,
key-value lists to dicts, bytes to base64 text).

Problems that concern one span are recorded on it (``problems``), never raised: no trace or span id, an
attribute value of an unknown type. A string value longer than :data:`MAX_ATTRIBUTE_CHARS` is cut there and the
cut is recorded in ``truncated`` (attribute -> original length); the span is kept.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

MAX_ATTRIBUTE_CHARS = 32_768
STATUS_ERROR = 2
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


class TraceDecodeError(ValueError):
    """A request or file that is not OTLP (malformed protobuf or JSON, or another shape)."""


@dataclass
class SpanEvent:
    """One span event: its name, time and attributes."""

    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass
class SpanRecord:
    """One span, decoded; ``ordinal`` is its position in the request or file (1-based)."""

    ordinal: int
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    events: list[SpanEvent] = field(default_factory=list)
    status_code: int = 0
    status_message: str = ""
    problems: list[tuple[str, str]] = field(default_factory=list)  # (attribute or field, reason)
    truncated: dict[str, int] = field(default_factory=dict)

    def attr(self, *names: str) -> Any:
        """The first of ``names`` present on the span, else on its resource (None when none is)."""
        for n in names:
            if n in self.attributes and self.attributes[n] not in (None, ""):
                return self.attributes[n]
        for n in names:
            if n in self.resource and self.resource[n] not in (None, ""):
                return self.resource[n]
        return None


class _Attrs:
    """Builds one attribute dict, recording truncations and unknown value types."""

    def __init__(self, span: SpanRecord | None) -> None:
        self.span = span

    def _cut(self, key: str, text: str) -> str:
        if len(text) > MAX_ATTRIBUTE_CHARS:
            if self.span is not None:
                self.span.truncated[key] = len(text)
            return text[:MAX_ATTRIBUTE_CHARS]
        return text

    def json_value(self, key: str, v: Any) -> Any:
        if not isinstance(v, dict) or not v:
            return None
        (kind, val), *_ = v.items()
        if kind == "stringValue":
            return self._cut(key, str(val))
        if kind == "boolValue":
            return bool(val)
        if kind == "intValue":
            return int(val)
        if kind == "doubleValue":
            return float(val)
        if kind == "bytesValue":
            return str(val)
        if kind == "arrayValue":
            return [self.json_value(key, x) for x in (val or {}).get("values", [])]
        if kind == "kvlistValue":
            return {kv.get("key", ""): self.json_value(key, kv.get("value")) for kv in (val or {}).get("values", [])}
        if self.span is not None:
            self.span.problems.append((key, f"attribute {key!r} has a value of unknown type {kind!r}"))
        return None

    def pb_value(self, key: str, v: AnyValue) -> Any:
        kind = v.WhichOneof("value")
        if kind is None:
            return None
        if kind == "string_value":
            return self._cut(key, v.string_value)
        if kind == "array_value":
            return [self.pb_value(key, x) for x in v.array_value.values]
        if kind == "kvlist_value":
            return {kv.key: self.pb_value(key, kv.value) for kv in v.kvlist_value.values}
        if kind == "bytes_value":
            return base64.b64encode(v.bytes_value).decode()
        return getattr(v, kind)

    def from_json(self, items: list[dict[str, Any]] | None) -> dict[str, Any]:
        return {kv.get("key", ""): self.json_value(kv.get("key", ""), kv.get("value")) for kv in items or []}

    def from_pb(self, items: Any) -> dict[str, Any]:
        return {kv.key: self.pb_value(kv.key, kv.value) for kv in items}


def _hex(value: Any) -> str:
    return value.lower() if isinstance(value, str) else ""


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _status(value: Any) -> int:
    if isinstance(value, str):
        return _STATUS_NAMES.get(value, _int(value))
    return _int(value)


def _check_ids(span: SpanRecord) -> None:
    if not span.trace_id.strip("0"):
        span.problems.insert(0, ("traceId", "span has no trace id"))
    if not span.span_id.strip("0"):
        span.problems.insert(0, ("spanId", "span has no span id"))


def spans_from_json(doc: Any) -> list[SpanRecord]:
    """The spans of an OTLP/JSON document (``resourceSpans`` or the older ``batches``)."""
    if not isinstance(doc, dict) or not ({"resourceSpans", "batches"} & doc.keys()):
        raise TraceDecodeError("not an OTLP/JSON trace document (no resourceSpans or batches)")
    out: list[SpanRecord] = []
    for rs in doc.get("resourceSpans", doc.get("batches")) or []:
        resource = _Attrs(None).from_json(((rs or {}).get("resource") or {}).get("attributes"))
        for ss in (rs or {}).get("scopeSpans", (rs or {}).get("instrumentationLibrarySpans")) or []:
            for s in (ss or {}).get("spans") or []:
                span = SpanRecord(ordinal=len(out) + 1, trace_id=_hex(s.get("traceId")), span_id=_hex(s.get("spanId")),
                                  parent_span_id=_hex(s.get("parentSpanId")), name=str(s.get("name", "")),
                                  start_ns=_int(s.get("startTimeUnixNano")), end_ns=_int(s.get("endTimeUnixNano")),
                                  attributes={}, resource=resource)
                attrs = _Attrs(span)
                span.attributes = attrs.from_json(s.get("attributes"))
                span.events = [SpanEvent(str(e.get("name", "")), _int(e.get("timeUnixNano")),
                                         attrs.from_json(e.get("attributes"))) for e in s.get("events") or []]
                status = s.get("status") or {}
                span.status_code, span.status_message = _status(status.get("code")), str(status.get("message") or "")
                _check_ids(span)
                out.append(span)
    return out


def spans_from_protobuf(body: bytes) -> list[SpanRecord]:
    """The spans of a protobuf ``ExportTraceServiceRequest``."""
    try:
        req = ExportTraceServiceRequest.FromString(body)
    except DecodeError as exc:
        raise TraceDecodeError(f"malformed protobuf ExportTraceServiceRequest: {exc}") from exc
    return spans_from_request(req)


def spans_from_request(req: ExportTraceServiceRequest) -> list[SpanRecord]:
    """The spans of a decoded ``ExportTraceServiceRequest`` (as the gRPC service receives it)."""
    out: list[SpanRecord] = []
    for rs in req.resource_spans:
        resource = _Attrs(None).from_pb(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                span = SpanRecord(ordinal=len(out) + 1, trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                                  parent_span_id=s.parent_span_id.hex(), name=s.name,
                                  start_ns=s.start_time_unix_nano, end_ns=s.end_time_unix_nano, attributes={},
                                  resource=resource, status_code=s.status.code, status_message=s.status.message)
                attrs = _Attrs(span)
                span.attributes = attrs.from_pb(s.attributes)
                span.events = [SpanEvent(e.name, e.time_unix_nano, attrs.from_pb(e.attributes)) for e in s.events]
                _check_ids(span)
                out.append(span)
    return out


def decode_body(body: bytes, content_type: str, content_encoding: str = "") -> list[SpanRecord]:
    """Spans of an OTLP/HTTP request body (``application/x-protobuf`` or ``application/json``, gzip or not)."""
    if content_encoding.lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise TraceDecodeError(f"body is not valid gzip: {exc}") from exc
    if "json" in content_type.lower():
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise TraceDecodeError(f"malformed JSON: {exc}") from exc
        return spans_from_json(doc)
    return spans_from_protobuf(body)
