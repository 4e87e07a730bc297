"""Spans from a Jaeger JSON export (the trace download of Jaeger's UI, or its ``/api/traces`` answer).

Shape: ``{"data": [{"traceID", "spans": [...], "processes": {...}}]}``. Times are microseconds since the epoch
(``startTime``) and a duration; tags are ``{key, type, value}``; logs become span events (the ``event`` field
names them). The span status comes from the ``otel.status_code`` / ``otel.status_description`` tags, or from
``error = true``. The process tags and ``serviceName`` are the resource.
"""

from __future__ import annotations

from typing import Any

from ingest.otlp.spans import MAX_ATTRIBUTE_CHARS, STATUS_ERROR, SpanEvent, SpanRecord, TraceDecodeError, _check_ids

_TYPES = {"string": str, "bool": bool, "int64": int, "float64": float, "binary": str}


def _tags(span: SpanRecord | None, tags: list[dict[str, Any]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t in tags or []:
        key, kind, value = str(t.get("key", "")), str(t.get("type", "string")).lower(), t.get("value")
        cast = _TYPES.get(kind)
        if cast is None:
            if span is not None:
                span.problems.append((key, f"tag {key!r} has a value of unknown type {kind!r}"))
            continue
        if cast is bool and isinstance(value, str):
            out[key] = value.lower() == "true"
        elif cast is str and isinstance(value, str) and len(value) > MAX_ATTRIBUTE_CHARS:
            if span is not None:
                span.truncated[key] = len(value)
            out[key] = value[:MAX_ATTRIBUTE_CHARS]
        else:
            out[key] = cast(value) if value is not None else None
    return out


def spans_from_jaeger(doc: Any) -> list[SpanRecord]:
    """The spans of a Jaeger JSON export."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise TraceDecodeError("not a Jaeger JSON export (no data list)")
    out: list[SpanRecord] = []
    for trace in doc["data"]:
        processes = {pid: {**_tags(None, p.get("tags")), "service.name": p.get("serviceName")}
                     for pid, p in (trace.get("processes") or {}).items()}
        for s in trace.get("spans") or []:
            start_us, dur_us = int(s.get("startTime") or 0), int(s.get("duration") or 0)
            parent = next((r.get("spanID", "") for r in s.get("references") or [] if r.get("refType") == "CHILD_OF"),
                          "")
            span = SpanRecord(ordinal=len(out) + 1, trace_id=str(s.get("traceID") or "").lower().rjust(32, "0"),
                              span_id=str(s.get("spanID") or "").lower().rjust(16, "0"),
                              parent_span_id=str(parent).lower(), name=str(s.get("operationName", "")),
                              start_ns=start_us * 1000, end_ns=(start_us + dur_us) * 1000, attributes={},
                              resource=processes.get(s.get("processID"), {}))
            attrs = _tags(span, s.get("tags"))
            code = str(attrs.pop("otel.status_code", "")).upper()
            span.status_message = str(attrs.pop("otel.status_description", "") or "")
            span.status_code = STATUS_ERROR if code == "ERROR" or attrs.pop("error", False) is True else (
                1 if code == "OK" else 0)
            attrs.pop("span.kind", None)
            span.attributes = attrs
            for log in s.get("logs") or []:
                fields = _tags(span, log.get("fields"))
                span.events.append(SpanEvent(str(fields.pop("event", "log")), int(log.get("timestamp") or 0) * 1000,
                                             fields))
            _check_ids(span)
            out.append(span)
    return out
