"""Ingestion into the real embedded Postgres: counts, quarantine, idempotence, embeddings cache, artifacts."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.bootstrap import open_database
from ingest.generator import generate
from ingest.pipeline import ingest_dir
from ingest.schema import TABLES

pytestmark = pytest.mark.integration
REFERENCE = Path(__file__).resolve().parents[2] / "ingest" / "reference"


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "s"
    generate(600, 7, out)
    return out


def _counts(conn) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {t: conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in TABLES}


def test_ingest_twice_changes_nothing_and_embeds_nothing_new(fresh_database: str, small_sample: Path,
                                                             tmp_path: Path) -> None:
    db = open_database()
    first = ingest_dir(db.conn, small_sample, embed=True, out_dir=tmp_path / "a")
    for t in first.tables.values():
        assert t["rows_read"] == t["rows_loaded"] + t["rows_rejected"]
        assert t["rows_rejected"] == 0 and t["inserted"] == t["rows_loaded"]
    assert first.embeddings["embedded"] == 600 and first.embeddings["cached"] == 0
    assert 0.9 <= first.retrieval["recall_at_10"] <= 1.0
    counts = _counts(db.conn)
    assert counts["interactions"] == 600 and counts["sft_samples"] == 600
    second = ingest_dir(db.conn, small_sample, embed=True, out_dir=tmp_path / "b")
    assert second.embeddings == {**second.embeddings, "embedded": 0, "cached": 600}
    assert all(t["inserted"] == 0 and t["updated"] == 0 for t in second.tables.values())
    assert _counts(db.conn) == counts
    etl = pd.read_parquet(first.artifacts["etl_output_parquet"])
    assert {"prompt_text", "completion_text", "latency_per_token", "cost_z"} <= set(etl.columns)
    assert not [c for c in etl.columns if c.endswith(("_x", "_y"))]
    assert (etl["latency_per_token"] - etl["latency_ms"] / etl["total_tokens"]).abs().max() < 1e-9
    rag = pd.read_parquet(first.artifacts["rag_interactions"])
    assert len(rag) == 600 and len(rag["embedding"].iloc[0]) == 384


def test_bad_rows_are_quarantined_and_good_rows_load(fresh_database: str, small_sample: Path,
                                                     tmp_path: Path) -> None:
    src = tmp_path / "bad"
    shutil.copytree(small_sample, src)
    path = src / TABLES["interactions"].file_name
    rows = list(csv.reader(path.open(encoding="utf-8")))
    header = rows[0]
    rows[3][header.index("latency_ms")] = "-5"                      # file row 4
    rows[5][header.index("timestamp_utc")] = "2025-13-45T99:00:00Z"  # file row 6
    rows[8][header.index("session_id")] = "S99999"                   # file row 9: unknown session
    rows[10][header.index("request_text")] = "=HYPERLINK(\"x\")"      # inert text, loads
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    db = open_database()
    summary = ingest_dir(db.conn, src, embed=False, out_dir=tmp_path / "out")
    t = summary.tables["interactions"]
    assert (t["rows_read"], t["rows_rejected"], t["rows_loaded"]) == (600, 3, 597)
    q = db.conn.execute("SELECT file, row_number, column_name, reason FROM quarantine WHERE ingest_id = %s "
                        "AND table_name = 'interactions' ORDER BY row_number", (summary.ingest_id,)).fetchall()
    assert [(r["row_number"], r["column_name"]) for r in q] == [(4, "latency_ms"), (6, "timestamp_utc"),
                                                                 (9, "session_id")]
    assert all(r["file"] == TABLES["interactions"].file_name for r in q)
    sft = summary.tables["sft_samples"]  # their SFT samples point at rejected interactions: quarantined too
    assert (sft["rows_rejected"], sft["rows_loaded"]) == (3, 597)
    rejects = pd.read_csv(t["rejects_csv"])
    assert sorted(rejects["row"]) == [4, 6, 9]
    stored = db.conn.execute("SELECT request_text FROM interactions WHERE interaction_id = %s",
                             (rows[10][0],)).fetchone()
    assert stored["request_text"] == "=HYPERLINK(\"x\")"  # stored verbatim as text, never evaluated


def test_real_reference_files_load_with_zero_rejects(fresh_database: str, tmp_path: Path) -> None:
    db = open_database()
    summary = ingest_dir(db.conn, REFERENCE, embed=False, out_dir=tmp_path)
    assert set(summary.tables) == {"users", "sessions", "prompts"}
    assert {n: t["rows_rejected"] for n, t in summary.tables.items()} == {"users": 0, "sessions": 0, "prompts": 0}
    assert _counts(db.conn)["sessions"] == 1595 and _counts(db.conn)["users"] == 438
