"""Formulas of the LLM System Ops telemetry, shared by the generator, the validator and the tests.

Every derived column of the five tables is defined here once. Scalar helpers take plain values; the
``*_series`` / array helpers are vectorised over pandas / numpy inputs.

Row-level formulas (interactions):

- ``split``: ``h = int(sha1(session_id).hexdigest(), 16) % 100``; ``train`` if h < 80, ``val`` if h < 90,
  else ``test`` (so all interactions of a session share a split).
- ``total_tokens = prompt_tokens + completion_tokens``.
- ``cost_usd = round(total_tokens / 1000 * MODEL_RATES[model_name], 6)`` (rates are USD per 1k tokens; the
  rounding only removes float noise: integer tokens times a 3-decimal rate have at most 6 decimals).
- ``tokens_per_second = round(total_tokens / (latency_ms / 1000), 6)``.
- ``prompt_to_completion_ratio = round(prompt_tokens / completion_tokens, 4)``.
- ``date_utc``, ``hour_of_day_utc``, ``day_of_week`` (0 = Monday), ``is_weekend`` (day 5 or 6),
  ``is_peak_hour`` (hour 9..18 inclusive) derive from ``timestamp_utc``.
- ``prompt_id = sha1(f"{use_case}|{instruction_template}|{instruction_text}")``.
- ``is_failure = failure_type != "none"``; the six ``*_flag`` columns are one-hot copies of failure_type.
- ``user_feedback_observed = user_feedback_score is not NaN``; ``user_feedback_label`` is ``no_feedback``
  (NaN), ``negative`` (< 0), ``neutral`` (0) or ``positive`` (> 0).
- ``tool_calls_count`` = number of real tools in ``tools_used`` (the marker ``tool_invocation_failed`` is not a
  call); ``tools_used == "none"`` exactly when ``tool_calls_count == 0``.
- ``response_text_snippet_len_chars = len(response_text_snippet)``; ``response_text_snippet_is_truncated`` is
  True exactly when the snippet ends with ``...``.

Prompts lookup: ``prompt_sha1 = sha1(template + "||" + instruction_text)``, ``prompt_len`` = length of that
string, ``instruction_sha1 = sha1(instruction_text)``, ``instruction_id = "SP_" + instruction_sha1[:12]``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

MODEL_RATES: dict[str, float] = {
    "gpt-4.1": 0.40,
    "claude-3.5-sonnet": 0.32,
    "gemini-1.5-pro": 0.32,
    "llama-3.1-70b": 0.20,
    "mistral-large": 0.12,
    "llama-3.1-8b": 0.06,
    "gpt-4o-mini": 0.02,
    "custom-local-8b": 0.004,
}
"""USD per 1,000 tokens (prompt + completion) by model_name."""

MODEL_PROVIDERS: dict[str, str] = {
    "gpt-4.1": "openai",
    "gpt-4o-mini": "openai",
    "claude-3.5-sonnet": "anthropic",
    "gemini-1.5-pro": "google",
    "llama-3.1-70b": "meta",
    "llama-3.1-8b": "meta",
    "mistral-large": "mistral",
    "custom-local-8b": "local",
}

REGION_BY_COUNTRY: dict[str, str] = {
    "AE": "EMEA", "DE": "EMEA", "EG": "EMEA", "FR": "EMEA", "GB": "EMEA",
    "AU": "APAC", "IN": "APAC",
    "BR": "AMER", "CA": "AMER", "US": "AMER",
}  # fmt: skip

FAILURE_FLAGS: dict[str, str] = {
    "hallucination_flag": "hallucination",
    "toxicity_flag": "toxicity",
    "safety_block_flag": "safety_block",
    "formatting_error_flag": "formatting_error",
    "tool_error_flag": "tool_error",
    "latency_timeout_flag": "latency_timeout",
}
"""One-hot flag column -> the failure_type it copies."""

TOOL_FAILURE_MARKER = "tool_invocation_failed"
PEAK_HOURS = range(9, 19)
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def sha1_hex(text: str) -> str:
    """Hex SHA-1 of a UTF-8 string."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def split_for_session(session_id: str) -> str:
    """The train/val/test split of a session: sha1 bucket < 80 train, < 90 val, else test."""
    h = int(sha1_hex(session_id), 16) % 100
    return "train" if h < 80 else ("val" if h < 90 else "test")


def split_series(session_ids: pd.Series) -> pd.Series:
    """Vectorised :func:`split_for_session` (hashes each distinct session once)."""
    uniques = pd.unique(session_ids.to_numpy())
    mapping = {sid: split_for_session(str(sid)) for sid in uniques}
    return session_ids.map(mapping).astype(str)


