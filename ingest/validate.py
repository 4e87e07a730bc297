"""Validation and quarantine of telemetry CSVs (the real files unchanged, or the synthetic replica).

Cells are read as strings first (Arrow's streaming CSV reader, :mod:`ingest.csvread`), then checked column by column
with vectorised Arrow compute rules (:mod:`ingest.checks`); good rows come out as typed Arrow tables.

Any layout loads (:mod:`ingest.mapping`, :mod:`ingest.normalise`): CSV, Parquet or JSON Lines; columns found under
their own names, a recognised alias or an explicit mapping; unknown extra columns kept in ``extra`` (reported in
``extra_columns``), never dropped. The exact layout of the real files is validated as declared in
:mod:`ingest.schema`; any other layout against the minimum contract (:data:`ingest.normalise.REQUIRED`), with every
other column it has optional (empty cells are nulls) and id patterns open.

File-level problems refuse the whole file with an :class:`IngestError` naming the file, row and column: missing
file, empty file (no header), duplicate column, a minimum-contract column missing, unparseable CSV (an unterminated
quote).

Row-level problems reject the row (one reject record per row: its first problem, plus a count of the others): bytes
that are not UTF-8, a cell longer than :data:`MAX_CELL_CHARS` (100,000) characters, a malformed CSV row (wrong
number of fields), missing values in non-nullable columns, malformed int / float / bool / timestamp, absurd
timestamps, malformed id / hash / tools pattern, out-of-range numbers, region not matching country_code, failure
flags or is_failure contradicting failure_type, duplicate primary key (or unique column; the first occurrence is
kept), and an unknown foreign key (for example an interaction whose session is not in the sessions table).
Categorical levels are open: a level the reference data does not have loads and is reported (``new_levels``).
Referential checks apply only to tables present: :func:`validate_dir` validates parents first and passes their keys
to children; a missing parent only adds a warning. Keys are compared through 64-bit hashes
(``pandas.util.hash_array``) to bound memory.

Rejected rows: a DataFrame with columns ``file``, ``row`` (1-based record number in the file; the header is row 1,
so the first data row is row 2; equal to the line number unless quoted cells span lines), ``column``, ``reason`` and
``raw`` (the raw row as JSON, ASCII-escaped, cells cut to 1,000 characters). Text cells starting with ``=``, ``+``,
``-``, ``@`` (or tab / carriage return) are stored verbatim as inert text; when rejects are written with
:func:`write_rejects` every such cell is prefixed with a single quote. Invariant per table: ``rows_read ==
rows_loaded + rows_rejected``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.checks import cell_lengths, check_column, mask, undecodable
from ingest.csvread import CsvStream
from ingest.formulas import FAILURE_FLAGS, REGION_BY_COUNTRY
from ingest.mapping import resolve
from ingest.normalise import REQUIRED, Normaliser
from ingest.results import (
    INJECTION_PREFIXES,
    REJECT_COLUMNS,
    IngestError,
    ValidationResult,
    inert,
    write_rejects,
)
from ingest.schema import LOAD_ORDER, TABLES, TableSpec
from ingest.sources import JsonlStream, ParquetStream, RowsStream, file_format

Stream = CsvStream | ParquetStream | JsonlStream | RowsStream

__all__ = [
    "CHUNK_ROWS", "INJECTION_PREFIXES", "MAX_CELL_CHARS", "REJECT_COLUMNS", "IngestError", "ValidationResult",
    "inert", "validate_dir", "validate_rows", "validate_table", "write_rejects",
]  # fmt: skip

MAX_CELL_CHARS = 100_000
RAW_CELL_CHARS = 1_000
CHUNK_ROWS = 50_000
_CONSISTENCY_INPUTS = frozenset(
    {"total_tokens", "prompt_tokens", "completion_tokens", "user_feedback_observed", "user_feedback_score"}
)
_CLOSED_PATTERNS = frozenset({"date_utc", "prompt_sha1", "instruction_sha1", "instruction_id"})
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
                    f"{self.file}: referential check {fk.column} -> {fk.ref_table} skipped (no {fk.ref_table} "
                    f"file validated; unknown keys get placeholder rows, summaries derived from interactions)"
                )
            else:
                self.refs[fk.column] = (parent.key_hashes, parent.path.name)
        self.consistency: dict[str, int] = {}
        self.new_levels: dict[str, dict[str, int]] = {}
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
        self._failure_consistency(typed, p)
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
        self._levels(good)
        if self.spec.name == "interactions":
            self._consistency(good.select([c for c in good.column_names if c in _CONSISTENCY_INPUTS]).to_pandas())
        load = good
        for i, col in enumerate(self.spec.columns):
            if col.dtype == "timestamp":
                text = raw[col.name].filter(keep)
                load = load.set_column(i, col.name, pc.if_else(pc.equal(text, ""), pa.nulls(len(text), pa.string()),
                                                               text) if col.nullable else text)
        if "extra" in raw:
            load = load.append_column("extra", raw["extra"].filter(keep))
        return good, load

    def _failure_consistency(self, typed: dict[str, pa.Array], p: _Problems) -> None:
        """Quarantine rows whose is_failure or failure flags contradict failure_type."""
        if "failure_type" not in typed:
            return
        ft = typed["failure_type"]
        if "is_failure" in typed:
            hit = mask(pc.not_equal(typed["is_failure"], pc.not_equal(ft, "none")))
            p.add(hit, "is_failure", "is_failure {value} contradicts failure_type")
        for flag, kind in FAILURE_FLAGS.items():
            if flag in typed:
                hit = mask(pc.not_equal(typed[flag], pc.equal(ft, kind)))
                p.add(hit, flag, f"{flag} {{value}} contradicts failure_type (a flag is set exactly when "
                                 f"failure_type is {kind!r})")

    def _levels(self, good: pa.Table) -> None:
        """Count the levels the reference data does not have (they load; they are reported)."""
        for col in self.spec.columns:
            if col.levels is None or col.name not in good.column_names:
                continue
            values = good.column(col.name)
            new = pc.filter(values, pc.invert(pc.fill_null(pc.is_in(values, pa.array(col.levels)), True)))
            if len(new):
                seen = self.new_levels.setdefault(col.name, {})
                for item in pc.value_counts(new).to_pylist():
                    seen[item["values"]] = seen.get(item["values"], 0) + item["counts"]

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
        rules = {}
        if {"total_tokens", "prompt_tokens", "completion_tokens"} <= set(df.columns):
            parts = df["prompt_tokens"] + df["completion_tokens"]
            rules["total_tokens != prompt_tokens + completion_tokens"] = parts.notna() & (df["total_tokens"] != parts)
        if {"user_feedback_observed", "user_feedback_score"} <= set(df.columns):
            observed = df["user_feedback_observed"]
            rules["user_feedback_observed disagrees with user_feedback_score"] = observed.notna() & (
                observed != df["user_feedback_score"].notna())
        for text, hit in rules.items():
            self.consistency[text] = self.consistency.get(text, 0) + int(hit.sum())

    def finish(self, stream: Stream) -> ValidationResult:
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
        res.new_levels = self.new_levels
        for column, levels in self.new_levels.items():
            top = sorted(levels.items(), key=lambda kv: -kv[1])[:5]
            shown = ", ".join(f"{k!r} ({v} rows)" for k, v in top) + (", ..." if len(levels) > 5 else "")
            res.warnings.append(f"{self.file}: column {column} has level(s) the reference data does not: {shown}")
        return res


def _open(path: Path, chunk_rows: int) -> tuple[list[str], Stream]:
    """The header and a chunk stream of ``path`` by its format."""
    fmt = file_format(path)
    if fmt == "parquet":
        pstream = ParquetStream(path, chunk_rows)
        return pstream.header, pstream
    if fmt == "jsonl":
        jstream = JsonlStream(path, chunk_rows)
        return jstream.header, jstream
    header = _header(path)
    dup = next((c for c in header if header.count(c) > 1), None)
    if dup is not None:
        raise IngestError("duplicate column in header; the whole file is refused", file=path.name, row=1, column=dup)
    return header, CsvStream(path, header, header, chunk_rows)


def contract_spec(spec: TableSpec, columns: list[str]) -> TableSpec:
    """``spec`` narrowed to ``columns``: the minimum contract stays required, every other column is optional
    (nullable), and patterns are open (ids of any shape, any tool names) except for dates and hashes."""
    required = REQUIRED.get(spec.name, tuple(spec.column_names))
    keep = tuple(
        replace(c, nullable=c.name not in required, pattern=c.pattern if c.name in _CLOSED_PATTERNS else None)
        for c in spec.columns if c.name in columns
    )
    return replace(spec, columns=keep)


def _check_contract(spec: TableSpec, columns: list[str], file: str) -> None:
    missing = [c for c in REQUIRED.get(spec.name, tuple(spec.column_names)) if c not in columns]
    if missing:
        raise IngestError(
            f"required column {missing[0]!r} is missing; the whole file is refused (missing: {', '.join(missing)}; "
            "map a column of another name with --map target=source)", file=file, row=1, column=missing[0])


def validate_table(
    name: str,
    path: Path | str,
    *,
    parents: Mapping[str, ValidationResult] | None = None,
    keep_data: bool = True,
    on_chunk: Callable[[pa.Table], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    max_cell_chars: int = MAX_CELL_CHARS,
    mapping: dict[str, str] | None = None,
) -> ValidationResult:
    """Validate one table's file (``name`` is a key of :data:`ingest.schema.TABLES`; CSV, Parquet or JSON Lines).

    ``parents`` holds already validated tables for the referential checks; ``on_chunk`` receives each chunk of
    good rows as an Arrow table ready for COPY (typed; timestamps as their validated text; ``extra`` as JSON
    text when the file has unmapped columns); ``keep_data=False`` keeps only counts, rejects and key hashes
    (``data`` is the good rows as a DataFrame otherwise); ``mapping`` maps canonical columns to source columns.
    Raises :class:`IngestError` when the whole file is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError("file not found", file=str(path))
    header, stream = _open(path, chunk_rows)
    return _validate(name, path, header, stream, parents=parents, keep_data=keep_data, on_chunk=on_chunk,
                     max_cell_chars=max_cell_chars, mapping=mapping)


