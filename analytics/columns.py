"""Column access for interaction frames: aliases, missing optional columns, derived masks.

The analytics input contract names columns the way the opsgraph ingest layer does (``timestamp``,
``prompt_text``, ``completion_text``); the real Kaggle export names some of them differently
(``timestamp_utc``, ``request_text``, ``response_text_snippet``). Every analytics function reads columns
through this module so that both spellings work and absent optional columns degrade gracefully.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NO_FAILURE = "none"

ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "timestamp_utc"),
    "prompt_text": ("prompt_text", "request_text"),
    "completion_text": ("completion_text", "response_text_snippet"),
}


def column(df: pd.DataFrame, name: str) -> pd.Series | None:
    """Return column ``name`` (or its first present alias) or ``None`` when the frame lacks it."""
    for candidate in ALIASES.get(name, (name,)):
        if candidate in df.columns:
            return df[candidate]
    return None


def has(df: pd.DataFrame, name: str) -> bool:
    """True when ``name`` or one of its aliases is a column of ``df``."""
    return column(df, name) is not None


def numeric(df: pd.DataFrame, name: str) -> pd.Series | None:
    """Column ``name`` as float (non-numeric values become NaN), or ``None`` when absent."""
    col = column(df, name)
    if col is None:
        return None
    return pd.to_numeric(col, errors="coerce").astype(float)


def timestamps(df: pd.DataFrame) -> pd.Series | None:
    """The interaction timestamps as tz-aware UTC datetimes, or ``None`` when absent."""
    col = column(df, "timestamp")
    if col is None:
        return None
    return pd.to_datetime(col, utc=True, errors="coerce")


def failure_mask(df: pd.DataFrame) -> np.ndarray:
    """Boolean array: which rows failed (``is_failure``, else ``failure_type != 'none'``, else all False)."""
    if "is_failure" in df.columns:
        col = df["is_failure"]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            return col.fillna(False).astype(bool).to_numpy()
        return col.astype(str).str.strip().str.lower().isin(["true", "1", "yes", "t"]).to_numpy()
    if "failure_type" in df.columns:
        return (df["failure_type"].fillna(NO_FAILURE).astype(str) != NO_FAILURE).to_numpy()
    return np.zeros(len(df), dtype=bool)


def failure_types(df: pd.DataFrame) -> pd.Series:
    """Failure type per row: ``'none'`` for healthy rows, ``'unknown'`` for failing rows without a type."""
    failed = failure_mask(df)
    if "failure_type" in df.columns:
        types = df["failure_type"].fillna(NO_FAILURE).astype(str).to_numpy(copy=True)
    else:
        types = np.full(len(df), NO_FAILURE, dtype=object)
    types = np.where(failed & (types == NO_FAILURE), "unknown", types)
    types = np.where(~failed, NO_FAILURE, types)
    return pd.Series(types, index=df.index, name="failure_type", dtype=object)


def texts(df: pd.DataFrame) -> pd.Series:
    """``prompt_text`` and ``completion_text`` joined per row (empty strings where absent)."""
    parts = [column(df, "prompt_text"), column(df, "completion_text")]
    present = [p.fillna("").astype(str) for p in parts if p is not None]
    if not present:
        return pd.Series([""] * len(df), index=df.index, dtype=object)
    out = present[0]
    for extra in present[1:]:
        out = out + " " + extra
    return out.str.strip()


def exploded_tools(df: pd.DataFrame) -> pd.Series:
    """One entry per (row, tool) from the pipe-joined ``tools_used`` column, ``'none'`` dropped."""
    col = column(df, "tools_used")
    if col is None:
        return pd.Series([], dtype=object)
    tools = col.fillna("none").astype(str).str.split("|").explode().str.strip()
    return tools[(tools != "") & (tools != "none")]
