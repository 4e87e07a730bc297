"""From any tabular layout to the canonical columns: renames, timestamps, booleans, derived columns, extras.

Applied to each chunk of raw strings before validation (:mod:`ingest.validate`). In the exact layout of the
real files (every column present under its own name) only timestamps and booleans are canonicalised, cheaply;
in any other layout:

- columns are renamed through a :class:`ingest.mapping.ColumnMap`, and unmapped source columns are kept as one
  JSON object per row in ``extra`` (written to the JSONB column of that name);
- timestamps in ISO 8601 (``Z`` or an offset, a space instead of ``T``, fractions of a second; no offset reads
  as UTC) or epoch seconds / milliseconds / microseconds / nanoseconds become ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``;
  a cell that parses as none of these is left as is for the validator to reject;
- booleans ``1``/``0``, ``yes``/``no``, ``t``/``f`` read as True/False;
- interactions: the failure signal is completed (``is_failure`` from ``failure_type`` or an ``error`` column,
  ``failure_type`` from ``is_failure``: ``error`` where an error message is present, else ``unspecified``);
  ``total_tokens`` from its parts, ``tokens_per_second``, ``tool_calls_count``, ``user_feedback_observed`` and the
  calendar columns (``date_utc``, ``hour_of_day_utc``, ``day_of_week``, ``is_weekend``, ``is_peak_hour``) are
  derived from the columns present, with the real file's formulas. Nothing is invented: a column whose inputs
  are absent stays absent (NULL).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.checks import EPOCH, NUMBER, TIMESTAMP_SHAPE
from ingest.formulas import PEAK_HOURS, count_tools, tokens_per_second
from ingest.mapping import FAILURE_CONTEXT, ColumnMap
from ingest.results import IngestError
from ingest.schema import TableSpec

REQUIRED: dict[str, tuple[str, ...]] = {
    "interactions": ("interaction_id", "session_id", "timestamp_utc", "is_failure", "failure_type"),
    "sessions": ("session_id",),
    "users": ("user_id",),
}
"""The minimum contract per table (after derivation); the prompts and SFT files have no optional column."""

_TRUE = ("1", "yes", "y", "t", "Yes", "YES", "Y", "T", "1.0")
_FALSE = ("0", "no", "n", "f", "No", "NO", "N", "F", "0.0")
_NO_FAILURE = ("", "none", "None", "NONE", "null", "ok", "OK", "success")


def _fmt_ts(ts: pd.Series) -> pd.Series:
    """UTC timestamps as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (the fraction only when non-zero)."""
    base = ts.dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = ts.dt.microsecond
    return base + np.where(frac > 0, "." + frac.astype(str).str.zfill(6), "") + "Z"


def canonical_timestamps(raw: pa.Array) -> pa.Array:
    """``raw`` timestamp strings in the canonical form (see the module docstring); unparseable cells unchanged."""
    if pc.all(pc.match_substring_regex(raw, TIMESTAMP_SHAPE)).as_py() is not False:
        return raw
    s = pd.Series(raw.to_pylist(), dtype=object).fillna("").astype(str).str.strip()
    out = s.copy()
    numeric = s.str.fullmatch(r"\d+(?:\.\d+)?")
    if numeric.any():
        x = s[numeric].astype(float)
        unit = np.select([x >= 1e17, x >= 1e14, x >= 1e11], ["ns", "us", "ms"], "s")
        for u in ("s", "ms", "us", "ns"):
            pick = x.index[unit == u]
            if len(pick):
                out[pick] = _fmt_ts(pd.to_datetime(x[pick], unit=u, utc=True))  # type: ignore[call-overload]
    text = ~numeric & (s != "")
    if text.any():
        parsed = pd.to_datetime(s[text], utc=True, format="ISO8601", errors="coerce")
        ok = parsed.notna()
        out[parsed.index[ok]] = _fmt_ts(parsed[ok])
    return pa.array(out.tolist(), type=pa.string())


def _bools(raw: pa.Array) -> pa.Array:
    out = pc.if_else(pc.is_in(raw, pa.array(_TRUE)), "True", raw)
    return pc.if_else(pc.is_in(out, pa.array(_FALSE)), "False", out)


def _extras(chunk: pa.Table, extras: list[str]) -> pa.Array:
    cols = {c: chunk.column(c).to_pylist() for c in extras}
    rows = [json.dumps({c: v[i] for c, v in cols.items() if v[i] not in (None, "")}, ensure_ascii=False)
            for i in range(chunk.num_rows)]
    return pa.array(rows, type=pa.string())


def _text(arr: pa.Array) -> pa.Array:
    """Strings with nulls as ""."""
    return pc.fill_null(arr.cast(pa.string()), "")


def _numeric(arr: pa.Array) -> pa.Array:
    """Float values of number-shaped strings (null elsewhere)."""
    shaped = pc.match_substring_regex(arr, NUMBER)
    return pc.cast(pc.if_else(shaped, pc.utf8_trim_whitespace(arr), pa.scalar(None, pa.string())), pa.float64())


def _as_strings(arr: pa.Array) -> pa.Array:
    """Numbers or booleans as canonical strings (integers without ".0", booleans True/False, null as "")."""
    if pa.types.is_boolean(arr.type):
        return pc.fill_null(pc.if_else(arr, "True", "False"), "")
    if pa.types.is_floating(arr.type):
        whole = pc.equal(pc.floor(arr), arr)
        ints = pc.cast(pc.if_else(whole, arr, 0.0), pa.int64()).cast(pa.string())
        return pc.fill_null(pc.if_else(whole, ints, arr.cast(pa.string())), "")
    return pc.fill_null(arr.cast(pa.string()), "")


def _utc(text: pa.Array) -> pa.Array:
    """Canonical timestamp strings as UTC timestamps (null where a cell is not one)."""
    shaped = pc.match_substring_regex(text, TIMESTAMP_SHAPE)
    try:
        return pc.if_else(shaped, pc.cast(pc.if_else(shaped, text, EPOCH), pa.timestamp("us", tz="UTC")),
                          pa.scalar(None, pa.timestamp("us", tz="UTC")))
    except pa.ArrowInvalid:  # an impossible date (Feb 30): left to the validator, no calendar values
        return pa.nulls(len(text), pa.timestamp("us", tz="UTC"))


def _derive_interactions(cols: dict[str, pa.Array], file: str) -> None:
    """Complete the failure signal and derive the computable columns (in place, strings; Arrow compute)."""
    error = pc.utf8_trim_whitespace(_text(cols[FAILURE_CONTEXT])) if FAILURE_CONTEXT in cols else None
    if "is_failure" not in cols:
        if "failure_type" in cols:
            failed = pc.invert(pc.is_in(_text(cols["failure_type"]), pa.array(_NO_FAILURE)))
        elif error is not None:
            failed = pc.not_equal(error, "")
        else:
            raise IngestError("no failure signal: the minimum contract needs is_failure, failure_type or an error "
                              "column (or --map is_failure=<column>)", file=file, row=1, column="is_failure")
        cols["is_failure"] = _as_strings(failed)
    failed_now = pc.equal(_text(cols["is_failure"]), "True")
    unspecified = pc.if_else(failed_now, "unspecified", "none")
    if "failure_type" not in cols:
        kind = pc.if_else(pc.not_equal(error, ""), "error", "unspecified") if error is not None else "unspecified"
        cols["failure_type"] = pc.if_else(failed_now, kind, "none")
    else:  # empty cells follow is_failure
        ft = _text(cols["failure_type"])
        cols["failure_type"] = pc.if_else(pc.equal(ft, ""), unspecified, ft)
    num = {k: _numeric(_text(cols[k])) for k in ("prompt_tokens", "completion_tokens", "total_tokens", "latency_ms")
           if k in cols}
    if "total_tokens" not in cols and {"prompt_tokens", "completion_tokens"} <= num.keys():
        num["total_tokens"] = pc.add(num["prompt_tokens"], num["completion_tokens"])
        cols["total_tokens"] = _as_strings(num["total_tokens"])
    if "tokens_per_second" not in cols and {"total_tokens", "latency_ms"} <= num.keys():
        lat = num["latency_ms"].to_numpy(zero_copy_only=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            tps = tokens_per_second(num["total_tokens"].to_numpy(zero_copy_only=False), lat)
        cols["tokens_per_second"] = _as_strings(pa.array(np.where(lat > 0, tps, np.nan), from_pandas=True))
    if "tool_calls_count" not in cols and "tools_used" in cols:
        tools = pd.Series(_text(cols["tools_used"]).to_pylist()).replace("", "none")
        cols["tool_calls_count"] = pa.array(count_tools(tools).astype(str))
    if "user_feedback_observed" not in cols and "user_feedback_score" in cols:
        cols["user_feedback_observed"] = _as_strings(pc.is_valid(_numeric(_text(cols["user_feedback_score"]))))
    ts = _utc(_text(cols["timestamp_utc"]))
    hour, dow = pc.hour(ts), pc.day_of_week(ts)  # Monday = 0, as pandas and the real file
    calendar = {
        "date_utc": pc.fill_null(pc.strftime(ts, format="%Y-%m-%d"), ""),
        "hour_of_day_utc": _as_strings(hour), "day_of_week": _as_strings(dow),
        "is_weekend": _as_strings(pc.greater_equal(dow, 5)),
        "is_peak_hour": _as_strings(pc.and_(pc.greater_equal(hour, PEAK_HOURS.start), pc.less(hour, PEAK_HOURS.stop))),
    }  # fmt: skip
    for name, values in calendar.items():
        cols.setdefault(name, values)


class Normaliser:
    """Turns chunks of one source file into canonical string columns for ``spec`` (see the module docstring)."""

    def __init__(self, spec: TableSpec, column_map: ColumnMap, *, file: str) -> None:
        self.spec, self.map, self.file = spec, column_map, file
        self.exact = not column_map.extras and not column_map.renamed() and set(column_map.sources) >= set(
            spec.column_names)
        self.derived: list[str] = []

    def apply(self, chunk: pa.Table) -> pa.Table:
        """The canonical columns of ``chunk`` (plus ``extra`` when the source has unmapped columns)."""
        cols: dict[str, pa.Array] = {}
        for target, source in self.map.sources.items():
            col = chunk.column(source)
            cols[target] = col.chunk(0) if col.num_chunks == 1 else pa.concat_arrays(col.chunks)
        for c in self.spec.columns:
            if c.name not in cols:
                continue
            if c.dtype == "timestamp":
                cols[c.name] = canonical_timestamps(cols[c.name])
            elif c.dtype == "bool" and not self.exact:
                cols[c.name] = _bools(cols[c.name])
        if not self.exact and self.spec.name == "interactions":
            before = set(cols)
            _derive_interactions(cols, self.file)
            self.derived = sorted(set(self.derived) | (set(cols) - before))
        cols.pop(FAILURE_CONTEXT, None)  # kept in extra, below
        extras = [*self.map.extras, *([self.map.sources[FAILURE_CONTEXT]] if FAILURE_CONTEXT in self.map.sources
                                      else [])]
        if extras:  # (a source column named extra is already the JSON object, passed through)
            cols["extra"] = _extras(chunk, extras)
        return pa.table(cols)
