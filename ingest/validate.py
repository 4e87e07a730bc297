"""Validation and quarantine of telemetry CSVs (the real files unchanged, or the synthetic replica).

Cells are read as strings first (Arrow's streaming CSV reader, :mod:`ingest.csvread`), then checked column by
column with vectorised Arrow compute rules (:mod:`ingest.checks`); good rows come out as typed Arrow tables.

File-level problems refuse the whole file with an :class:`IngestError` naming the file, row and column: missing
file, empty file (no header), duplicate or missing required column, unparseable CSV (an unterminated quote).
Unknown extra columns are reported in ``warnings`` and dropped.

Row-level problems reject the row (one reject record per row: its first problem, plus a count of the others):
bytes that are not UTF-8, a cell longer than :data:`MAX_CELL_CHARS` (100,000) characters, a malformed CSV row
(wrong number of fields), missing values in non-nullable columns, malformed int / float / bool / timestamp,
unknown categorical level, malformed id / hash / tools pattern, out-of-range numbers, region not matching
country_code, duplicate primary key (or unique column; the first occurrence is kept), and an unknown foreign key
(for example an interaction whose session is not in the sessions table). Referential checks apply only to tables
present: :func:`validate_dir` validates parents first and passes their keys to children; a missing parent only
adds a warning. Keys are compared through 64-bit hashes (``pandas.util.hash_array``) to bound memory.

Rejected rows: a DataFrame with columns ``file``, ``row`` (1-based record number in the file; the header is row
1, so the first data row is row 2; equal to the line number unless quoted cells span lines), ``column``,
``reason`` and ``raw`` (the raw row as JSON, ASCII-escaped, cells cut to 1,000 characters). Text cells starting
with ``=``, ``+``, ``-``, ``@`` (or tab / carriage return) are stored verbatim as inert text; when rejects are
written with :func:`write_rejects` every such cell is prefixed with a single quote. Invariant per table:
``rows_read == rows_loaded + rows_rejected``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.checks import cell_lengths, check_column, mask, undecodable
from ingest.csvread import CsvStream
from ingest.formulas import FAILURE_FLAGS, REGION_BY_COUNTRY
from ingest.results import (
    INJECTION_PREFIXES,
    REJECT_COLUMNS,
    IngestError,
    ValidationResult,
    inert,
    write_rejects,
)
from ingest.schema import LOAD_ORDER, TABLES, TableSpec

__all__ = [
    "CHUNK_ROWS", "INJECTION_PREFIXES", "MAX_CELL_CHARS", "REJECT_COLUMNS", "IngestError", "ValidationResult",
    "inert", "validate_dir", "validate_table", "write_rejects",
]  # fmt: skip

MAX_CELL_CHARS = 100_000
RAW_CELL_CHARS = 1_000
CHUNK_ROWS = 50_000
_CONSISTENCY_INPUTS = frozenset(
    {
        "total_tokens",
        "prompt_tokens",
        "completion_tokens",
        "is_failure",
        "failure_type",
        "user_feedback_observed",
        "user_feedback_score",
        *FAILURE_FLAGS,
    }
)
_REGION_PAIRS = (("country_code", "region"), ("dominant_country_code", "dominant_region"))


def _hash(values: pa.Array) -> np.ndarray:
    """64-bit hashes of string cells (as bytes, so cells that are not UTF-8 hash too)."""
    return pd.util.hash_array(np.asarray(values.cast(pa.binary()).to_numpy(zero_copy_only=False), dtype=object))


def _member(sorted_hashes: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Which of ``h`` are in ``sorted_hashes`` (binary search; ``np.isin`` re-hashes the large side each call)."""
    if sorted_hashes.size == 0:
        return np.zeros(h.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_hashes, h), sorted_hashes.size - 1)
    return sorted_hashes[at] == h


def _cells(values: pa.Array) -> list[str]:
    """Python strings of raw cells (bytes that are not UTF-8 kept as surrogate escapes)."""
    return [b.decode("utf-8", "surrogateescape") for b in values.cast(pa.binary()).to_pylist()]


def _header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8", errors="surrogateescape", newline="") as fh:
        first = next(csv.reader(fh), None)
    if not first or all(not c.strip() for c in first):
        raise IngestError("file is empty (no header row)", file=path.name, row=1)
    first[0] = first[0].lstrip("\ufeff")
    return first


