"""Storing a batch of spans: map, validate, load and quarantine in one transaction.

A batch (one OTLP request, or one trace file) lands whole or not at all: its interactions, its placeholder
sessions and users and its quarantined spans commit together, with the derived summaries of the sessions it
touched (a file) or with those sessions flagged stale for the receiver's background derivation (a request).
The same span stored twice is one row; a later copy with other content replaces it and counts as updated.
Embeddings are not computed here (they are deferred to ``opsgraph data embed``), so the request path stays short.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
from psycopg.rows import DictRow

from ingest.derive import derive_summaries, mark_stale
from ingest.load import TableLoader, with_project, write_quarantine
from ingest.otlp.genai import MappedSpans, map_spans
from ingest.otlp.spans import SpanRecord
from ingest.results import REJECT_COLUMNS
from ingest.schema import TABLES
from ingest.validate import validate_rows
from ingest.versions import bump_version

RAW_CHARS = 2_000


@dataclass
class BatchResult:
    """What storing one batch did."""

    spans: int = 0
    interactions: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    other_project: int = 0
    rejected: int = 0
    ignored: int = 0
    tool_spans: int = 0
    truncated: int = 0
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return self.__dict__.copy()


def _raw(span: SpanRecord) -> str:
    doc = {"trace_id": span.trace_id, "span_id": span.span_id, "name": span.name, "start_ns": span.start_ns,
           "end_ns": span.end_ns, "attributes": span.attributes}
    text = json.dumps(doc, ensure_ascii=True, default=str)
    return text if len(text) <= RAW_CHARS else json.dumps({**doc, "attributes": f"[{len(text)} chars]"})


def _decode_rejects(spans: list[SpanRecord], source: str) -> pd.DataFrame:
    rows = [(source, s.ordinal, s.problems[0][0], f"span {s.span_id or '?'}: {s.problems[0][1]}"
             + (f" (+{len(s.problems) - 1} more)" if len(s.problems) > 1 else ""), _raw(s), s.span_id or None)
            for s in spans if s.problems]
    return pd.DataFrame(rows, columns=[*REJECT_COLUMNS, "record_id"])


def _other_projects(conn: psycopg.Connection[DictRow], mapped: MappedSpans, project: str,
                    source: str) -> pd.DataFrame:
    """Reject (and drop from ``mapped``) the spans whose id is already another project's interaction: a key only
    ever writes its own project's rows (the other project is not named)."""
    ids = [s.span_id for s in mapped.spans]
    taken = {r["interaction_id"] for r in conn.execute(
        "SELECT interaction_id FROM interactions WHERE interaction_id = ANY(%s) AND project <> %s", (ids, project))}
    if not taken:
        return pd.DataFrame(columns=[*REJECT_COLUMNS, "record_id"])
    out = [(source, s.ordinal, "spanId", f"span {s.span_id}: the span id already belongs to another project's "
            "interaction; not written", _raw(s), s.span_id) for s in mapped.spans if s.span_id in taken]
    keep = [i for i, s in enumerate(mapped.spans) if s.span_id not in taken]
    mapped.rows, mapped.spans = [mapped.rows[i] for i in keep], [mapped.spans[i] for i in keep]
    return pd.DataFrame(out, columns=[*REJECT_COLUMNS, "record_id"])


def store_spans(conn: psycopg.Connection[DictRow], spans: list[SpanRecord], *, project: str, source: str,
                ingest_id: str, derive: bool = True) -> BatchResult:
    """Store ``spans`` (one batch) into ``project``; see the module docstring. With ``derive=False`` the
    summaries of the sessions it touched are flagged stale instead of derived in the batch's transaction."""
    result = BatchResult(spans=len(spans), truncated=sum(1 for s in spans if s.truncated))
    bad = _decode_rejects(spans, source)
    mapped = map_spans([s for s in spans if not s.problems])
    result.ignored, result.tool_spans = mapped.ignored, mapped.tool_spans
    rejects = [bad, _other_projects(conn, mapped, project, source)]
    chunks: list[pa.Table] = []
    if mapped.rows:  # validated before the transaction: the table lock is held only for the database work
        table = pa.table({c: pa.array([r[c] for r in mapped.rows], pa.string()) for c in mapped.rows[0]})
        ordinals = np.array([s.ordinal for s in mapped.spans], dtype=np.int64)
        res = validate_rows("interactions", table, source=source, records=ordinals,
                            on_chunk=lambda c: chunks.append(with_project(c, project)))
        by_ordinal = {s.ordinal: s.span_id for s in mapped.spans}
        found = res.rejects.assign(record_id=res.rejects["row"].map(by_ordinal))
        found["reason"] = [f"span {sid}: {r}" for sid, r in zip(found["record_id"], found["reason"], strict=True)]
        rejects.append(found)
        result.interactions = res.rows_loaded
    with conn.transaction():
        if chunks:
            # other projects' ids were quarantined above; the upsert's project guard covers a race
            with TableLoader(conn, TABLES["interactions"], add_parents=True, count_other_projects=False) as loader:
                for chunk in chunks:
                    loader.add(chunk)
                counts = loader.finish()
            result.inserted, result.updated, result.unchanged = counts.inserted, counts.updated, counts.unchanged
            result.other_project = counts.other_project
            if counts.inserted or counts.updated:
                bump_version(conn, project)
            touched = sorted({r["session_id"] for r in mapped.rows})
            if derive:
                derive_summaries(conn, project, sessions=touched)
            else:
                mark_stale(conn, project, touched)
        frame = pd.concat([r for r in rejects if not r.empty], ignore_index=True) if any(
            not r.empty for r in rejects) else pd.DataFrame(columns=[*REJECT_COLUMNS, "record_id"])
        result.rejected = write_quarantine(conn, ingest_id, "interactions", frame, project)
        result.reasons = frame["reason"].head(20).tolist()
    return result