def cost_usd(total_tokens: np.ndarray | pd.Series, model_names: Iterable[str] | pd.Series) -> np.ndarray:
    """``round(total_tokens / 1000 * rate(model), 6)`` for arrays of tokens and model names."""
    rates = pd.Series(list(model_names)).map(MODEL_RATES).to_numpy(dtype=float)
    return np.round(np.asarray(total_tokens, dtype=float) / 1000.0 * rates, 6)


def tokens_per_second(total_tokens: np.ndarray | pd.Series, latency_ms: np.ndarray | pd.Series) -> np.ndarray:
    """``round(total_tokens / (latency_ms / 1000), 6)``."""
    return np.round(np.asarray(total_tokens, dtype=float) / (np.asarray(latency_ms, dtype=float) / 1000.0), 6)


def prompt_to_completion_ratio(
    prompt_tokens: np.ndarray | pd.Series, completion_tokens: np.ndarray | pd.Series
) -> np.ndarray:
    """``round(prompt_tokens / completion_tokens, 4)``."""
    return np.round(np.asarray(prompt_tokens, dtype=float) / np.asarray(completion_tokens, dtype=float), 4)


def prompt_id(use_case: str, instruction_template: str, instruction_text: str) -> str:
    """``sha1(f"{use_case}|{instruction_template}|{instruction_text}")``."""
    return sha1_hex(f"{use_case}|{instruction_template}|{instruction_text}")


def prompt_sha1(instruction_template: str, instruction_text: str) -> str:
    """``sha1(template + "||" + instruction_text)`` as in the prompts lookup."""
    return sha1_hex(f"{instruction_template}||{instruction_text}")


def prompt_len(instruction_template: str, instruction_text: str) -> int:
    """Length of ``template + "||" + instruction_text``."""
    return len(f"{instruction_template}||{instruction_text}")


def instruction_id(instruction_text: str) -> str:
    """``"SP_" + sha1(instruction_text)[:12]``."""
    return "SP_" + sha1_hex(instruction_text)[:12]


def id_width(minimum: int, count: int) -> int:
    """Digits of an id: the real minimum width, growing when ``count`` needs more digits."""
    return max(minimum, len(str(max(count, 1))))


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded ids such as ``INT000001`` for an array of 1-based numbers."""
    return np.char.add(prefix, np.char.zfill(np.asarray(numbers).astype(str), width)).astype(object)


def feedback_label(scores: pd.Series) -> pd.Series:
    """``no_feedback`` for NaN, else negative / neutral / positive by the sign of the score."""
    out = np.where(
        scores.isna(), "no_feedback", np.where(scores < 0, "negative", np.where(scores > 0, "positive", "neutral"))
    )
    return pd.Series(out, index=scores.index, dtype=object)


def is_peak_hour(hours: np.ndarray | pd.Series) -> np.ndarray:
    """Peak hours are 9..18 UTC inclusive."""
    h = np.asarray(hours)
    return (h >= PEAK_HOURS.start) & (h < PEAK_HOURS.stop)


def is_weekend(day_of_week: np.ndarray | pd.Series) -> np.ndarray:
    """Saturday (5) and Sunday (6)."""
    return np.asarray(day_of_week) >= 5


def count_tools(tools_used: pd.Series) -> pd.Series:
    """Number of real tools in a pipe-joined ``tools_used`` value (``none`` and the failure marker count 0)."""
    parts = tools_used.astype(str).str.split("|")
    return parts.map(lambda xs: sum(1 for x in xs if x not in ("none", TOOL_FAILURE_MARKER))).astype(int)


def risk_session_rule(failure_rate: pd.Series, escalations: pd.Series, csat_mean: pd.Series) -> pd.Series:
    """Heuristic triage label for a session (no published rule; this one agrees with 96.6% of the real file).

    A session is risky when at least half of its requests failed and either every request failed, or at least
    one request was escalated to a human and the user left feedback.
    """
    return (failure_rate >= 0.5) & ((failure_rate >= 1.0) | ((escalations > 0) & csat_mean.notna()))


def high_risk_user_rule(escalations_per_100_sessions: pd.Series, overall_failure_rate: pd.Series) -> pd.Series:
    """Heuristic user label (agrees with about 96% of the real users file).

    High risk when escalations per 100 sessions exceed 160, or exceed 140 with an overall failure rate > 0.4.
    """
    e = escalations_per_100_sessions
    return (e > 160) | ((e > 140) & (overall_failure_rate > 0.4))
