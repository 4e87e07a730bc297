"""Interaction rows for one block of sessions: outcomes, tokens, latency, texts (vectorised with numpy).

Baseline behaviour (fitted to the real summaries): models are uniform; failures depend on use case, account tier
and tool use (tool users fail about twice as often, largely through ``tool_error``); successful requests get
quality ~0.80 and feedback mostly positive, failed ones ~0.53 and mostly negative; about 55% of requests carry
feedback; escalations and retries are far more likely after a failure. The planted incidents of
:mod:`ingest.planted_incidents` are applied on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.calibration import (
    BASE_FAIL,
    BASE_TYPES,
    COMPLETION_MEAN,
    COMPLETION_SHAPE,
    FEEDBACK_OBSERVED,
    IMPACT_FAIL,
    IMPACT_OK,
    LATENCY_SIGMA,
    MAX_TOKENS,
    MAX_TOKENS_P,
    MODEL_LATENCY_MEDIAN,
    PROMPT_MEAN,
    PROMPT_SHAPE,
    REPAIRS,
    SCORE_P_FAIL,
    SCORE_P_OK,
    TIER_FAIL,
    TIER_TOKENS,
    TOOL_ERROR_HAZARD,
    TOOL_SHARE,
    TOOL_USER_FAIL,
    TOOL_WEIGHTS,
)
from ingest.formulas import (
    FAILURE_FLAGS,
    MODEL_PROVIDERS,
    TOOL_FAILURE_MARKER,
    cost_usd,
    feedback_label,
    format_ids,
    is_peak_hour,
    is_weekend,
    prompt_id,
    prompt_to_completion_ratio,
    tokens_per_second,
)
from ingest.planted_incidents import (
    HALLUCINATION_CLUSTER,
    LATENCY_REGRESSION,
    SAFETY_CLUSTER,
    SECURITY_SHARE,
    TOOL_REGRESSION,
    Incident,
)
from ingest.population import PERIOD_END
from ingest.responses import build_responses, sft_user_prompts
from ingest.schema import LEVELS, TABLES, TOOLS
from ingest.texts import INSTRUCTION_TEXTS, build_requests

MODELS = np.array(sorted(MODEL_PROVIDERS), dtype=object)
_BIT = {t: 1 << i for i, t in enumerate(TOOLS)}
_TOOL_STRINGS = np.array(
    ["|".join(t for t in TOOLS if m & _BIT[t]) or "none" for m in range(1 << len(TOOLS))], dtype=object
)
_TOOL_COUNTS = np.array([bin(m & ~_BIT[TOOL_FAILURE_MARKER]).count("1") for m in range(1 << len(TOOLS))])
PROMPT_IDS = {
    (uc, t): prompt_id(uc, t, INSTRUCTION_TEXTS[uc])
    for uc in LEVELS["use_case"]
    for t in LEVELS["instruction_template"]
}


@dataclass
class Block:
    """Rows generated for one block of sessions."""

    interactions: pd.DataFrame
    sft: pd.DataFrame
    labels: pd.DataFrame  # interaction_id, incident_id
    in_scope: dict[str, int]  # incident id -> rows in the incident's scope


def _window(inc: Incident, t: np.ndarray) -> np.ndarray:
    lo = int(pd.Timestamp(inc.window_start + "T00:00:00Z").timestamp())
    hi = int(pd.Timestamp(inc.window_end + "T00:00:00Z").timestamp()) + 86400
    return (t >= lo) & (t < hi)


def _pick(rng: np.random.Generator, table: dict[str, float], size: int) -> np.ndarray:
    keys = np.array(list(table), dtype=object)
    p = np.array(list(table.values()), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def _map(values: np.ndarray, table: Mapping[str, float]) -> np.ndarray:
    return pd.Series(values).map(table).to_numpy(dtype=float)


def _timeline(sess: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Row -> session index and epoch second, sorted by time (first request of a session at its start)."""
    n_req = sess["n_requests"].to_numpy()
    si = np.repeat(np.arange(len(sess)), n_req)
    first = np.concatenate([[0], np.cumsum(n_req)[:-1]])
    pos = np.arange(si.size) - first[si]
    long = n_req >= 6
    span = np.where(long, rng.uniform(1000, 13500, len(sess)), 0.0)
    off = np.where(long[si], rng.random(si.size) * span[si], np.minimum(rng.exponential(480, si.size), 2700))
    off = np.where(pos == 0, 0, off).astype(np.int64)
    dur = np.maximum.reduceat(off, first)
    start = np.minimum(sess["start"].to_numpy(dtype=np.int64), PERIOD_END - dur)
    t = start[si] + off
    order = np.lexsort((off, si, t))
    return si[order], t[order]


