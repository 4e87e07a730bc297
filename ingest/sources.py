"""Tabular sources other than CSV: Parquet and JSON Lines, as chunks of raw strings with record numbers.

Both expose the interface of :class:`ingest.csvread.CsvStream` (iterate chunks, then :meth:`records` and
:meth:`malformed`), so the validator treats every format alike. Cells become strings: scalars as text (numbers
as Python prints them, booleans as True/False, timestamps in ISO 8601), nested values as JSON, missing as "".
Records: Parquet rows are numbered from 1; JSON Lines records are line numbers, and a line that is not a JSON
object is reported as malformed (its record number and the parser's message).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.results import IngestError

TABULAR_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def file_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``jsonl`` by the file's suffix (CSV when unknown)."""
    return TABULAR_SUFFIXES.get(path.suffix.lower(), "csv")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _strings(columns: dict[str, list[Any]]) -> pa.Table:
    return pa.table({c: pa.array([_cell(v) for v in vs], type=pa.string()) for c, vs in columns.items()})


class ParquetStream:
    """Chunks of a Parquet file as string columns."""

    def __init__(self, path: Path, chunk_rows: int) -> None:
        self.path, self.chunk_rows = path, chunk_rows
        try:
            self._file = pq.ParquetFile(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise IngestError(f"unreadable Parquet file: {exc}", file=path.name) from exc
        self.header = list(self._file.schema_arrow.names)

    def __iter__(self) -> Iterator[pa.Table]:
        for batch in self._file.iter_batches(batch_size=self.chunk_rows):
            yield _strings({c: batch.column(c).to_pylist() for c in batch.schema.names})

    def records(self, positions: np.ndarray) -> np.ndarray:
        """Row numbers (1-based) of stream positions."""
        return positions + 1

    def malformed(self) -> list[tuple[int, str]]:
        """Parquet rows are never malformed."""
        return []


class JsonlStream:
    """Chunks of a JSON Lines file (one object per line) as string columns."""

    def __init__(self, path: Path, chunk_rows: int) -> None:
        self.path, self.chunk_rows = path, chunk_rows
        self._bad: list[tuple[int, str]] = []
        self._lines: list[int] = []
        keys: dict[str, None] = {}
        for _, obj in self._objects(record_errors=False):
            keys.update(dict.fromkeys(obj))
        if not keys:
            raise IngestError("file is empty (no JSON object on any line)", file=path.name, row=1)
        self.header = list(keys)

    def _objects(self, *, record_errors: bool) -> Iterator[tuple[int, dict[str, Any]]]:
        with self.path.open(encoding="utf-8", errors="surrogateescape") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    if record_errors:
                        self._bad.append((number, f"not JSON: {exc}"))
                    continue
                if not isinstance(obj, dict):
                    if record_errors:
                        self._bad.append((number, f"a line holds a JSON object, not {type(obj).__name__}"))
                    continue
                yield number, obj

    def __iter__(self) -> Iterator[pa.Table]:
        rows: list[dict[str, Any]] = []
        for number, obj in self._objects(record_errors=True):
            rows.append(obj)
            self._lines.append(number)
            if len(rows) == self.chunk_rows:
                yield _strings({c: [r.get(c) for r in rows] for c in self.header})
                rows = []
        if rows:
            yield _strings({c: [r.get(c) for r in rows] for c in self.header})

    def records(self, positions: np.ndarray) -> np.ndarray:
        """Line numbers of stream positions."""
        return np.asarray(self._lines, dtype=np.int64)[positions]

    def malformed(self) -> list[tuple[int, str]]:
        """Lines that are not JSON objects: ``(line, message)``."""
        return list(self._bad)


class RowsStream:
    """Chunks of an in-memory table of strings whose rows carry their own record numbers."""

    def __init__(self, rows: pa.Table, records: np.ndarray, chunk_rows: int) -> None:
        self.rows, self._records, self.chunk_rows = rows, np.asarray(records, dtype=np.int64), chunk_rows

    def __iter__(self) -> Iterator[pa.Table]:
        for start in range(0, self.rows.num_rows, self.chunk_rows):
            yield self.rows.slice(start, self.chunk_rows)

    def records(self, positions: np.ndarray) -> np.ndarray:
        """The record numbers given for ``positions``."""
        return self._records[positions]

    def malformed(self) -> list[tuple[int, str]]:
        """In-memory rows are never malformed."""
        return []
