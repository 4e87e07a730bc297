"""Streaming CSV reading with Arrow for the validator: raw string columns in chunks, and record numbers.

Cells are read as strings, verbatim (no null conversion, bytes that are not UTF-8 kept for the validator to
reject). Rows with the wrong number of fields are skipped by the parser and reported; their record numbers come
from a second pass with Python's csv module, made only when there are such rows. Record numbers are 1-based with
the header as record 1; blank lines are not records.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ingest.results import IngestError

BLOCK_BYTES = 32 << 20  # a row must fit in one block


class CsvStream:
    """Chunks of at most ``chunk_rows`` rows of ``columns`` (strings) from ``path`` whose header is ``header``.

    After iterating, :meth:`records` maps stream positions (0-based over the well-formed rows) to record
    numbers and :meth:`malformed` lists the skipped rows as ``(record, message)``.
    """

    def __init__(self, path: Path, header: list[str], columns: list[str], chunk_rows: int) -> None:
        self.path, self.header, self.columns, self.chunk_rows = path, header, columns, chunk_rows
        self._skipped: list[tuple[int, str]] = []  # (fields, text) in file order
        self._bad: np.ndarray | None = None

    def _on_invalid(self, row: pacsv.InvalidRow) -> str:
        self._skipped.append((row.actual_columns, row.text))
        return "skip"

    def _batches(self) -> Iterator[pa.RecordBatch]:
        reader = pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(column_names=self.header, skip_rows=1, block_size=BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=self._on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in self.columns}, include_columns=self.columns,
                check_utf8=False, strings_can_be_null=False, null_values=[]),
        )  # fmt: skip
        yield from reader

    def __iter__(self) -> Iterator[pa.Table]:
        pending: list[pa.RecordBatch] = []
        rows = 0
        try:
            for batch in self._batches():
                pending.append(batch)
                rows += batch.num_rows
                while rows >= self.chunk_rows:
                    table = pa.Table.from_batches(pending).combine_chunks()
                    yield table.slice(0, self.chunk_rows)
                    rest = table.slice(self.chunk_rows)
                    pending, rows = rest.to_batches(), rest.num_rows
        except pa.ArrowInvalid as e:
            hint = f" (a row larger than {BLOCK_BYTES >> 20} MiB?)" if "straddl" in str(e) else ""
            raise IngestError(f"unparseable CSV{hint}: {e}", file=self.path.name) from e
        if rows:
            yield pa.Table.from_batches(pending).combine_chunks()
        self._check_quotes()

    def _bad_records(self) -> np.ndarray:
        """Record numbers of the rows whose field count differs from the header's (a pass over the file)."""
        if self._bad is None:
            bad: list[int] = []
            if self._skipped:
                with self.path.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
                    records = (r for r in csv.reader(fh) if r)
                    bad = [n for n, r in enumerate(records, start=1) if n > 1 and len(r) != len(self.header)]
            if len(bad) != len(self._skipped):
                raise IngestError(f"unparseable CSV: {len(self._skipped)} malformed rows found by the parser, "
                                  f"{len(bad)} by a second reading", file=self.path.name)
            self._bad = np.asarray(bad, dtype=np.int64)
        return self._bad

    def _check_quotes(self) -> None:
        for (_, text), record in zip(self._skipped, self._bad_records().tolist(), strict=True):
            if text.count('"') % 2:
                raise IngestError("unparseable CSV: a quoted field is never closed", file=self.path.name, row=record)

    def records(self, positions: np.ndarray) -> np.ndarray:
        """Record numbers of the well-formed rows at stream ``positions``."""
        bad = self._bad_records()
        insert_at = bad - 2 - np.arange(bad.size)  # stream position each skipped row would have had
        return positions + 2 + np.searchsorted(insert_at, positions, side="right")

    def malformed(self) -> list[tuple[int, str]]:
        """The skipped rows: ``(record, message)``."""
        return [(record, f"expected {len(self.header)} fields, saw {fields}")
                for (fields, _), record in zip(self._skipped, self._bad_records().tolist(), strict=True)]
