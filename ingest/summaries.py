"""Session, user and prompt summaries computed from interactions (formulas inferred from the real files).

Sessions summary (one row per session; every aggregate reconciles with the session's interactions):

- dimensions (user_id, use_case, channel, country_code, region, account_tier, segment) are constant per session;
- roundings are numpy's (half to even on the exact binary value, as in the real file: 1369.625 -> 1369.62);
- ``failure_rate = round(failed_requests / total_requests, 4)``; ``avg_latency_ms = round(mean latency, 2)``;
  ``median_latency_ms`` = median latency; ``avg_response_quality_score`` = mean quality in thousandths rounded to
  an integer (half to even, like ``round``) / 1000;
  ``avg_tokens_per_request = round(total_tokens / total_requests, 1)``;
- ``requests_with_tools`` counts ``tool_calls_count > 0``; ``share_requests_with_tools`` = that / total;
  ``n_retry_requests`` counts ``retry_index > 0``; ``escalations_to_human`` counts
  ``final_resolution_state == "escalated_to_human"``;
- ``csat_mean`` = mean of observed feedback scores (NaN when none); ``csat_response_rate`` = observed / total;
- ``total_cost_usd = round(sum(cost_usd), 6)`` (summed in integer micro-dollars, so it does not depend on the
  summation order); ``avg_cost_per_request = total_cost_usd / total_requests``;
  ``cost_per_1k_tokens = total_cost_usd / total_tokens * 1000``;
- ``avg_tokens_per_second = round(mean(tokens_per_second), 6)``;
- start / end = first / last ``timestamp_utc``; ``session_duration_seconds = end - start``; minutes = seconds / 60;
  ``requests_per_minute = total_requests / minutes`` (NaN for zero-duration sessions);
  ``total_latency_ms`` = sum of latencies; ``total_latency_seconds = total_latency_ms / 1000``;
  ``effective_session_duration_seconds = max(duration, total_latency_seconds)``;
  ``requests_per_minute_effective = total_requests / (effective / 60)``;
- ``risk_session_flag``: :func:`ingest.formulas.risk_session_rule`.

Users summary (computable from the sessions summary alone): sums of the session counts,
``overall_failure_rate = failed / requests``, ``avg_csat`` = mean of all observed scores (rebuilt exactly from
``csat_mean`` and ``csat_response_rate``), ``risk_sessions_share = round(risky / sessions, 4)``,
``escalations_per_100_sessions = escalations / sessions * 100``, modes over the user's sessions with ties broken
alphabetically, ``high_risk_user_flag``: :func:`ingest.formulas.high_risk_user_rule`.

Prompts lookup: one row per prompt_id seen; ``share_within_template = n_interactions / interactions of the
template``; ``n_sessions`` / ``n_users`` = distinct sessions / users; ``use_case_mismatch_count`` = interactions of
the prompt whose use_case differs from the prompt's use_case.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.formulas import (
    high_risk_user_rule,
    instruction_id,
    prompt_len,
    prompt_sha1,
    risk_session_rule,
    sha1_hex,
)
from ingest.schema import TABLES

SESSION_DIMS = ["user_id", "use_case", "channel", "country_code", "region", "account_tier", "segment"]
SESSION_INPUT_COLUMNS = [
    "session_id", *SESSION_DIMS, "timestamp_utc", "is_failure", "latency_ms", "response_quality_score",
    "total_tokens", "tool_calls_count", "retry_index", "final_resolution_state", "user_feedback_score",
    "cost_usd", "tokens_per_second",
]  # fmt: skip
"""Interaction columns needed by :func:`session_summary` (for a chunked re-read with ``usecols``)."""

PROMPT_INPUT_COLUMNS = ["prompt_id", "session_id", "user_id", "use_case", "instruction_template", "instruction_text"]


def _micro(x: pd.Series | np.ndarray) -> np.ndarray:
    """Dollars -> integer micro-dollars (exact for values with at most 6 decimals)."""
    return np.rint(np.asarray(x, dtype=float) * 1e6).astype(np.int64)


def session_summary(interactions: pd.DataFrame) -> pd.DataFrame:
    """The 37-column sessions summary of ``interactions`` (sorted by session_id)."""
    df = interactions
    ts = pd.to_datetime(df["timestamp_utc"], format="%Y-%m-%dT%H:%M:%SZ", utc=True)
    epoch = (ts - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
    score = df["user_feedback_score"].astype(float)
    work = pd.DataFrame({
        "session_id": df["session_id"].to_numpy(),
        "failed": df["is_failure"].astype(bool).to_numpy(),
        "lat": df["latency_ms"].astype(np.int64).to_numpy(),
        "q_milli": np.rint(df["response_quality_score"].astype(float).to_numpy() * 1000).astype(np.int64),
        "tok": df["total_tokens"].astype(np.int64).to_numpy(),
        "tools": (df["tool_calls_count"].astype(np.int64) > 0).to_numpy(),
        "retry": (df["retry_index"].astype(np.int64) > 0).to_numpy(),
        "esc": (df["final_resolution_state"] == "escalated_to_human").to_numpy(),
        "obs": score.notna().to_numpy(),
        "score": score.fillna(0).astype(np.int64).to_numpy(),
        "cost": _micro(df["cost_usd"]),
        "tps": df["tokens_per_second"].astype(float).to_numpy(),
        "t": epoch.to_numpy(dtype=np.int64),
    })  # fmt: skip
    g = work.groupby("session_id", sort=True)
    agg = g.agg(
        n=("lat", "size"), failed=("failed", "sum"), lat=("lat", "sum"), med=("lat", "median"),
        q=("q_milli", "sum"), tok=("tok", "sum"), tools=("tools", "sum"), retry=("retry", "sum"),
        esc=("esc", "sum"), obs=("obs", "sum"), score=("score", "sum"), cost=("cost", "sum"),
        tps=("tps", "mean"), t0=("t", "min"), t1=("t", "max"),
    )  # fmt: skip
    dims = df.groupby("session_id", sort=True)[SESSION_DIMS].first()
    n = agg["n"].astype(np.int64)
    out = pd.DataFrame(index=agg.index)
    out[SESSION_DIMS] = dims[SESSION_DIMS]
    out["total_requests"] = n
    out["failed_requests"] = agg["failed"].astype(np.int64)
    out["failure_rate"] = np.round(out["failed_requests"] / n, 4)
    out["avg_latency_ms"] = np.round(agg["lat"] / n, 2)
    out["median_latency_ms"] = agg["med"].astype(float)
    out["avg_response_quality_score"] = np.round(agg["q"] / n) / 1000
    out["avg_tokens_per_request"] = np.round(agg["tok"] / n, 1)
    out["requests_with_tools"] = agg["tools"].astype(np.int64)
    out["share_requests_with_tools"] = out["requests_with_tools"] / n
    out["n_retry_requests"] = agg["retry"].astype(np.int64)
    out["escalations_to_human"] = agg["esc"].astype(np.int64)
    obs = agg["obs"].astype(np.int64)
    out["csat_mean"] = (agg["score"] / obs.where(obs > 0)).astype(float)
    out["csat_response_rate"] = obs / n
    out["risk_session_flag"] = risk_session_rule(out["failure_rate"], out["escalations_to_human"], out["csat_mean"])
    out["total_cost_usd"] = agg["cost"] / 1e6
    out["total_tokens"] = agg["tok"].astype(np.int64)
    out["avg_cost_per_request"] = out["total_cost_usd"] / n
    out["cost_per_1k_tokens"] = out["total_cost_usd"] / out["total_tokens"] * 1000
    out["avg_tokens_per_second"] = np.round(agg["tps"], 6)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    out["start_timestamp_utc"] = pd.to_datetime(agg["t0"], unit="s").dt.strftime(fmt)
    out["end_timestamp_utc"] = pd.to_datetime(agg["t1"], unit="s").dt.strftime(fmt)
    dur = (agg["t1"] - agg["t0"]).astype(float)
    out["session_duration_seconds"] = dur
    out["session_duration_minutes"] = dur / 60
    out["requests_per_minute"] = n / out["session_duration_minutes"].where(dur > 0)
    out["total_latency_ms"] = agg["lat"].astype(np.int64)
    out["zero_duration_session_flag"] = dur == 0
    out["total_latency_seconds"] = out["total_latency_ms"] / 1000
    out["effective_session_duration_seconds"] = np.maximum(dur, out["total_latency_seconds"])
    out["requests_per_minute_effective"] = n / (out["effective_session_duration_seconds"] / 60)
    out = out.reset_index()
    return out[TABLES["sessions"].column_names]


def _mode(df: pd.DataFrame, key: str, col: str) -> pd.Series:
    """Most frequent ``col`` per ``key``; ties break alphabetically."""
    counts = df.groupby([key, col], sort=False).size().rename("_n").reset_index()
    counts = counts.sort_values([key, "_n", col], ascending=[True, False, True], kind="mergesort")
    return counts.drop_duplicates(key).set_index(key)[col]


def users_summary(sessions: pd.DataFrame) -> pd.DataFrame:
    """The 21-column users summary computed from a sessions summary (sorted by user_id)."""
    s = sessions
    n_obs = np.rint(s["csat_response_rate"].to_numpy(dtype=float) * s["total_requests"].to_numpy(dtype=float))
    score_sum = np.rint(s["csat_mean"].astype(float).fillna(0).to_numpy() * n_obs)
    work = pd.DataFrame({
        "user_id": s["user_id"].to_numpy(), "req": s["total_requests"].astype(np.int64).to_numpy(),
        "failed": s["failed_requests"].astype(np.int64).to_numpy(), "obs": n_obs.astype(np.int64),
        "score": score_sum.astype(np.int64), "risk": s["risk_session_flag"].astype(bool).to_numpy(),
        "esc": s["escalations_to_human"].astype(np.int64).to_numpy(), "cost": _micro(s["total_cost_usd"]),
        "tok": s["total_tokens"].astype(np.int64).to_numpy(),
    })  # fmt: skip
    agg = work.groupby("user_id", sort=True).agg(
        ns=("req", "size"), req=("req", "sum"), failed=("failed", "sum"), obs=("obs", "sum"),
        score=("score", "sum"), risk=("risk", "sum"), esc=("esc", "sum"), cost=("cost", "sum"),
        tok=("tok", "sum"),
    )  # fmt: skip
    out = pd.DataFrame(index=agg.index)
    ns = agg["ns"].astype(np.int64)
    out["total_sessions"] = ns
    out["total_requests"] = agg["req"].astype(np.int64)
    out["total_failed_requests"] = agg["failed"].astype(np.int64)
    out["overall_failure_rate"] = out["total_failed_requests"] / out["total_requests"]
    out["avg_csat"] = (agg["score"] / agg["obs"].where(agg["obs"] > 0)).astype(float)
    out["risk_sessions_share"] = np.round(agg["risk"] / ns, 4)
    out["escalations_per_100_sessions"] = agg["esc"] / ns * 100
    out["total_cost_usd"] = agg["cost"] / 1e6
    out["total_tokens"] = agg["tok"].astype(np.int64)
    out["avg_tokens_per_request"] = out["total_tokens"] / out["total_requests"]
    out["avg_requests_per_session"] = out["total_requests"] / ns
    for target, col in [
        ("primary_use_case", "use_case"),
        ("primary_channel", "channel"),
        ("dominant_segment", "segment"),
        ("dominant_account_tier", "account_tier"),
        ("dominant_country_code", "country_code"),
        ("dominant_region", "region"),
    ]:
        out[target] = _mode(s, "user_id", col)
    out["high_risk_user_flag"] = high_risk_user_rule(out["escalations_per_100_sessions"], out["overall_failure_rate"])
    out["high_risk_sessions_count"] = agg["risk"].astype(np.int64)
    out["total_escalations"] = agg["esc"].astype(np.int64)
    out = out.reset_index()
    return out[TABLES["users"].column_names]


class PromptStats:
    """Incremental prompt counts over interaction chunks (chunks may split sessions or users)."""

    def __init__(self) -> None:
        self._info: dict[str, tuple[str, str, str]] = {}  # prompt_id -> (template, use_case, instruction)
        self._index: dict[str, int] = {}
        self._n: dict[str, int] = {}
        self._mismatch: dict[str, int] = {}
        self._pairs: dict[str, list[np.ndarray]] = {"session_id": [], "user_id": []}

    def update(self, df: pd.DataFrame) -> None:
        """Add one chunk of interactions (needs :data:`PROMPT_INPUT_COLUMNS`)."""
        firsts = df.drop_duplicates("prompt_id")
        for pid, tmpl, uc, text in zip(
            firsts["prompt_id"],
            firsts["instruction_template"],
            firsts["use_case"],
            firsts["instruction_text"],
            strict=True,
        ):
            if pid not in self._info:
                self._info[pid] = (str(tmpl), str(uc), str(text))
                self._index[pid] = len(self._index)
        counts = df.groupby("prompt_id", sort=False).size()
        for pid, c in counts.items():
            self._n[str(pid)] = self._n.get(str(pid), 0) + int(c)
        own_uc = df["prompt_id"].map({k: v[1] for k, v in self._info.items()})
        bad = df.loc[own_uc != df["use_case"], "prompt_id"].value_counts()
        for pid, c in bad.items():
            self._mismatch[str(pid)] = self._mismatch.get(str(pid), 0) + int(c)
        pidx = df["prompt_id"].map(self._index).to_numpy(dtype=np.int64)
        for col in self._pairs:
            num = df[col].astype(str).str[1:].astype(np.int64).to_numpy()
            self._pairs[col].append(np.unique(pidx * 10**12 + num))

    def _distinct(self, col: str) -> dict[int, int]:
        arrays = self._pairs[col]
        codes = np.unique(np.concatenate(arrays)) if arrays else np.array([], dtype=np.int64)
        idx, cnt = np.unique(codes // 10**12, return_counts=True)
        return dict(zip(idx.tolist(), cnt.tolist(), strict=True))

    def lookup(self) -> pd.DataFrame:
        """The 14-column prompts lookup, ordered by (instruction_template, use_case)."""
        sessions, users = self._distinct("session_id"), self._distinct("user_id")
        rows = []
        for pid, (tmpl, uc, text) in self._info.items():
            i = self._index[pid]
            rows.append({
                "prompt_id": pid, "prompt_sha1": prompt_sha1(tmpl, text), "prompt_len": prompt_len(tmpl, text),
                "instruction_template": tmpl, "use_case": uc, "n_interactions": self._n.get(pid, 0),
                "n_sessions": sessions.get(i, 0), "n_users": users.get(i, 0),
                "use_case_mismatch_count": self._mismatch.get(pid, 0), "instruction_text": text,
                "instruction_id": instruction_id(text), "instruction_sha1": sha1_hex(text),
                "instruction_len": len(text),
            })  # fmt: skip
        out = pd.DataFrame(rows).sort_values(["instruction_template", "use_case"], kind="mergesort")
        per_template = out.groupby("instruction_template")["n_interactions"].transform("sum")
        out["share_within_template"] = out["n_interactions"] / per_template
        return out[TABLES["prompts"].column_names].reset_index(drop=True)


def prompts_lookup(interactions: pd.DataFrame) -> pd.DataFrame:
    """The prompts lookup of a whole interactions frame."""
    stats = PromptStats()
    stats.update(interactions)
    return stats.lookup()
