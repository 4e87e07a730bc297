"""Analysis-ready interaction features, harmonised names and the retrieval (RAG) frame.

Names follow the old seed pipeline: ``request_text`` -> ``prompt_text`` and ``response_text_snippet`` ->
``completion_text``. Joins never produce ``_x``/``_y`` columns: every non-key column of a joined table is
prefixed with the table's name (``session_``, ``user_``, ``prompt_``; a column already carrying the prefix is
kept), merges run with ``suffixes=(False, False)`` so any remaining collision raises, and each join is validated
as many-to-one.

Features (per interaction, never from a joined aggregate):

- ``latency_per_token = latency_ms / total_tokens`` (NaN when total_tokens is 0);
- ``cost_per_1k_tokens = cost_usd / total_tokens * 1000`` (NaN when total_tokens is 0);
- ``is_<failure_type>`` booleans for each failure type (from ``failure_type``), next to ``is_failure``;
- ``cost_z`` and ``tokens_z``: z-scores (population std, ddof=0) of ``cost_usd`` and ``total_tokens`` over the
  frame; 0 when the column is constant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.schema import LEVELS

RENAMES: dict[str, str] = {"request_text": "prompt_text", "response_text_snippet": "completion_text"}
RAG_COLUMNS = [
    "interaction_id",
    "session_id",
    "user_id",
    "prompt_text",
    "completion_text",
    "timestamp",
    "is_failure",
    "failure_type",
]
FAILURE_TYPES = tuple(t for t in LEVELS["failure_type"] if t != "none")
_JOINS = (("sessions", "session_id", "session_"), ("users", "user_id", "user_"), ("prompts", "prompt_id", "prompt_"))


def _prefixed(table: pd.DataFrame, key: str, prefix: str) -> pd.DataFrame:
    return table.rename(columns={c: c if c == key or c.startswith(prefix) else prefix + c for c in table.columns})


def harmonise(
    interactions: pd.DataFrame,
    sessions: pd.DataFrame | None = None,
    users: pd.DataFrame | None = None,
    prompts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Interactions with harmonised names, optionally joined (left, many-to-one) with the summary tables."""
    out = interactions.rename(columns=RENAMES)
    tables = {"sessions": sessions, "users": users, "prompts": prompts}
    for name, key, prefix in _JOINS:
        table = tables[name]
        if table is None:
            continue
        right = _prefixed(table, key, prefix)
        clash = (set(right.columns) & set(out.columns)) - {key}
        if clash:
            raise ValueError(f"joining {name} would duplicate column(s) {sorted(clash)}")
        out = out.merge(right, on=key, how="left", validate="many_to_one", suffixes=(False, False))  # type: ignore[arg-type]
    return out


def _text(df: pd.DataFrame, new: str) -> pd.Series:
    old = next(k for k, v in RENAMES.items() if v == new)
    col = df[new] if new in df.columns else df[old]
    return col.fillna("").astype(str)


def add_features(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` (interactions, raw or harmonised) with the features of the module docstring."""
    out = df.copy()
    tokens = pd.to_numeric(out["total_tokens"]).astype(float)
    safe = tokens.where(tokens > 0)
    out["latency_per_token"] = pd.to_numeric(out["latency_ms"]).astype(float) / safe
    out["cost_per_1k_tokens"] = pd.to_numeric(out["cost_usd"]).astype(float) / safe * 1000
    ft = out["failure_type"].astype(str)
    out["is_failure"] = ft != "none"
    for kind in FAILURE_TYPES:
        out[f"is_{kind}"] = ft == kind
    for src, dst in (("cost_usd", "cost_z"), ("total_tokens", "tokens_z")):
        x = pd.to_numeric(out[src]).astype(float)
        std = float(x.std(ddof=0))
        out[dst] = (x - x.mean()) / std if std > 0 else 0.0
    return out


def failure_slice(df: pd.DataFrame, failure_type: str | None = None) -> pd.DataFrame:
    """Failed interactions (optionally of one failure type), index reset."""
    ft = df["failure_type"].astype(str)
    mask = ft != "none" if failure_type is None else ft == failure_type
    return df.loc[mask.to_numpy()].reset_index(drop=True)


def rag_frame(df: pd.DataFrame) -> pd.DataFrame:
    """One row per interaction for retrieval: ids, prompt/completion text, UTC timestamp, failure info."""
    ts = df["timestamp"] if "timestamp" in df.columns else df["timestamp_utc"]
    return pd.DataFrame({  # positional: every column is a plain array or a reset-index Series
        "interaction_id": df["interaction_id"].astype(str).to_numpy(),
        "session_id": df["session_id"].astype(str).to_numpy(),
        "user_id": df["user_id"].astype(str).to_numpy(),
        "prompt_text": _text(df, "prompt_text").to_numpy(),
        "completion_text": _text(df, "completion_text").to_numpy(),
        "timestamp": pd.to_datetime(ts, utc=True, format="ISO8601").reset_index(drop=True),
        "is_failure": (df["failure_type"].astype(str) != "none").to_numpy(),
        "failure_type": df["failure_type"].astype(str).to_numpy(),
    })[RAG_COLUMNS]  # fmt: skip


def embedding_text(data: pd.DataFrame | pd.Series) -> pd.Series:
    """Text to embed per interaction: prompt, completion and failure context (failure_type, tools, model).

    Accepts a frame (raw, harmonised or :func:`rag_frame`) or one row as a Series; missing context columns are
    left out. Layout: ``prompt: ... | completion: ... | failure: ... | tools: ... | model: ...``.
    """
    df = data.to_frame().T if isinstance(data, pd.Series) else data
    parts = [
        "prompt: " + _text(df, "prompt_text"),
        " | completion: " + _text(df, "completion_text"),
    ]
    for col, label in (("failure_type", "failure"), ("tools_used", "tools"), ("model_name", "model")):
        if col in df.columns:
            parts.append(f" | {label}: " + df[col].fillna("none").astype(str))
    text = parts[0]
    for p in parts[1:]:
        text = text + p
    return pd.Series(np.asarray(text, dtype=object), index=df.index, dtype="str", name="embedding_text")
