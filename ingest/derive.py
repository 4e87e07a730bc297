"""Session and user summaries derived from the interactions, for what no summary file provides.

After a load, every session and user of the project that lacks a summary value (a placeholder row made for an
unknown key, or a summary file without that column) gets it from the interactions, with the real file's formulas
(:func:`ingest.summaries.session_summary`, :func:`ingest.summaries.users_summary`). An output whose inputs are
unknown for the session or user (a NULL latency, say, or no feedback column in the project at all) stays NULL:
nothing is invented. Values a file provided are kept, never overwritten, and checked against the derivation;
disagreements are reported per column with a count and the first key.

Sessions flagged ``summary_stale`` (the receiver flags those its batches touch) are derived by
:func:`refresh_stale`, which the receiver runs in the background, off the request path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.rows import DictRow

from ingest.schema import TABLES
from ingest.summaries import SESSION_DIMS, SESSION_INPUT_COLUMNS, session_summary, users_summary

_SESSION_NEEDS: dict[str, tuple[str, ...]] = {
    "latency_ms": ("avg_latency_ms", "median_latency_ms", "total_latency_ms", "total_latency_seconds",
                   "effective_session_duration_seconds", "requests_per_minute_effective"),
    "response_quality_score": ("avg_response_quality_score",),
    "total_tokens": ("avg_tokens_per_request", "total_tokens", "cost_per_1k_tokens"),
    "tool_calls_count": ("requests_with_tools", "share_requests_with_tools"),
    "retry_index": ("n_retry_requests",),
    "final_resolution_state": ("escalations_to_human", "risk_session_flag"),
    "user_feedback_score": ("csat_mean", "csat_response_rate", "risk_session_flag"),
    "cost_usd": ("total_cost_usd", "avg_cost_per_request", "cost_per_1k_tokens"),
    "tokens_per_second": ("avg_tokens_per_second",),
}  # fmt: skip
_USER_NEEDS: dict[str, tuple[str, ...]] = {
    "csat_mean": ("avg_csat",),
    "csat_response_rate": ("avg_csat",),
    "risk_session_flag": ("risk_sessions_share", "high_risk_sessions_count"),
    "escalations_to_human": ("escalations_per_100_sessions", "total_escalations", "high_risk_user_flag"),
    "total_cost_usd": ("total_cost_usd",),
    "total_tokens": ("total_tokens", "avg_tokens_per_request"),
    "use_case": ("primary_use_case",), "channel": ("primary_channel",), "segment": ("dominant_segment",),
    "account_tier": ("dominant_account_tier",), "country_code": ("dominant_country_code",),
    "region": ("dominant_region",),
}  # fmt: skip
_NEUTRAL = {"final_resolution_state": "", "use_case": "", "channel": "", "country_code": "", "region": "",
            "account_tier": "", "segment": "", "user_id": ""}  # fmt: skip


def _guarded(compute: Any, frame: pd.DataFrame, key: str, needs: dict[str, tuple[str, ...]],
             absent: set[str]) -> pd.DataFrame:
    """``compute(frame)`` with unknown inputs filled neutrally, then the outputs that depend on an input unknown
    for the group (or absent from the project) set to NULL."""
    per_row = [c for c in needs if c in frame.columns and c != "user_feedback_score"]  # no score: no feedback
    unknown = frame[per_row].isna().groupby(frame[key]).any()
    filled = frame.copy()
    for col in needs:
        if col in per_row:
            filled[col] = filled[col].fillna(_NEUTRAL.get(col, 0))
    out = compute(filled).set_index(key)
    for col, outputs in needs.items():
        bad = (unknown[col].reindex(out.index, fill_value=True) if col in unknown.columns
               else pd.Series(col not in frame.columns, out.index))
        if col in absent:
            bad[:] = True
        for o in outputs:
            out[o] = out[o].astype(object).where(~bad.to_numpy(), None)
    return out.reset_index()


def _present(conn: psycopg.Connection[DictRow], table: str, project: str, columns: list[str]) -> set[str]:
    counts = conn.execute(sql.SQL("SELECT {} FROM {} WHERE project = %s").format(
        sql.SQL(", ").join(sql.SQL("count({0}) AS {0}").format(sql.Identifier(c)) for c in columns),
        sql.Identifier(table)), (project,)).fetchone()
    return {c for c in columns if counts and counts[c]}


def _read(conn: psycopg.Connection[DictRow], table: str, project: str, columns: list[str],
          key: str | None = None, keys: list[str] | None = None) -> pd.DataFrame:
    scope = sql.SQL(" AND {} = ANY(%s)").format(sql.Identifier(key)) if key and keys is not None else sql.SQL("")
    cur = conn.execute(sql.SQL("SELECT {} FROM {} WHERE project = %s{}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table), scope),
        (project, keys) if key and keys is not None else (project,))
    return pd.DataFrame(cur.fetchall(), columns=columns)


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    if any(isinstance(v, datetime) for v in a.head(1)) or any(isinstance(v, datetime) for v in b.head(1)):
        t, u = pd.to_datetime(a, utc=True, format="ISO8601"), pd.to_datetime(b, utc=True, format="ISO8601")
        return pd.Series((t - u).abs() < pd.Timedelta(seconds=1), index=a.index)
    try:
        return pd.Series(np.isclose(a.astype(float), b.astype(float), rtol=1e-4, atol=1e-6), index=a.index)
    except (TypeError, ValueError):
        return a.astype(str) == b.astype(str)


def _merge(conn: psycopg.Connection[DictRow], table: str, key: str, project: str,
           derived: pd.DataFrame) -> dict[str, Any]:
    """Write ``derived`` into ``table``: rows that are derived placeholders take every derived value; rows a file
    provided keep their values, get their NULL cells filled, and are checked (disagreements reported)."""
    cols = [c for c in TABLES[table].column_names if c != key and c in derived.columns]
    keys = derived[key].tolist()
    stored = _read(conn, table, project, [key, "summary_source", *cols], key, keys).set_index(key)
    d = derived.set_index(key).reindex(stored.index)
    from_file = stored["summary_source"] == "file"
    filled: dict[str, int] = {}
    mismatches: dict[str, dict[str, Any]] = {}
    for c in cols:
        have, new = stored[c].notna() & from_file, d[c].notna()
        both = have & new
        if both.any():
            differ = both & ~_same(stored[c].where(both, 0), d[c].where(both, 0))
            if differ.any():
                first = differ[differ].index[0]
                mismatches[c] = {"rows": int(differ.sum()), "first": str(first), "provided": str(stored.at[first, c]),
                                 "derived": str(d.at[first, c])}
        n = int((from_file & ~stored[c].notna() & new).sum())
        if n:
            filled[c] = n
    if cols:
        stage = sql.Identifier(f"derive_{table}")
        conn.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            stage, sql.SQL(", ").join(map(sql.Identifier, [key, *cols])), sql.Identifier(table)))
        with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                stage, sql.SQL(", ").join(map(sql.Identifier, [key, *cols])))) as copy:
            for k, row in d[cols].iterrows():
                copy.write_row([k, *(None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)
                                     for v in row.tolist())])
        sets = sql.SQL(", ").join(sql.SQL(
            "{0} = CASE WHEN s.summary_source = 'derived' THEN d.{0} ELSE COALESCE(s.{0}, d.{0}) END").format(
                sql.Identifier(c)) for c in cols)
        conn.execute(sql.SQL("UPDATE {t} AS s SET {sets} FROM {stage} AS d WHERE s.{k} = d.{k} AND s.project = %s")
                     .format(t=sql.Identifier(table), stage=stage, k=sql.Identifier(key), sets=sets), (project,))
        conn.execute(sql.SQL("DROP TABLE {}").format(stage))
    return {"rows": len(stored), "derived_rows": int((~from_file).sum()), "filled": filled,
            "mismatches": mismatches}


def derive_summaries(conn: psycopg.Connection[DictRow], project: str,
                     sessions: list[str] | None = None) -> dict[str, Any]:
    """Derive the project's session and user summaries from its interactions (see the module docstring), for
    every session or only ``sessions`` (and their users); returns, per table, how many cells each column got and
    the provided values that disagree with the derivation."""
    inputs = [c for c in SESSION_INPUT_COLUMNS if c != "session_id"]
    with conn.transaction():
        absent = set(inputs) - _present(conn, "interactions", project, inputs)
        inter = _read(conn, "interactions", project, ["session_id", *inputs], "session_id", sessions)
        if inter.empty:
            return {}
        inter["timestamp_utc"] = pd.to_datetime(inter["timestamp_utc"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        summary = _guarded(session_summary, inter, "session_id", _SESSION_NEEDS, absent)
        summary["user_id"] = inter.groupby("session_id", sort=True)["user_id"].first().reindex(
            summary["session_id"]).to_numpy()
        for dim in SESSION_DIMS[1:]:
            summary[dim] = summary[dim].replace("", None)
        report = {"sessions": _merge(conn, "sessions", "session_id", project, summary)}
        users = sorted({u for u in summary["user_id"] if isinstance(u, str)})
        stored = _read(conn, "sessions", project, TABLES["sessions"].column_names, "user_id",
                       users if sessions is not None else None)
        stored = stored[stored["user_id"].notna()]
        if not stored.empty:
            s_absent = {c for c in _USER_NEEDS if c in stored.columns and stored[c].isna().all()}
            per_user = _guarded(users_summary, stored, "user_id", _USER_NEEDS, s_absent)
            report["users"] = _merge(conn, "users", "user_id", project, per_user)
    return report


def mark_stale(conn: psycopg.Connection[DictRow], project: str, sessions: list[str]) -> None:
    """Flag ``sessions`` for :func:`refresh_stale` (their interactions changed)."""
    conn.execute("UPDATE sessions SET summary_stale = true WHERE project = %s AND session_id = ANY(%s) "
                 "AND NOT summary_stale", (project, sessions))


def refresh_stale(conn: psycopg.Connection[DictRow], limit: int = 5_000) -> int:
    """Derive the summaries of up to ``limit`` stale sessions per project and clear their flags; returns how many
    sessions were refreshed."""
    done = 0
    projects = [r["project"] for r in conn.execute("SELECT DISTINCT project FROM sessions WHERE summary_stale")]
    for project in projects:
        with conn.transaction():
            stale = [r["session_id"] for r in conn.execute(
                "SELECT session_id FROM sessions WHERE project = %s AND summary_stale ORDER BY session_id LIMIT %s "
                "FOR UPDATE SKIP LOCKED", (project, limit))]
            if stale:
                derive_summaries(conn, project, sessions=stale)
                conn.execute("UPDATE sessions SET summary_stale = false WHERE project = %s AND session_id = ANY(%s)",
                             (project, stale))
                done += len(stale)
    return done
