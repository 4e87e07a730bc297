"""Vectorised cell checks for one column of raw CSV strings (used by :mod:`ingest.validate`), in Arrow compute (C++, no
Python object per cell).

Each check returns the typed column (an Arrow array) plus a list of ``(mask, reason)`` problems; ``reason`` may
contain ``{value}``, replaced by the offending cell (shortened) when the reject record is built.

Rules: ``int`` cells are integers (``3`` or ``3.0``); ``float`` cells are finite numbers, and the empty cell (or
``nan``/``NaN``/``NULL``) is allowed only in nullable columns, where every empty cell is a null; ``bool`` cells are
``True``/``False`` (``true``/``false`` accepted); ``timestamp`` cells match ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` and
are real instants; timestamps lie between :data:`EARLIEST` and a day after now; ``str`` cells are non-empty and
match the column's pattern when it has one. Categorical levels are open: an unknown level loads (the validator
reports it). Text is kept verbatim: a cell starting with ``=``, ``+``, ``-`` or ``@`` is inert data, never
evaluated.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.schema import ColumnSpec

Problem = tuple[np.ndarray, str]
TRUE_VALUES = ("True", "true", "TRUE")
FALSE_VALUES = ("False", "false", "FALSE")
NULL_VALUES = ("", "nan", "NaN", "NULL", "null")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIMESTAMP_SHAPE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$"
EARLIEST = "1990-01-01T00:00:00Z"
EPOCH = "1970-01-01T00:00:00Z"
NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"


def mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow result as a numpy mask (null counts as False)."""
    return np.asarray(pc.fill_null(values, False), dtype=bool)


def undecodable(values: pa.Array) -> np.ndarray | None:
    """Cells holding bytes that are not valid UTF-8, or None when the whole column is valid (the usual case)."""
    try:
        values.validate(full=True)
        return None
    except pa.ArrowInvalid:
        cells = values.cast(pa.binary()).to_pylist()
        bad = np.zeros(len(cells), dtype=bool)
        for i, cell in enumerate(cells):
            try:
                cell.decode("utf-8")
            except UnicodeDecodeError:
                bad[i] = True
        return bad


def cell_lengths(values: pa.Array) -> np.ndarray:
    """Character count of each cell."""
    return np.asarray(pc.utf8_length(values), dtype=np.int64)


def _range(spec: ColumnSpec, num: pa.Array, valid: np.ndarray) -> list[Problem]:
    problems: list[Problem] = []
    if spec.min is not None:
        low = pc.less_equal(num, spec.min) if spec.min_exclusive else pc.less(num, spec.min)
        word = "greater than" if spec.min_exclusive else "at least"
        problems.append((valid & mask(low), f"value {{value}} out of range: must be {word} {spec.min:g}"))
    if spec.max is not None:
        problems.append((valid & mask(pc.greater(num, spec.max)),
                         f"value {{value}} out of range: must be at most {spec.max:g}"))
    return problems


def _number(spec: ColumnSpec, raw: pa.Array, present: np.ndarray) -> tuple[pa.Array, list[Problem]]:
    try:  # fast path: every present cell parses
        num = pc.cast(pc.if_else(pa.array(present), raw, "0"), pa.float64())
        shaped = present.copy()
    except pa.ArrowInvalid:
        shaped = mask(pc.match_substring_regex(raw, NUMBER))
        num = pc.cast(pc.utf8_trim_whitespace(pc.if_else(pa.array(shaped), raw, "0")), pa.float64())
    values = np.asarray(num, dtype=np.float64)
    ok = shaped & np.isfinite(values)
    kind = "a finite number"
    if spec.dtype == "int":
        ok &= values == np.floor(np.where(ok, values, 0))
        kind = "an integer"
    bad = present & ~ok
    problems = [(bad, f"malformed {spec.dtype}: {{value}} is not {kind}"), *_range(spec, num, present & ok)]
    if spec.dtype == "int":
        ints = np.where(present & ok, values, 0).astype(np.int64)
        return pa.array(ints, mask=~present if spec.nullable else None), problems
    return pa.array(values, mask=~(present & ok)), problems


def _timestamps(raw: pa.Array, present: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """UTC timestamps and which cells are real instants in :data:`TIMESTAMP_FORMAT`."""
    shaped = present & mask(pc.match_substring_regex(raw, TIMESTAMP_SHAPE))
    try:  # fast path: Arrow's ISO-8601 cast refuses impossible dates and times
        ts = pc.cast(pc.if_else(pa.array(shaped), raw, EPOCH), pa.timestamp("us", tz="UTC"))
        return ts, shaped
    except pa.ArrowInvalid:  # strptime normalises them (Feb 30 -> Mar 2): real ones print back the same
        parsed = pc.strptime(raw, format=TIMESTAMP_FORMAT, unit="s", error_is_null=True)
        real = mask(pc.equal(pc.strftime(parsed, format=TIMESTAMP_FORMAT), raw))
        return pc.cast(parsed, pa.timestamp("us", tz="UTC")), real


def check_column(spec: ColumnSpec, raw: pa.Array) -> tuple[pa.Array, list[Problem]]:
    """Typed values of ``raw`` (strings) and the problems found, in order of importance."""
    problems: list[Problem] = []
    empty = mask(pc.is_in(raw, pa.array(NULL_VALUES if spec.dtype == "float" else ("",))))
    if not spec.nullable:
        problems.append((empty, "missing value (column is not nullable)"))
    present = ~empty
    if spec.dtype in ("int", "float"):
        typed, more = _number(spec, raw, present)
        return typed, problems + more
    if spec.dtype == "bool":
        t, f = mask(pc.is_in(raw, pa.array(TRUE_VALUES))), mask(pc.is_in(raw, pa.array(FALSE_VALUES)))
        problems.append((present & ~(t | f), "malformed bool: {value} is not True/False"))
        return pa.array(t, mask=empty if spec.nullable else None), problems
    if spec.dtype == "timestamp":
        ts, real = _timestamps(raw, present)
        problems.append((present & ~real, "malformed timestamp: {value} (expected YYYY-MM-DDTHH:MM:SSZ)"))
        latest = pa.scalar(datetime.now(UTC) + timedelta(days=1), pa.timestamp("us", tz="UTC"))
        earliest = pa.scalar(datetime(1990, 1, 1, tzinfo=UTC), pa.timestamp("us", tz="UTC"))
        absurd = mask(pc.or_(pc.less(ts, earliest), pc.greater(ts, latest)))
        problems.append((present & real & absurd, f"absurd timestamp {{value}}: before {EARLIEST} or after tomorrow"))
        return ts, problems
    if spec.pattern is not None:
        ok = mask(pc.match_substring_regex(raw, f"^(?:{spec.pattern})$"))
        problems.append((present & ~ok, f"malformed value {{value}} (expected pattern {spec.pattern})"))
    return (pc.if_else(pa.array(empty), pa.nulls(len(raw), pa.string()), raw) if spec.nullable else raw), problems
