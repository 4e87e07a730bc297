"""Trace files: which format a file is, and its spans.

``.json`` files holding ``resourceSpans`` / ``batches`` are OTLP/JSON exports (the OpenTelemetry Collector's
file exporter writes one request per line: JSON Lines of such documents are read too); a ``data`` list is a
Jaeger JSON export. ``.pb`` / ``.binpb`` files are one protobuf ``ExportTraceServiceRequest``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ingest.otlp.jaeger import spans_from_jaeger
from ingest.otlp.spans import SpanRecord, TraceDecodeError, spans_from_json, spans_from_protobuf
from ingest.results import IngestError

PROTOBUF_SUFFIXES = (".pb", ".binpb")


def trace_format(path: Path) -> str | None:
    """``otlp-json``, ``jaeger``, ``otlp-protobuf`` or None (not a trace file)."""
    if not path.is_file():
        return None
    if path.suffix.lower() in PROTOBUF_SUFFIXES:
        return "otlp-protobuf"
    if path.suffix.lower() not in (".json", ".jsonl", ".ndjson"):
        return None
    with path.open("rb") as fh:
        head = fh.read(4096).decode("utf-8", "replace")
    if '"resourceSpans"' in head or '"batches"' in head:
        return "otlp-json"
    if path.suffix.lower() == ".json" and '"data"' in head and '"spans"' in head:
        return "jaeger"
    return None


def read_trace_file(path: Path) -> list[SpanRecord]:
    """The spans of a trace file, numbered through the file; :class:`IngestError` names the file (and line)."""
    fmt = trace_format(path)
    try:
        if fmt == "otlp-protobuf":
            return spans_from_protobuf(path.read_bytes())
        text = path.read_text(encoding="utf-8")
        if fmt == "jaeger":
            return spans_from_jaeger(json.loads(text))
        try:
            docs = [json.loads(text)]
        except ValueError:  # the Collector's file exporter: one request per line
            docs = []
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    try:
                        docs.append(json.loads(line))
                    except ValueError as exc:
                        raise IngestError(f"malformed JSON: {exc}", file=path.name, row=number) from exc
    except (ValueError, TraceDecodeError) as exc:
        raise IngestError(str(exc) if isinstance(exc, TraceDecodeError) else f"malformed JSON: {exc}",
                          file=path.name) from exc
    spans: list[SpanRecord] = []
    for doc in docs:
        try:
            found = spans_from_json(doc)
        except TraceDecodeError as exc:
            raise IngestError(str(exc), file=path.name) from exc
        for s in found:
            s.ordinal = len(spans) + 1
            spans.append(s)
    return spans
