"""Validator: real files pass, bad input is rejected row by row (or the file refused) with file/row/column."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from ingest.compare import reference_dir
from ingest.generator import generate
from ingest.schema import TABLES
from ingest.validate import IngestError, ValidationResult, validate_dir, validate_table, write_rejects

INTER = TABLES["interactions"].file_name
SESS = TABLES["sessions"].file_name
USERS = TABLES["users"].file_name


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("valid")
    generate(600, 5, out)
    return out


@pytest.fixture
def work(dataset: Path, tmp_path: Path) -> Path:
    """A private copy of the generated data set to corrupt."""
    for f in dataset.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _set(path: Path, row: int, column: str, value: str) -> None:
    """Set a cell; ``row`` is the file's record number (header = 1)."""
    rows = _rows(path)
    rows[row - 1][rows[0].index(column)] = value
    _write(path, rows)


def _invariant(res: ValidationResult) -> None:
    assert res.rows_read == res.rows_loaded + res.rows_rejected
    assert list(res.rejects.columns) == ["file", "row", "column", "reason", "raw"]
    assert res.rejects["row"].is_unique


def _only_reject(res: ValidationResult, row: int, column: str, words: str) -> pd.Series:
    _invariant(res)
    assert res.rows_rejected == 1, res.rejects
    rec = res.rejects.iloc[0]
    assert rec["file"] == res.path.name and rec["row"] == row and rec["column"] == column
    assert words in rec["reason"], rec["reason"]
    err = res.errors()[0]
    assert err.file == res.path.name and err.row == row and err.column == column
    assert res.path.name in str(err) and f"row {row}" in str(err) and column in str(err)
    assert res.rows_loaded == res.rows_read - 1 > 0
    return rec


@pytest.mark.parametrize("folder", ["packaged", "shared"])
def test_real_reference_files_pass(folder: str) -> None:
    src = (
        reference_dir()
        if folder == "packaged"
        else Path(__file__).resolve().parents[3] / "shared/reference/llm_system_ops"
    )
    if not src.is_dir():
        pytest.skip("shared reference folder not present")
    results = validate_dir(src)
    assert set(results) == {"users", "sessions", "prompts"}
    expected = {"users": 438, "sessions": 1595, "prompts": 36}
    for name, res in results.items():
        _invariant(res)
        assert res.rows_rejected == 0 and res.rows_loaded == expected[name] and not res.warnings, res.summary()
        assert res.data is not None and list(res.data.columns) == TABLES[name].column_names
    assert results["sessions"].data is not None
    assert results["sessions"].data["csat_mean"].isna().sum() == 63


def test_tables_alone_and_partial_references(dataset: Path) -> None:
    ref = reference_dir()
    sessions = validate_table("sessions", ref / SESS)  # no users given: check skipped with a warning
    assert sessions.ok and any("skipped" in w for w in sessions.warnings)
    users = validate_table("users", ref / USERS)
    assert validate_table("sessions", ref / SESS, parents={"users": users}).warnings == []
    alone = validate_table("interactions", dataset / INTER)
    assert alone.ok and len(alone.warnings) == 3


def test_generated_dataset_passes(dataset: Path) -> None:
    results = validate_dir(dataset)
    assert list(results) == ["users", "sessions", "prompts", "interactions", "sft_samples"]
    for res in results.values():
        _invariant(res)
        assert res.ok and not res.warnings, res.summary()
    data = results["interactions"].data
    assert data is not None and len(data) == 600
    assert str(data["timestamp_utc"].dtype).startswith("datetime64") and data["is_failure"].dtype == bool
    assert data["user_feedback_score"].isna().any() and data["latency_ms"].dtype == "int64"


def test_missing_summary_column_loads_and_is_reported(work: Path) -> None:
    rows = _rows(work / SESS)
    k = rows[0].index("failure_rate")
    _write(work / SESS, [r[:k] + r[k + 1 :] for r in rows])
    res = validate_table("sessions", work / SESS)
    assert res.ok and res.missing_columns == ["failure_rate"] and res.rows_loaded == res.rows_read > 0
    assert res.data is not None and "failure_rate" not in res.data.columns


