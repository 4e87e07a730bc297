"""Vectorised cell checks for one column of raw CSV strings (used by :mod:`ingest.validate`).

Each check returns the typed column plus a list of ``(mask, reason)`` problems; ``reason`` may contain
``{value}``, replaced by the offending cell (shortened) when the reject record is built.

Rules: ``int`` cells are integers (``3`` or ``3.0``); ``float`` cells are finite numbers, and the empty cell
(or ``nan``/``NaN``) is allowed only in nullable columns; ``bool`` cells are ``True``/``False``
(``true``/``false`` accepted); ``timestamp`` cells match ``YYYY-MM-DDTHH:MM:SSZ`` and are real instants;
``str`` cells are non-empty, in the column's levels or matching its pattern when it has one. Text is kept
verbatim: a cell starting with ``=``, ``+``, ``-`` or ``@`` is inert data, never evaluated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.schema import ColumnSpec

Problem = tuple[np.ndarray, str]
TRUE_VALUES = frozenset({"True", "true", "TRUE"})
FALSE_VALUES = frozenset({"False", "false", "FALSE"})
NULL_VALUES = ("", "nan", "NaN", "NULL", "null")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SURROGATES = "[\udc80-\udcff]"


def cell_lengths(values: pd.Series) -> np.ndarray:
    """Character count of each cell (object strings)."""
    return np.fromiter(map(len, values.tolist()), dtype=np.int64, count=len(values))


def undecodable(values: pd.Series) -> np.ndarray:
    """Cells holding bytes that were not valid UTF-8 (decoded with ``surrogateescape``)."""
    joined = "\x1f".join(values.tolist())
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return values.str.contains(SURROGATES, regex=True).to_numpy(dtype=bool)
    return np.zeros(len(values), dtype=bool)


def _range(spec: ColumnSpec, num: pd.Series, valid: np.ndarray) -> list[Problem]:
    problems: list[Problem] = []
    if spec.min is not None:
        low = (num <= spec.min) if spec.min_exclusive else (num < spec.min)
        word = "greater than" if spec.min_exclusive else "at least"
        problems.append(
            (
                valid & low.fillna(False).to_numpy(dtype=bool),
                f"value {{value}} out of range: must be {word} {spec.min:g}",
            )
        )
    if spec.max is not None:
        high = num > spec.max
        problems.append(
            (
                valid & high.fillna(False).to_numpy(dtype=bool),
                f"value {{value}} out of range: must be at most {spec.max:g}",
            )
        )
    return problems


def check_column(spec: ColumnSpec, raw: pd.Series) -> tuple[pd.Series, list[Problem]]:
    """Typed values of ``raw`` (object strings) and the problems found, in order of importance."""
    problems: list[Problem] = []
    empty = raw.isin(NULL_VALUES).to_numpy(dtype=bool) if spec.dtype == "float" else (raw == "").to_numpy()
    if not spec.nullable:
        problems.append((empty, "missing value (column is not nullable)"))
    present = ~empty
    if spec.dtype in ("int", "float"):
        num = pd.to_numeric(raw.where(present), errors="coerce").astype(float)
        bad = present & ~np.isfinite(num.to_numpy())
        kind = "an integer" if spec.dtype == "int" else "a finite number"
        if spec.dtype == "int":
            bad |= present & np.isfinite(num.to_numpy()) & (num.to_numpy() != np.floor(num.to_numpy()))
        problems.append((bad, f"malformed {spec.dtype}: {{value}} is not {kind}"))
        problems += _range(spec, num, present & ~bad)
        if spec.dtype == "int":
            typed = pd.Series(np.where(present & ~bad, num.fillna(0), 0).astype(np.int64), index=raw.index)
        else:
            typed = num.where(present & ~bad)
        return typed, problems
    if spec.dtype == "bool":
        t, f = raw.isin(TRUE_VALUES).to_numpy(), raw.isin(FALSE_VALUES).to_numpy()
        problems.append((present & ~(t | f), "malformed bool: {value} is not True/False"))
        return pd.Series(t, index=raw.index), problems
    if spec.dtype == "timestamp":
        ts = pd.to_datetime(raw.where(present), format=TIMESTAMP_FORMAT, errors="coerce", utc=True)
        problems.append(
            (present & ts.isna().to_numpy(), "malformed timestamp: {value} (expected YYYY-MM-DDTHH:MM:SSZ)")
        )
        return ts, problems
    if spec.levels is not None:
        ok = raw.isin(spec.levels).to_numpy()
        problems.append((present & ~ok, f"unknown level {{value}} (allowed: {', '.join(spec.levels)})"))
    elif spec.pattern is not None:
        ok = raw.str.fullmatch(spec.pattern).fillna(False).to_numpy(dtype=bool)
        problems.append((present & ~ok, f"malformed value {{value}} (expected pattern {spec.pattern})"))
    return raw, problems
