"""Validation outcomes: :class:`IngestError`, :class:`ValidationResult` and the rejects CSV writer.

Reject records have the columns ``file``, ``row`` (1-based record number, header = row 1), ``column``,
``reason`` and ``raw`` (the raw row as JSON). When written with :func:`write_rejects`, text starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading single quote so spreadsheets show it as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REJECT_COLUMNS = ["file", "row", "column", "reason", "raw"]
INJECTION_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class IngestError(Exception):
    """A problem that names the file, and the row and column when they are known."""

    def __init__(self, reason: str, *, file: str, row: int | None = None, column: str | None = None) -> None:
        self.reason, self.file, self.row, self.column = reason, file, row, column
        where = (
            [file]
            + ([f"row {row}"] if row is not None else [])
            + ([f"column {column!r}"] if column is not None else [])
        )
        super().__init__(", ".join(where) + ": " + reason)


@dataclass
class ValidationResult:
    """Outcome of validating one file."""

    table: str
    path: Path
    rows_read: int = 0
    rows_loaded: int = 0
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    warnings: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    mapped_columns: dict[str, str] = field(default_factory=dict)
    missing_columns: list[str] = field(default_factory=list)
    derived_columns: list[str] = field(default_factory=list)
    new_levels: dict[str, dict[str, int]] = field(default_factory=dict)
    data: pd.DataFrame | None = None
    key_hashes: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.uint64))

    @property
    def rows_rejected(self) -> int:
        """Number of rejected rows (one reject record per row)."""
        return len(self.rejects)

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return self.rows_rejected == 0

    def errors(self) -> list[IngestError]:
        """One :class:`IngestError` per rejected row."""
        return [
            IngestError(str(reason), file=str(file), row=int(row), column=str(column))
            for file, row, column, reason in zip(
                self.rejects["file"],
                self.rejects["row"].astype(int),
                self.rejects["column"],
                self.rejects["reason"],
                strict=True,
            )
        ]

    def raise_for_rejects(self) -> None:
        """Raise the first reject as an :class:`IngestError` (with the total count) if any row was rejected."""
        if self.rejects.empty:
            return
        first = self.errors()[0]
        raise IngestError(
            f"{first.reason} ({self.rows_rejected} of {self.rows_read} rows rejected)",
            file=first.file,
            row=first.row,
            column=first.column,
        )

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {
            "table": self.table,
            "file": self.path.name,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "extra_columns": self.extra_columns,
            "mapped_columns": self.mapped_columns,
            "missing_columns": self.missing_columns,
            "derived_columns": self.derived_columns,
            "new_levels": self.new_levels,
            "warnings": self.warnings,
        }


def inert(value: object) -> object:
    """Prefix a single quote to text that a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(INJECTION_PREFIXES):
        return "'" + value
    return value


def write_rejects(rejects: pd.DataFrame, path: Path) -> Path:
    """Write reject records as CSV with formula-like cells neutralised (see :func:`inert`)."""
    out = rejects.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(inert)
    out.to_csv(path, index=False, lineterminator="\n")
    return path