def _tools(rng: np.random.Generator, uc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tool bit mask per row (0 = no tools) and the first (most likely failing) tool's index."""
    n = uc.size
    logw = np.full((n, len(TOOLS)), -np.inf)
    for name, weights in TOOL_WEIGHTS.items():
        rows = uc == name
        for tool, w in weights.items():
            logw[rows, TOOLS.index(tool)] = np.log(w)
    keys = logw + rng.gumbel(size=logw.shape)
    ranked = np.argsort(-keys, axis=1)
    k = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    uses = rng.random(n) < _map(uc, TOOL_SHARE)
    mask = np.zeros(n, dtype=np.int64)
    for j in range(3):
        take = uses & (k > j)
        mask[take] |= np.left_shift(1, ranked[take, j])
    return mask, ranked[:, 0]


def _outcomes(
    rng: np.random.Generator,
    uc: np.ndarray,
    tier: np.ndarray,
    model: np.ndarray,
    t: np.ndarray,
    mask: np.ndarray,
    sensitive: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """failure_type and incident label per row, and each incident's scope mask."""
    n = uc.size
    ft = np.full(n, "none", dtype=object)
    label = np.full(n, "none", dtype=object)
    fired = np.zeros(n, dtype=bool)
    scopes = {
        SAFETY_CLUSTER.id: sensitive,
        TOOL_REGRESSION.id: ((mask & _BIT["sql_query"]) > 0) & _window(TOOL_REGRESSION, t),
        HALLUCINATION_CLUSTER.id: (uc == HALLUCINATION_CLUSTER.use_case) & (model == HALLUCINATION_CLUSTER.model),
        LATENCY_REGRESSION.id: (model == LATENCY_REGRESSION.model) & _window(LATENCY_REGRESSION, t),
    }
    for inc in (SAFETY_CLUSTER, TOOL_REGRESSION, HALLUCINATION_CLUSTER, LATENCY_REGRESSION):
        hit = scopes[inc.id] & ~fired & (rng.random(n) < inc.fire_probability)
        ft[hit], label[hit] = inc.failure_type, inc.id
        fired |= hit
    label[scopes[LATENCY_REGRESSION.id] & (label == "none")] = LATENCY_REGRESSION.id
    has_tools = mask > 0
    tool_err = has_tools & ~fired & (rng.random(n) < TOOL_ERROR_HAZARD)
    ft[tool_err] = "tool_error"
    p = _map(uc, BASE_FAIL) * _map(tier, TIER_FAIL) * np.where(has_tools, TOOL_USER_FAIL, 1.0)
    base = ~fired & ~tool_err & (rng.random(n) < p)
    ft[base] = _pick(rng, BASE_TYPES, n)[base]
    return ft, label, scopes


def _frame(data: dict[str, object], columns: list[str]) -> pd.DataFrame:
    """DataFrame in ``columns`` order; text stays ``object`` (no arrow-string conversion: it is only written)."""
    out: dict[str, pd.Series] = {}
    for c in columns:
        v = data[c]
        if isinstance(v, pd.Series):
            out[c] = v.reset_index(drop=True)
        elif isinstance(v, list) or (isinstance(v, np.ndarray) and v.dtype == object):
            out[c] = pd.Series(v, dtype=object)
        else:
            out[c] = pd.Series(v)
    return pd.DataFrame(out, copy=False)


def make_block(sess: pd.DataFrame, rng: np.random.Generator, first_number: int, width: int) -> Block:
    """Interactions, SFT samples and labels for the sessions of one block (ids from ``first_number``)."""
    si, t = _timeline(sess, rng)
    n = si.size
    col = {
        c: sess[c].to_numpy()[si]
        for c in (
            "session_id",
            "user_id",
            "use_case",
            "channel",
            "country_code",
            "region",
            "account_tier",
            "segment",
            "split",
        )
    }
    uc, tier = col["use_case"], col["account_tier"]
    model = MODELS[rng.integers(0, len(MODELS), n)]
    template = np.asarray(LEVELS["instruction_template"], dtype=object)[rng.integers(0, 6, n)]
    req = build_requests(uc, rng, SECURITY_SHARE)
    mask, first_tool = _tools(rng, uc)
    ft, label, scopes = _outcomes(rng, uc, tier, model, t, mask, req.sensitive)
    failed = ft != "none"
    failing = np.where(label == "INC-002", "sql_query", np.asarray(TOOLS, dtype=object)[first_tool])
    mask = np.where(ft == "tool_error", mask | _BIT[TOOL_FAILURE_MARKER], mask)

    max_tokens = np.asarray(MAX_TOKENS)[rng.choice(6, size=n, p=MAX_TOKENS_P)]
    scale = _map(tier, TIER_TOKENS) * np.where(failed, 0.9, 1.0)
    prompt = np.clip(np.rint(rng.gamma(PROMPT_SHAPE, PROMPT_MEAN / PROMPT_SHAPE, n) * scale), 13, 1910)
    completion = rng.gamma(COMPLETION_SHAPE, COMPLETION_MEAN / COMPLETION_SHAPE, n) * scale
    completion = np.where(ft == "safety_block", rng.uniform(20, 90, n), completion)
    completion = np.clip(np.rint(completion), 5, np.minimum(max_tokens, 1116)).astype(np.int64)
    prompt = prompt.astype(np.int64)
    total = prompt + completion

    lat = _map(model, MODEL_LATENCY_MEDIAN) * np.exp(rng.normal(0, LATENCY_SIGMA, n))
    lat = np.clip(lat * (completion / 390.0) ** 0.12, 150, 6000)
    timeout = ft == "latency_timeout"
    lat = np.where(timeout, np.maximum(lat * rng.uniform(1.4, 2.0, n), rng.uniform(2000, 2800, n)), lat)
    lat = np.rint(np.where(scopes[LATENCY_REGRESSION.id], lat * LATENCY_REGRESSION.latency_multiplier, lat))
    lat = lat.astype(np.int64)

    quality = np.where(failed, rng.normal(0.525, 0.11, n), rng.normal(0.80, 0.085, n))
    quality = np.round(np.clip(quality, 0.09, 1.0), 3)
    observed = rng.random(n) < FEEDBACK_OBSERVED
    score_ok = rng.choice(5, size=n, p=SCORE_P_OK) - 2
    score_bad = rng.choice(5, size=n, p=SCORE_P_FAIL) - 2
    score = pd.Series(np.where(observed, np.where(failed, score_bad, score_ok), np.nan), dtype=float)
    retried = rng.random(n) < np.where(failed, 0.48, 0.054)
    retry = np.where(retried, rng.choice([1, 2, 3], size=n, p=[0.65, 0.25, 0.10]), 0)
    u = rng.random(n)
    esc_p, aband_p = np.where(failed, 0.40, 0.084), np.where(failed, 0.18, 0.04)
    resolution = np.where(
        u < esc_p, "escalated_to_human", np.where(u < esc_p + aband_p, "abandoned", "auto_resolved")
    ).astype(object)
    repair = _pick(rng, REPAIRS["ok"], n)
    repair[~failed & (retry > 0)] = _pick(
        rng, {"regenerate_with_lower_temp": 0.6, "add_constraints_to_prompt": 0.4}, n
    )[~failed & (retry > 0)]
    for kind, table in REPAIRS.items():
        if kind != "ok":
            repair[ft == kind] = _pick(rng, table, n)[ft == kind]
    impact_levels = np.asarray(LEVELS["business_impact_tag"], dtype=object)
    impact = np.where(
        failed, impact_levels[rng.choice(4, size=n, p=IMPACT_FAIL)], impact_levels[rng.choice(4, size=n, p=IMPACT_OK)]
    )
    creative = (uc == "brainstorming") | (uc == "content_writing")
    temperature = np.round(np.where(creative, rng.uniform(0.5, 1.2, n), rng.uniform(0.0, 0.9, n)), 2)
    top_p = np.round(rng.uniform(0.71, 1.0, n), 2)
    reported = rng.random(n) < np.where(failed, 0.30, 0.04)
    full, snippet, good = build_responses(uc, ft, req.topic, model, failing, lat, req.sensitive, rng)

    ids = format_ids("INT", np.arange(first_number, first_number + n), width)
    ts = np.char.add(np.datetime_as_string(t.astype("datetime64[s]"), unit="s"), "Z").astype(object)
    days = t // 86400
    hour, dow = (t // 3600) % 24, (days + 3) % 7
    instruction = pd.Series(uc).map(INSTRUCTION_TEXTS).to_numpy(dtype=object)
    pids = np.array([PROMPT_IDS[(a, b)] for a, b in zip(uc.tolist(), template.tolist(), strict=True)], dtype=object)
    cost = cost_usd(total, model)
    snippet_arr = pd.Series(snippet, dtype=object)
    data: dict[str, object] = {
        "interaction_id": ids, "session_id": col["session_id"], "user_id": col["user_id"], "timestamp_utc": ts,
        "split": col["split"], "channel": col["channel"], "use_case": uc, "country_code": col["country_code"],
        "region": col["region"], "account_tier": tier, "segment": col["segment"],
        "instruction_template": template, "model_provider": pd.Series(model).map(MODEL_PROVIDERS).to_numpy(),
        "model_name": model, "temperature": temperature, "top_p": top_p, "max_tokens": max_tokens,
        "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total, "latency_ms": lat,
        "cost_usd": cost, "response_quality_score": quality, "is_failure": failed, "failure_type": ft,
    }  # fmt: skip
    for flag, kind in FAILURE_FLAGS.items():
        data[flag] = ft == kind
    data.update({
        "tool_calls_count": _TOOL_COUNTS[mask], "tools_used": _TOOL_STRINGS[mask], "user_feedback_score": score,
        "user_feedback_label": feedback_label(score).to_numpy(), "user_reported_issue": reported,
        "retry_index": retry, "repair_strategy": repair, "final_resolution_state": resolution,
        "business_impact_tag": impact, "request_text": req.text, "response_text_snippet": snippet,
        "tokens_per_second": tokens_per_second(total, lat),
        "date_utc": np.datetime_as_string(days.astype("datetime64[D]")).astype(object), "hour_of_day_utc": hour,
        "day_of_week": dow, "is_weekend": is_weekend(dow), "is_peak_hour": is_peak_hour(hour),
        "prompt_to_completion_ratio": prompt_to_completion_ratio(prompt, completion),
        "request_text_template": req.template, "instruction_text": instruction,
        "user_feedback_observed": observed, "prompt_id": pids,
        "response_text_snippet_len_chars": snippet_arr.str.len().to_numpy(),
        "response_text_snippet_is_truncated": snippet_arr.str.endswith("...").to_numpy(),
    })  # fmt: skip
    interactions = _frame(data, TABLES["interactions"].column_names)
    sft = _frame({
        "interaction_id": ids, "session_id": col["session_id"], "user_id": col["user_id"], "prompt_id": pids,
        "split": col["split"], "use_case": uc, "account_tier": tier, "country_code": col["country_code"],
        "segment": col["segment"], "raw_request_text": req.text, "raw_response_text": full,
        "sft_user_prompt": sft_user_prompts(instruction.tolist(), req.text), "sft_assistant_response": good,
        "sample_id": np.arange(first_number, first_number + n), "business_impact_tag": impact,
        "instruction_text": instruction,
    }, TABLES["sft_samples"].column_names)  # fmt: skip
    labels = _frame({"interaction_id": ids, "incident_id": label}, ["interaction_id", "incident_id"])
    return Block(interactions, sft, labels, {k: int(v.sum()) for k, v in scopes.items()})
