"""Any layout: Parquet and JSON Lines read like CSV, aliases and explicit mappings, timestamps of every form."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from ingest.mapping import parse_map_flags, resolve
from ingest.normalise import canonical_timestamps
from ingest.validate import IngestError, validate_table
from tests.fixtures.byo_telemetry import write_author_sample


def test_parquet_and_jsonl_load_like_csv(tmp_path: Path) -> None:
    paths = write_author_sample(tmp_path)
    frame = pd.read_csv(paths["interactions"])
    frame.to_parquet(tmp_path / "i.parquet", index=False)
    (tmp_path / "i.jsonl").write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")))
    results = {p: validate_table("interactions", tmp_path / p) for p in ("interactions.csv", "i.parquet", "i.jsonl")}
    for res in results.values():
        assert res.ok and res.rows_loaded == 240 and res.extra_columns == ["is_failure_was_missing"]
    data = [r.data for r in results.values()]
    assert all(d is not None for d in data)
    first = data[0]
    for other in data[1:]:
        assert other is not None and first is not None
        assert other["timestamp_utc"].equals(first["timestamp_utc"]) and other["is_failure"].equals(first["is_failure"])


def test_aliases_and_explicit_mappings() -> None:
    cmap = resolve("interactions", ["ID", "Conversation ID", "time", "question", "answer", "Model", "dur"],
                   {"latency_ms": "dur"})
    assert cmap.sources == {"latency_ms": "dur", "interaction_id": "ID", "session_id": "Conversation ID",
                            "timestamp_utc": "time", "request_text": "question",
                            "response_text_snippet": "answer", "model_name": "Model"}
    assert cmap.extras == []
    with pytest.raises(IngestError, match="no column 'nope'"):
        resolve("interactions", ["id"], {"latency_ms": "nope"}, file="f.csv")
    with pytest.raises(IngestError, match="not a column of interactions"):
        resolve("interactions", ["id"], {"latencyy": "id"}, file="f.csv")
    assert parse_map_flags(["request_text=q", "sessions.total_requests=n"]) == {
        "interactions": {"request_text": "q"}, "sessions": {"total_requests": "n"}}


def test_timestamps_of_every_form() -> None:
    raw = pa.array(["2025-02-01T09:00:00Z", "2025-02-01 10:00:00+01:00", "2025-02-01T09:00:00.123456-00:00",
                    "1738400400", "1738400400000", "2025-02-01T09:00:00", "yesterday", ""])
    assert canonical_timestamps(raw).to_pylist() == [
        "2025-02-01T09:00:00Z", "2025-02-01T09:00:00Z", "2025-02-01T09:00:00.123456Z", "2025-02-01T09:00:00Z",
        "2025-02-01T09:00:00Z", "2025-02-01T09:00:00Z", "yesterday", ""]
