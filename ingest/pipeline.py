"""`opsgraph data ingest`: validate, load, quarantine, features, artifacts, embeddings — with a summary.

Phases: (1) validate each file in dependency order and stream its good rows into Postgres (one transaction per
table, upsert by key); rejected rows go to the ``quarantine`` table and a rejects CSV with file, row, column and
reason; (2) features and artifacts (``etl_output`` parquet + CSV, ``rag_interactions.parquet``) read back from
the database in chunks, on a connection of their own as soon as ``interactions`` is committed (so while the tables
after it load); (3) embeddings, cached by content hash; (4) ``hnsw.ef_search`` tuned on a measured recall.
``seconds`` holds each phase's duration and the wall-clock ``total`` (phases 1 and 2 overlap).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb

from core.providers import embedder_spec
from core.settings import get_settings
from ingest.capabilities import DEFAULT_PROJECT, capabilities
from ingest.derive import derive_summaries
from ingest.discover import find_tables
from ingest.embed import EmbedStats, embed_interactions, tune_ef_search
from ingest.export import iter_table
from ingest.features import add_features, embedding_text, harmonise, rag_frame
from ingest.load import TableLoader, with_project, write_quarantine
from ingest.otlp.files import read_trace_file, trace_format
from ingest.otlp.store import store_spans
from ingest.schema import TABLES
from ingest.validate import ValidationResult, validate_table, write_rejects
from ingest.versions import bump_version

Reporter = Callable[[str, int, int | None], None]  # (phase, advance, total) -> progress display


@dataclass
class IngestSummary:
    """What an ingestion did: per table read / loaded / rejected, embeddings, time per phase, artifacts."""

    ingest_id: str
    source_dir: str
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    embeddings: dict[str, Any] = field(default_factory=dict)
    retrieval: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    project: str = DEFAULT_PROJECT
    summaries: dict[str, Any] = field(default_factory=dict)
    capabilities: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return self.__dict__.copy()


def _load_tables(
    conn: psycopg.Connection[DictRow], files: dict[str, Path], ingest_id: str, out: Path, report: Reporter | None,
    on_loaded: Callable[[str], None], project: str, mappings: dict[str, dict[str, str]],
) -> dict[str, dict[str, Any]]:
    results: dict[str, ValidationResult] = {}
    tables: dict[str, dict[str, Any]] = {}
    for name, path in files.items():
        checked = frozenset(fk.column for fk in TABLES[name].foreign_keys if fk.ref_table in results)
        with TableLoader(conn, TABLES[name], checked, add_parents=True) as loader:

            def on_chunk(chunk: pa.Table, _loader: TableLoader = loader, _name: str = name) -> None:
                _loader.add(with_project(chunk, project))
                if report:
                    report(f"load {_name}", len(chunk), None)

            res = validate_table(name, path, parents=results, keep_data=False, on_chunk=on_chunk,
                                 mapping=mappings.get(name))
            counts = loader.finish()
        on_loaded(name)  # committed
        results[name] = res
        n_quarantined = write_quarantine(conn, ingest_id, name, res.rejects, project)
        info = {
            **res.summary(),
            "inserted": counts.inserted,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "other_project": counts.other_project,
            "quarantined": n_quarantined,
            "placeholders": loader.placeholders,
        }
        if not res.rejects.empty:
            info["rejects_csv"] = str(write_rejects(res.rejects, out / f"rejects_{name}.csv"))
        tables[name] = info
    return tables


TEXT_COLUMNS = ["interaction_id", "session_id", "user_id", "timestamp_utc", "request_text", "response_text_snippet",
                "failure_type", "tools_used", "model_name"]


def _export(conn: psycopg.Connection[DictRow], out: Path, project: str) -> tuple[dict[str, str], pd.DataFrame]:
    """etl_output (features) as parquet + CSV, streamed from the database; also the text columns of every
    interaction (for embeddings and the RAG artifact)."""
    stats = conn.execute(
        "SELECT avg(cost_usd) AS mc, stddev_pop(cost_usd) AS sc, avg(total_tokens) AS mt, "
        "stddev_pop(total_tokens) AS st FROM interactions WHERE project = %s", (project,)
    ).fetchone()
    assert stats is not None
    parquet_path, csv_path = out / "etl_output.parquet", out / "etl_output.csv"
    writer: pq.ParquetWriter | None = None
    csv_writer: pacsv.CSVWriter | None = None
    texts: list[pd.DataFrame] = []
    local = not get_settings().database_url  # the embedded server writes the file itself
    for raw in iter_table(conn, TABLES["interactions"], "interaction_id", out, server_file=local, project=project):
        texts.append(raw[TEXT_COLUMNS])
        chunk = add_features(harmonise(raw))
        for src, dst, mean, std in (
            ("cost_usd", "cost_z", stats["mc"], stats["sc"]),
            ("total_tokens", "tokens_z", stats["mt"], stats["st"]),
        ):
            if std:
                chunk[dst] = (chunk[src].astype(float) - float(mean)) / float(std)
            else:  # a constant column scores 0; an unknown one (no values) stays unknown
                chunk[dst] = 0.0 if mean is not None else float("nan")
        table = pa.Table.from_pandas(chunk, preserve_index=False)
        writer = writer or pq.ParquetWriter(parquet_path, table.schema)
        table = table.cast(writer.schema)
        writer.write_table(table)
        csv_writer = csv_writer or pacsv.CSVWriter(csv_path, table.schema)
        csv_writer.write_table(table)
    for w in (writer, csv_writer):
        if w is not None:
            w.close()
    frame = pd.concat(texts, ignore_index=True) if texts else pd.DataFrame(columns=TEXT_COLUMNS)
    return {"etl_output_parquet": str(parquet_path), "etl_output_csv": str(csv_path)}, frame


def _timed_export(
    conn: psycopg.Connection[DictRow], out: Path, project: str
) -> tuple[dict[str, str], pd.DataFrame, float]:
    """:func:`_export` on a connection of its own (it runs while the next table loads), with its duration."""
    t0 = time.perf_counter()
    with psycopg.connect(conn.info.dsn, password=conn.info.password, autocommit=True, row_factory=dict_row) as own:
        exported, frame = _export(own, out, project)
    return exported, frame, time.perf_counter() - t0


def _rag_artifact(conn: psycopg.Connection[DictRow], frame: pd.DataFrame, out: Path, with_vectors: bool) -> str:
    rag = rag_frame(frame)
    if with_vectors:
        from pgvector.psycopg import register_vector

        register_vector(conn)
        vecs = {
            r["interaction_id"]: r["embedding"].tolist()
            for r in conn.execute("SELECT interaction_id, embedding FROM log_embeddings")
        }
        rag["embedding"] = [vecs.get(i) for i in rag["interaction_id"]]
    path = out / "rag_interactions.parquet"
    rag.to_parquet(path, index=False)
    return str(path)


def ingest_dir(
    conn: psycopg.Connection[DictRow],
    directory: Path,
    embed: bool = True,
    report: Reporter | None = None,
    out_dir: Path | None = None,
    project: str = DEFAULT_PROJECT,
    mappings: dict[str, dict[str, str]] | None = None,
) -> IngestSummary:
    """Ingest the telemetry files in ``directory`` (or one interactions file) into ``project``; see the module
    docstring. ``mappings``: per table, canonical column -> source column."""
    ingest_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    out = out_dir or get_settings().artifacts_dir / "ingest" / ingest_id
    out.mkdir(parents=True, exist_ok=True)
    summary = IngestSummary(ingest_id=ingest_id, source_dir=str(directory), project=project)
    if trace_format(directory):
        return _ingest_traces(conn, directory, summary, embed, report, out)
    files = find_tables(directory)
    conn.execute("INSERT INTO ingest_runs (ingest_id, source_dir, project) VALUES (%s, %s, %s)",
                 (ingest_id, str(directory), project))
    status = "failed"
    t0 = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            export: list[Future[tuple[dict[str, str], pd.DataFrame, float]]] = []

            def on_loaded(name: str) -> None:  # the export overlaps the loads that follow interactions
                if name == "interactions":
                    export.append(pool.submit(_timed_export, conn, out, project))

            summary.tables = _load_tables(conn, files, ingest_id, out, report, on_loaded, project, mappings or {})
            summary.seconds["validate_load"] = round(time.perf_counter() - t0, 2)
            if _needs_derivation(files, summary.tables):
                t1 = time.perf_counter()
                summary.summaries = derive_summaries(conn, project)
                summary.seconds["derive_summaries"] = round(time.perf_counter() - t1, 2)
            exported, frame, seconds = export[0].result() if export else ({}, pd.DataFrame(), 0.0)
        if any(t.get("inserted") or t.get("updated") for t in summary.tables.values()):
            bump_version(conn, project)
        summary.capabilities = [c.model_dump() for c in capabilities(conn, project)]
        if export:
            summary.artifacts.update(exported)
            summary.seconds["features_artifacts"] = round(seconds, 2)
            t2 = time.perf_counter()
            texts = _texts(frame)
            if embed and len(texts):
                spec = embedder_spec()
                stats = embed_interactions(
                    conn,
                    texts,
                    spec,
                    batch_size=get_settings().embed_batch_size,
                    progress=(lambda n: report("embed", n, len(texts))) if report else None,
                )
                summary.embeddings = {"embedder": spec.name, "dim": spec.dim, **stats.__dict__}
                summary.retrieval = tune_ef_search(conn, spec.name) if stats.embedded else {"tuned": "unchanged"}
                if stats.embedded:
                    bump_version(conn, project)
                summary.seconds["embeddings"] = round(time.perf_counter() - t2, 2)
            else:
                reason = "no interaction has text" if embed else "skipped"
                summary.embeddings = {**EmbedStats().__dict__, "skipped": True, "reason": reason}
            summary.artifacts["rag_interactions"] = _rag_artifact(conn, frame, out, with_vectors=embed)
        status = "done"
    finally:
        summary.seconds["total"] = round(time.perf_counter() - t0, 2)
        conn.execute(
            "UPDATE ingest_runs SET finished_at = now(), status = %s, summary = %s WHERE ingest_id = %s",
            (status, Jsonb(summary.to_dict()), ingest_id),
        )
    return summary


def _ingest_traces(conn: psycopg.Connection[DictRow], path: Path, summary: IngestSummary, embed: bool,
                   report: Reporter | None, out: Path) -> IngestSummary:
    """A trace file (OTLP/JSON, OTLP protobuf, Jaeger JSON) as one batch; then its texts embedded."""
    t0 = time.perf_counter()
    spans = read_trace_file(path)
    conn.execute("INSERT INTO ingest_runs (ingest_id, source_dir, project) VALUES (%s, %s, %s)",
                 (summary.ingest_id, str(path), summary.project))
    status = "failed"
    try:
        batch = store_spans(conn, spans, project=summary.project, source=path.name, ingest_id=summary.ingest_id)
        summary.tables["interactions"] = {"file": path.name, "format": trace_format(path), **batch.to_dict(),
                                          "rows_read": batch.spans - batch.ignored - batch.tool_spans,
                                          "rows_loaded": batch.interactions, "rows_rejected": batch.rejected}
        summary.seconds["validate_load"] = round(time.perf_counter() - t0, 2)
        summary.capabilities = [c.model_dump() for c in capabilities(conn, summary.project)]
        if embed:
            summary.embeddings = embed_pending(conn, summary.project, report)
        status = "done"
    finally:
        summary.seconds["total"] = round(time.perf_counter() - t0, 2)
        conn.execute("UPDATE ingest_runs SET finished_at = now(), status = %s, summary = %s WHERE ingest_id = %s",
                     (status, Jsonb(summary.to_dict()), summary.ingest_id))
    return summary


def embed_pending(conn: psycopg.Connection[DictRow], project: str, report: Reporter | None = None) -> dict[str, Any]:
    """Embed the project's interactions that have text and no vector yet (cached by content hash)."""
    rows = conn.execute(
        "SELECT i.interaction_id, i.session_id, i.user_id, i.timestamp_utc, i.request_text, i.response_text_snippet, "
        "i.failure_type, i.tools_used, i.model_name FROM interactions i LEFT JOIN log_embeddings e USING "
        "(interaction_id) WHERE i.project = %s AND e.interaction_id IS NULL", (project,)).fetchall()
    texts = _texts(pd.DataFrame(rows, columns=TEXT_COLUMNS))
    if not len(texts):
        return {**EmbedStats().__dict__, "skipped": True, "reason": "nothing to embed"}
    spec = embedder_spec()
    stats = embed_interactions(conn, texts, spec, batch_size=get_settings().embed_batch_size,
                               progress=(lambda n: report("embed", n, len(texts))) if report else None)
    if stats.embedded:
        bump_version(conn, project)
    return {"embedder": spec.name, "dim": spec.dim, **stats.__dict__}


def _texts(frame: pd.DataFrame) -> pd.Series:
    """The embedding text of each interaction that has a prompt or a completion (the others are not embedded)."""
    if frame.empty:
        return pd.Series([], dtype="str")
    has_text = (frame["request_text"].fillna("").astype(str).str.strip() != "") | (
        frame["response_text_snippet"].fillna("").astype(str).str.strip() != "")
    rows = frame[has_text.to_numpy()]
    return pd.Series(embedding_text(harmonise(rows)).to_numpy(), index=rows["interaction_id"])


def _needs_derivation(files: dict[str, Path], tables: dict[str, dict[str, Any]]) -> bool:
    """Summaries are derived when a summary file is absent, lacks columns, or placeholders were made."""
    if "interactions" not in files:
        return False
    return any(n not in files or (n in tables and tables[n]["missing_columns"]) for n in ("sessions", "users")) or any(
        t.get("placeholders") for t in tables.values())