def test_missing_contract_column_refuses_the_file(work: Path) -> None:
    rows = _rows(work / INTER)
    k = rows[0].index("session_id")
    _write(work / INTER, [r[:k] + r[k + 1 :] for r in rows])
    with pytest.raises(IngestError) as exc:
        validate_table("interactions", work / INTER)
    assert exc.value.file == INTER and exc.value.column == "session_id" and exc.value.row == 1
    assert INTER in str(exc.value) and "refused" in str(exc.value) and "--map" in str(exc.value)
    with pytest.raises(IngestError, match="session_id"):
        validate_dir(work)


def test_empty_file_and_header_only(work: Path) -> None:
    (work / USERS).write_bytes(b"")
    with pytest.raises(IngestError, match="empty") as exc:
        validate_table("users", work / USERS)
    assert exc.value.file == USERS and exc.value.row == 1
    header = ",".join(TABLES["users"].column_names) + "\n"
    (work / USERS).write_text(header)
    res = validate_table("users", work / USERS)
    assert res.rows_read == res.rows_loaded == res.rows_rejected == 0


def test_unknown_level_loads_and_is_reported(work: Path) -> None:
    _set(work / INTER, 4, "channel", "fax")
    res = validate_table("interactions", work / INTER)
    assert res.ok and res.new_levels == {"channel": {"fax": 1}}
    assert any("channel" in w and "'fax' (1 rows)" in w for w in res.warnings)
    assert res.data is not None and (res.data["channel"] == "fax").sum() == 1


def test_failure_flags_contradicting_failure_type_are_quarantined(work: Path) -> None:
    rows = _rows(work / INTER)
    ft = rows[0].index("failure_type")
    row = next(i for i, r in enumerate(rows) if i and r[ft] == "none") + 1
    _set(work / INTER, row, "hallucination_flag", "True")
    _only_reject(validate_table("interactions", work / INTER), row, "hallucination_flag", "contradicts failure_type")


def test_negative_latency(work: Path) -> None:
    _set(work / INTER, 3, "latency_ms", "-5")
    _only_reject(validate_table("interactions", work / INTER), 3, "latency_ms", "out of range")


def test_malformed_timestamp(work: Path) -> None:
    _set(work / INTER, 10, "timestamp_utc", "2025-02-30T10:00:00Z")
    _only_reject(validate_table("interactions", work / INTER), 10, "timestamp_utc", "malformed timestamp")


def test_duplicate_interaction_id(work: Path) -> None:
    rows = _rows(work / INTER)
    rows.append(list(rows[5]))  # record 6 duplicated as the last record
    _write(work / INTER, rows)
    res = validate_table("interactions", work / INTER)
    _only_reject(res, len(rows), "interaction_id", "duplicate primary key")
    small = validate_table("interactions", work / INTER, chunk_rows=50)  # across chunks too
    assert small.rows_rejected == 1 and small.rejects.iloc[0]["row"] == len(rows)


def test_interaction_with_unknown_session(work: Path) -> None:
    _set(work / INTER, 7, "session_id", "S99999")
    res = validate_dir(work)
    rec = _only_reject(res["interactions"], 7, "session_id", "not in " + SESS)
    assert "S99999" in rec["reason"]
    # its SFT sample now points at an interaction that was not loaded
    assert res["sft_samples"].rows_rejected == 1 and res["sft_samples"].rejects.iloc[0]["column"] == "interaction_id"


def test_non_utf8_bytes(work: Path) -> None:
    raw = (work / INTER).read_bytes().split(b"\n")
    raw[4] = raw[4].replace(b"INT000004,", b"INT000004,\xff\xfe", 1)  # record 5, second column
    (work / INTER).write_bytes(b"\n".join(raw))
    rec = _only_reject(validate_table("interactions", work / INTER), 5, "session_id", "not valid UTF-8")
    json.loads(rec["raw"])  # still valid JSON (escaped)


