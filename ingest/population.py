"""Users and sessions of the synthetic telemetry (who, where, when, how many requests).

Fitted to the real summaries: requests per session ~ zero-truncated Poisson(5.5) (real mean 5.64, 1..14),
sessions per user ~ zero-truncated Poisson(3.45) (real mean 3.64), user country / tier / segment and session
use case / channel frequencies and the hour-of-day / day-of-week profile of session starts copied from the real
sessions file. Session ids are numbered user by user (consecutive sessions often share a user, as in the real
file); the frame is returned sorted by start time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.formulas import REGION_BY_COUNTRY, format_ids, id_width, split_series

REQUESTS_PER_SESSION = 5.5
SESSIONS_PER_USER = 3.45
PERIOD_START = int(pd.Timestamp("2025-02-01T00:00:00Z").timestamp())
PERIOD_END = int(pd.Timestamp("2025-04-30T23:59:59Z").timestamp())
N_DAYS = (PERIOD_END + 1 - PERIOD_START) // 86400

COUNTRIES = {"IN": 75, "US": 67, "GB": 53, "BR": 45, "EG": 45, "FR": 40, "DE": 34, "AE": 33, "AU": 24, "CA": 22}
TIERS = {"free": 240, "pro": 133, "enterprise": 65}
SEGMENT_BY_TIER = {  # enterprise_team, individual, team
    "enterprise": (17, 29, 19), "free": (44, 107, 89), "pro": (23, 69, 41),
}  # fmt: skip
SEGMENTS = ("enterprise_team", "individual", "team")
USE_CASES = {
    "customer_support": 482,
    "coding_assistant": 294,
    "data_analysis": 253,
    "content_writing": 248,
    "brainstorming": 171,
    "internal_qa": 147,
}
CHANNELS = {"web_app": 643, "api": 403, "mobile_app": 219, "slack": 167, "internal_tool": 163}
HOUR_WEIGHTS = (52, 50, 53, 50, 29, 19, 52, 106, 121, 130, 98, 29, 19, 107, 108, 116, 131, 30, 14, 64, 60, 64, 65, 28)
DOW_WEIGHTS = (250, 334, 287, 251, 242, 114, 117)  # Monday first


@dataclass
class Population:
    """Sessions (one row each, sorted by start) and the number of users."""

    sessions: pd.DataFrame  # session_id, user_id, dims, n_requests, start (epoch s), split
    n_users: int


def _choice(rng: np.random.Generator, weights: dict[str, int], size: int) -> np.ndarray:
    keys = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def zt_poisson(rng: np.random.Generator, lam: float, size: int) -> np.ndarray:
    """Zero-truncated Poisson draws (redraw zeros)."""
    out = rng.poisson(lam, size)
    zero = out == 0
    while zero.any():
        out[zero] = rng.poisson(lam, int(zero.sum()))
        zero = out == 0
    return out


def _partition(rng: np.random.Generator, lam: float, total: int) -> np.ndarray:
    """Positive counts from zt-Poisson(lam) summing exactly to ``total`` (the last one is trimmed)."""
    parts: list[np.ndarray] = []
    acc = 0
    while acc < total:
        batch = zt_poisson(rng, lam, max(16, int((total - acc) / lam * 1.1) + 16))
        parts.append(batch)
        acc += int(batch.sum())
    counts = np.concatenate(parts)
    cum = np.cumsum(counts)
    k = int(np.searchsorted(cum, total))
    counts = counts[: k + 1].copy()
    counts[-1] -= int(cum[k]) - total
    return counts


def session_starts(rng: np.random.Generator, size: int) -> np.ndarray:
    """Epoch seconds of session starts with the real day-of-week and hour-of-day profile."""
    day = np.arange(N_DAYS)
    dow = (day + pd.Timestamp("2025-02-01").day_of_week) % 7
    pday = np.asarray(DOW_WEIGHTS, dtype=float)[dow]
    phour = np.asarray(HOUR_WEIGHTS, dtype=float)
    d = rng.choice(N_DAYS, size=size, p=pday / pday.sum())
    h = rng.choice(24, size=size, p=phour / phour.sum())
    s = rng.integers(0, 3600, size=size)
    return PERIOD_START + d * 86400 + h * 3600 + s


def make_population(rows: int, rng: np.random.Generator) -> Population:
    """Draw users and sessions whose request counts sum to exactly ``rows``."""
    requests = _partition(rng, REQUESTS_PER_SESSION, rows)
    n_sessions = len(requests)
    per_user = _partition(rng, SESSIONS_PER_USER, n_sessions)
    n_users = len(per_user)
    country = _choice(rng, COUNTRIES, n_users)
    tier = _choice(rng, TIERS, n_users)
    segment = np.empty(n_users, dtype=object)
    for t, w in SEGMENT_BY_TIER.items():
        idx = np.flatnonzero(tier == t)
        p = np.asarray(w, dtype=float)
        segment[idx] = np.asarray(SEGMENTS, dtype=object)[rng.choice(3, size=idx.size, p=p / p.sum())]
    user_ids = format_ids("U", np.arange(1, n_users + 1), id_width(5, n_users))
    # sessions numbered user by user, users visited in a random order
    order = rng.permutation(n_users)
    owner = np.repeat(order, per_user[order])
    sessions = pd.DataFrame({
        "session_id": format_ids("S", np.arange(1, n_sessions + 1), id_width(5, n_sessions)),
        "user_id": user_ids[owner],
        "use_case": _choice(rng, USE_CASES, n_sessions),
        "channel": _choice(rng, CHANNELS, n_sessions),
        "country_code": country[owner],
        "account_tier": tier[owner],
        "segment": segment[owner],
        "n_requests": rng.permutation(requests),
        "start": session_starts(rng, n_sessions),
    })  # fmt: skip
    sessions.insert(5, "region", sessions["country_code"].map(REGION_BY_COUNTRY))
    sessions["split"] = split_series(sessions["session_id"])
    sessions = sessions.sort_values(["start", "session_id"], kind="mergesort").reset_index(drop=True)
    return Population(sessions=sessions, n_users=n_users)