def validate_rows(
    name: str, rows: pa.Table, *, source: str, records: np.ndarray, on_chunk: Callable[[pa.Table], None],
    max_cell_chars: int = MAX_CELL_CHARS,
) -> ValidationResult:
    """Validate rows built in memory (string columns under canonical names, plus ``extra``), such as the
    interactions mapped from spans; ``records`` numbers them (for example span ordinals), ``source`` names their
    origin in rejects."""
    return _validate(name, Path(source), list(rows.column_names), RowsStream(rows, records, CHUNK_ROWS),
                     parents=None, keep_data=False, on_chunk=on_chunk, max_cell_chars=max_cell_chars, mapping=None)


def _validate(
    name: str, path: Path, header: list[str], stream: Stream, *, parents: Mapping[str, ValidationResult] | None,
    keep_data: bool, on_chunk: Callable[[pa.Table], None] | None, max_cell_chars: int,
    mapping: dict[str, str] | None,
) -> ValidationResult:
    spec = TABLES[name]
    normaliser = Normaliser(spec, resolve(name, header, mapping, file=path.name), file=path.name)
    columns = normaliser.apply(pa.table({h: pa.array([], pa.string()) for h in header})).column_names
    if normaliser.exact:
        checked = spec
    else:
        _check_contract(spec, columns, path.name)
        checked = contract_spec(spec, columns)
    v = _TableValidator(checked, path, parents or {}, max_cell_chars)
    v.result.extra_columns = normaliser.map.extras
    v.result.mapped_columns = normaliser.map.renamed()
    v.result.missing_columns = [c for c in spec.column_names if c not in columns]
    kept: list[pa.Table] = []
    for chunk in stream:
        good, load = v.check_chunk(normaliser.apply(chunk), v.result.rows_read)
        v.result.rows_read += chunk.num_rows
        if on_chunk is not None:
            on_chunk(load)
        if keep_data:
            kept.append(good)
    result = v.finish(stream)
    result.derived_columns = normaliser.derived
    if normaliser.map.extras:
        result.warnings.append(f"{path.name}: column(s) {', '.join(normaliser.map.extras)} not in the schema, "
                               "kept in extra")
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