def test_one_megabyte_text_cell(work: Path) -> None:
    _set(work / INTER, 2, "request_text", "x" * 1_000_000)
    rec = _only_reject(validate_table("interactions", work / INTER), 2, "request_text", "too large")
    assert "1000000" in rec["reason"] and len(rec["raw"]) < 20_000


def test_formula_like_cells_are_inert(work: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    _set(work / INTER, 2, "request_text", '=HYPERLINK("http://evil.example","x")')
    _set(work / INTER, 3, "request_text", "@SUM(A1)")
    _set(work / INTER, 3, "latency_ms", "-5")  # also rejected: the row lands in the rejects file
    res = validate_table("interactions", work / INTER)
    _only_reject(res, 3, "latency_ms", "out of range")
    assert res.data is not None
    assert res.data.loc[0, "request_text"] == '=HYPERLINK("http://evil.example","x")'  # verbatim
    out = write_rejects(res.rejects.assign(column="=cmd|' /C calc'!A0"), tmp_path_factory.mktemp("r") / "r.csv")
    back = pd.read_csv(out)
    assert back.loc[0, "column"] == "'=cmd|' /C calc'!A0" and back.loc[0, "file"] == INTER
    assert json.loads(back.loc[0, "raw"])["request_text"] == "@SUM(A1)"


def test_malformed_rows_keep_row_numbers(work: Path) -> None:
    rows = _rows(work / INTER)
    k = rows[0].index("request_text")
    rows[2][k] = "line one\nline two"  # record 3 spans two physical lines
    rows[4] = rows[4] + ["surplus"]  # record 5 has too many fields
    r = rows[0].index("region")
    rows[119][r] = "APAC" if rows[119][r] != "APAC" else "EMEA"  # record 120, in the third chunk
    _write(work / INTER, rows)
    res = validate_table("interactions", work / INTER, chunk_rows=50)
    _invariant(res)
    assert res.rejects["row"].tolist() == [5, 120]
    assert res.rejects.iloc[0]["reason"].startswith("malformed CSV row")
    assert res.rejects.iloc[1]["column"] == "region" and "country_code" in res.rejects.iloc[1]["reason"]
    assert res.data is not None and res.data.loc[1, "request_text"] == "line one\nline two"


def test_unknown_columns_are_kept_as_extra(work: Path) -> None:
    rows = _rows(work / USERS)
    _write(work / USERS, [[*r, "debug_note" if i == 0 else f"x{i}"] for i, r in enumerate(rows)])
    chunks: list[pa.Table] = []
    res = validate_table("users", work / USERS, on_chunk=chunks.append)
    assert res.ok and res.extra_columns == ["debug_note"] and "debug_note" in res.warnings[-1]
    assert json.loads(chunks[0].column("extra")[0].as_py()) == {"debug_note": "x1"}
    assert res.data is not None and list(res.data.columns) == TABLES["users"].column_names


def test_raise_for_rejects_and_streaming(work: Path) -> None:
    _set(work / INTER, 6, "temperature", "hot")
    chunks: list[pd.DataFrame] = []
    res = validate_table("interactions", work / INTER, keep_data=False, on_chunk=chunks.append, chunk_rows=100)
    assert res.data is None and sum(map(len, chunks)) == res.rows_loaded == 599
    with pytest.raises(IngestError) as exc:
        res.raise_for_rejects()
    assert (exc.value.file, exc.value.row, exc.value.column) == (INTER, 6, "temperature")
    assert "1 of 600 rows rejected" in str(exc.value)


def test_unparseable_csv_is_refused(work: Path) -> None:
    with (work / SESS).open("a", encoding="utf-8") as fh:
        fh.write('S99998,"unterminated,quote\n')
    with pytest.raises(IngestError) as exc:
        validate_table("sessions", work / SESS)
    assert exc.value.file == SESS and exc.value.row is not None and "unparseable" in str(exc.value)