def _short(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _raw_json(record: dict[str, Any]) -> str:
    cut = {
        k: (v if len(str(v)) <= RAW_CELL_CHARS else str(v)[:RAW_CELL_CHARS] + f"...[{len(str(v))} chars]")
        for k, v in record.items()
    }
    return json.dumps(cut, ensure_ascii=True)


class _Problems:
    """First problem per row (column, reason) and how many more there were."""

    def __init__(self, n: int) -> None:
        self.col = np.full(n, None, dtype=object)
        self.reason = np.full(n, None, dtype=object)
        self.more = np.zeros(n, dtype=np.int64)

    def add(self, mask: np.ndarray, column: str, reason: str) -> None:
        """Record a problem for the rows in ``mask`` (first problem per row wins)."""
        if not mask.any():
            return
        new = mask & (self.col == None)  # noqa: E711 - elementwise on an object array
        self.col[new], self.reason[new] = column, reason
        self.more += mask & ~new

    @property
    def valid(self) -> np.ndarray:
        """Rows without any problem so far."""
        return self.col == None  # noqa: E711


class _TableValidator:
    def __init__(
        self, spec: TableSpec, path: Path, parents: Mapping[str, ValidationResult], max_cell_chars: int
    ) -> None:
        self.spec, self.path, self.file, self.cap = spec, path, path.name, max_cell_chars
        self.result = ValidationResult(table=spec.name, path=path)
        empty = np.array([], dtype=np.uint64)
        self.seen: dict[str, np.ndarray] = {c: empty for c in (spec.primary_key, *spec.unique)}  # sorted hashes
        self.refs: dict[str, tuple[np.ndarray, str]] = {}
        for fk in spec.foreign_keys:
            parent = parents.get(fk.ref_table)
            if parent is None:
                self.result.warnings.append(
                    f"{self.file}: referential check {fk.column} -> {fk.ref_table} skipped "
                    f"({TABLES[fk.ref_table].file_name} not validated)"
                )
            else:
                self.refs[fk.column] = (parent.key_hashes, parent.path.name)
        self.consistency: dict[str, int] = {}
        self.reject_frames: list[pd.DataFrame] = []

    def check_chunk(self, chunk: pa.Table, start: int) -> tuple[pa.Table, pa.Table]:
        """The good rows of one chunk of raw strings (stream positions from ``start``), typed and as loaded
        (timestamps as their validated ISO 8601 text, which Postgres reads as is and Arrow formats slowly);
        rejects are recorded."""
        n = chunk.num_rows
        p = _Problems(n)
        raw: dict[str, pa.Array] = {}
        for c in chunk.column_names:
            col = chunk.column(c)
            raw[c] = col.chunk(0) if col.num_chunks == 1 else pa.concat_arrays(col.chunks)
            bad_bytes = undecodable(raw[c])
            if bad_bytes is not None:
                p.add(bad_bytes, c, "cell is not valid UTF-8 (undecodable bytes)")
                raw[c] = pc.if_else(pa.array(bad_bytes), "", raw[c])  # the row is rejected; checks see ""
            p.add(cell_lengths(raw[c]) > self.cap, c, f"cell too large: {{length}} characters (cap {self.cap})")
        typed: dict[str, pa.Array] = {}
        for col in self.spec.columns:
            typed[col.name], problems = check_column(col, raw[col.name])
            for m, reason in problems:
                p.add(m, col.name, reason)
        for country, region in _REGION_PAIRS:
            if country in raw and region in raw:
                keys = pa.array(list(REGION_BY_COUNTRY))
                expected = pc.take(pa.array(list(REGION_BY_COUNTRY.values())), pc.index_in(raw[country], keys))
                p.add(mask(pc.not_equal(expected, raw[region])), region, f"region {{value}} does not match {country}")
        for column, (ref_hashes, ref_file) in self.refs.items():
            p.add(~_member(ref_hashes, _hash(raw[column])), column, f"unknown {column} {{value}}: not in {ref_file}")
        hashes = {column: _hash(raw[column]) for column in self.seen}
        for column, seen in self.seen.items():
            h, vi = hashes[column], np.flatnonzero(p.valid)
            dup = np.zeros(n, dtype=bool)
            dup[vi] = _member(seen, h[vi]) | pd.Series(h[vi]).duplicated().to_numpy()
            label = "primary key" if column == self.spec.primary_key else "unique column"
            p.add(dup, column, f"duplicate {label} {column} {{value}}")
        valid = p.valid
        for column, seen in self.seen.items():  # two sorted runs: the stable sort merges them in linear time
            self.seen[column] = np.sort(np.concatenate([seen, np.sort(hashes[column][valid])]), kind="stable")
        self._record_rejects(raw, start, p, ~valid)
        self.result.rows_loaded += int(valid.sum())
        keep = pa.array(valid)
        good = pa.table({k: v.filter(keep) for k, v in typed.items()})
        if self.spec.name == "interactions":
            self._consistency(good.select([c for c in good.column_names if c in _CONSISTENCY_INPUTS]).to_pandas())
        load = good
        for i, col in enumerate(self.spec.columns):
            if col.dtype == "timestamp":
                load = load.set_column(i, col.name, raw[col.name].filter(keep))
        return good, load

    def _record_rejects(self, raw: dict[str, pa.Array], start: int, p: _Problems, bad: np.ndarray) -> None:
        idx = np.flatnonzero(bad)
        if idx.size == 0:
            return
        take = pa.array(idx)
        cells = {c: _cells(v.take(take)) for c, v in raw.items()}
        rows = []
        for j, i in enumerate(idx.tolist()):
            record = {c: values[j] for c, values in cells.items()}
            col = str(p.col[i])
            value = record.get(col, "")
            reason = str(p.reason[i]).replace("{value}", _short(value)).replace("{length}", str(len(value)))
            if p.more[i]:
                reason += f" (+{int(p.more[i])} more problem(s) in this row)"
            rows.append((self.file, start + i, col, reason, _raw_json(record)))
        self.reject_frames.append(pd.DataFrame(rows, columns=REJECT_COLUMNS))

    def _consistency(self, df: pd.DataFrame) -> None:
        if df.empty:
            return
        rules = {
            "total_tokens != prompt_tokens + completion_tokens":
                df["total_tokens"] != df["prompt_tokens"] + df["completion_tokens"],
            "is_failure disagrees with failure_type": df["is_failure"] != (df["failure_type"] != "none"),
            "failure flags are not one-hot copies of failure_type": pd.concat(
                [df[f] != (df["failure_type"] == t) for f, t in FAILURE_FLAGS.items()], axis=1).any(axis=1),
            "user_feedback_observed disagrees with user_feedback_score":
                df["user_feedback_observed"] != df["user_feedback_score"].notna(),
        }  # fmt: skip
        for text, hit in rules.items():
            self.consistency[text] = self.consistency.get(text, 0) + int(hit.sum())

    def finish(self, stream: CsvStream) -> ValidationResult:
        """Number the rejects by record, add the malformed rows, sort the rejects, keep the loaded keys."""
        frames = [f for f in self.reject_frames if not f.empty]
        for f in frames:
            f["row"] = stream.records(f["row"].to_numpy(dtype=np.int64))
        malformed = stream.malformed()
        if malformed:
            frames.append(pd.DataFrame([(self.file, record, "*", f"malformed CSV row: {msg}", "")
                                        for record, msg in malformed], columns=REJECT_COLUMNS))
        res = self.result
        res.rows_read += len(malformed)
        if frames:
            res.rejects = pd.concat(frames, ignore_index=True).sort_values("row", kind="mergesort")
            res.rejects = res.rejects.reset_index(drop=True)
        res.key_hashes = self.seen[self.spec.primary_key]
        for text, count in self.consistency.items():
            if count:
                res.warnings.append(f"{self.file}: {count} rows where {text}")
        return res


def validate_table(
    name: str,
    path: Path | str,
    *,
    parents: Mapping[str, ValidationResult] | None = None,
    keep_data: bool = True,
    on_chunk: Callable[[pa.Table], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> ValidationResult:
    """Validate one table's CSV (``name`` is a key of :data:`ingest.schema.TABLES`).

    ``parents`` holds already validated tables for the referential checks; ``on_chunk`` receives each chunk of
    good rows as an Arrow table ready for COPY (typed; timestamps as their validated text); ``keep_data=False``
    keeps only counts, rejects and key hashes (``data`` is the good rows as a DataFrame otherwise). Raises
    :class:`IngestError` when the whole file is refused.
    """
    spec = TABLES[name]
    path = Path(path)
    if not path.is_file():
        raise IngestError("file not found", file=str(path))
    header = _header(path)
    dup = next((c for c in header if header.count(c) > 1), None)
    if dup is not None:
        raise IngestError("duplicate column in header; the whole file is refused", file=path.name, row=1, column=dup)
    missing = [c for c in spec.column_names if c not in header]
    if missing:
        raise IngestError(
            f"required column {missing[0]!r} is missing; the whole file is refused (missing: {', '.join(missing)})",
            file=path.name,
            row=1,
            column=missing[0],
        )
    v = _TableValidator(spec, path, parents or {}, max_cell_chars)
    unknown = [c for c in header if c not in spec.column_names]
    if unknown:
        v.result.dropped_columns = unknown
        v.result.warnings.append(f"{path.name}: unknown column(s) {', '.join(unknown)} reported and dropped")
    stream = CsvStream(path, header, spec.column_names, chunk_rows)
    kept: list[pa.Table] = []
    for chunk in stream:
        good, load = v.check_chunk(chunk, v.result.rows_read)
        v.result.rows_read += chunk.num_rows
        if on_chunk is not None:
            on_chunk(load)
        if keep_data:
            kept.append(good)
    result = v.finish(stream)
    if keep_data:
        result.data = pa.concat_tables(kept).to_pandas() if kept else None
    return result


def validate_dir(
    directory: Path | str, *, keep_data: bool = True, chunk_rows: int = CHUNK_ROWS
) -> dict[str, ValidationResult]:
    """Validate every known telemetry file present in ``directory`` (parents first; see the module doc)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise IngestError("not a directory", file=str(directory))
    present = [n for n in LOAD_ORDER if (directory / TABLES[n].file_name).is_file()]
    if not present:
        names = ", ".join(TABLES[n].file_name for n in LOAD_ORDER)
        raise IngestError(f"no telemetry files found (expected any of {names})", file=str(directory))
    results: dict[str, ValidationResult] = {}
    for name in present:
        results[name] = validate_table(
            name, directory / TABLES[name].file_name, parents=results, keep_data=keep_data, chunk_rows=chunk_rows
        )
    return results
