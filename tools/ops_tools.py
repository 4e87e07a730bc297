"""LangChain tools the debugging agents call: thin wrappers over analytics and retrieval, compact JSON out.

Each tool validates its arguments, makes one call and returns JSON-serialisable data. Incidents carry example
interaction ids read back from the database, so an agent can cite rows that really show them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from threading import Lock
from typing import Annotated, Any

import pandas as pd
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import InjectedState

from analytics.incident_detection import detect_incidents
from analytics.scan import scan_incidents
from analytics.timeseries import cost_by_model, latency_by_model, overall_summary, records
from core.projects import DEFAULT_PROJECT
from services.capabilities import unavailable
from services.retrieval import SearchFilters, search_similar, similar_incidents
from services.telemetry import data_version, example_ids, load_interactions, pooled

_Project = Annotated[str, InjectedState("project")]  # the agent's project, injected by ToolNode (hidden from models)
_cache: dict[str, Any] = {}
_cache_lock = Lock()


def _frame(project: str = DEFAULT_PROJECT) -> pd.DataFrame:
    """The project's interactions (analytics columns), cached until its data version changes."""
    with pooled() as conn:
        key = data_version(conn, project)
        with _cache_lock:
            if _cache.get("key") != key:
                _cache.clear()
                _cache.update(key=key, frame=load_interactions(conn, project=project))
            return _cache["frame"]  # type: ignore[no-any-return]


RESULT_CACHE_SIZE = 256


def _memo(name: str, args: tuple[Any, ...], compute: Callable[[pd.DataFrame], dict[str, Any]],
          project: str = DEFAULT_PROJECT) -> dict[str, Any]:
    """``compute(frame)`` for one tool call, remembered per data version and arguments (the frame-based tools are
    pure functions of the table and their arguments); callers get their own copy."""
    frame = _frame(project)
    key = (_cache.get("key"), name, args)
    with _cache_lock:
        results = _cache.setdefault("results", {})
        hit = results.get(key)
    if hit is None:
        hit = compute(frame)
        with _cache_lock:
            results[key] = hit
            while len(results) > RESULT_CACHE_SIZE:
                results.pop(next(iter(results)))
    return copy.deepcopy(hit)


def _window(df: pd.DataFrame, model_name: str | None, use_case: str | None, start: str | None,
            end: str | None) -> pd.DataFrame:
    mask = pd.Series(True, index=df.index)
    if model_name:
        mask &= df["model_name"] == model_name
    if use_case:
        mask &= df["use_case"] == use_case
    if start:
        mask &= df["timestamp"] >= pd.Timestamp(start, tz="UTC")
    if end:
        mask &= df["timestamp"] < pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)
    return df[mask]


def _with_examples(incidents: list[dict[str, Any]], limit: int = 5, project: str = DEFAULT_PROJECT) -> list[
        dict[str, Any]]:
    with pooled() as conn:
        for inc in incidents:
            key_col = inc["dimension"] if inc["dimension"] != "all" else None
            slow = inc["baseline"] if inc["kind"] == "latency_p95" else None
            inc["example_ids"] = example_ids(conn, start=inc["start"], end=inc["end"], key_col=key_col,
                                             key=inc["key"], failure_type=inc["failure_type"], slow_ms=slow,
                                             limit=limit, project=project)
    return incidents


DIMENSIONS = ("model_name", "use_case", "tool")
IGNORED_TOOLS = ("none", "tool_invocation_failed")


def _by_dimension(df: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """The frame keyed by ``dimension``; for ``tool`` one row per tool a request used."""
    if dimension != "tool":
        return df
    exploded = df.assign(tool=df["tools_used"].astype(str).str.split("|")).explode("tool")
    return exploded[~exploded["tool"].isin(IGNORED_TOOLS)].reset_index(drop=True)


def _incidents(df: pd.DataFrame, kind: str, filters: tuple[str | None, ...], failure_type: str | None = None,
               top: int = 5, project: str = DEFAULT_PROJECT) -> list[dict[str, Any]]:
    """Incidents of ``kind`` across models, use cases and tools (strongest first, one per window and type);
    without the fleet-wide series when the frame is already one model's. Cached per data version and filters."""
    key = (_cache.get("key"), filters, kind, failure_type, top)
    overall = not filters[0]  # without the fleet-wide series when the frame is already one model's
    with _cache_lock:
        hit = _cache.setdefault("incidents", {}).get(key)
    if hit is not None:
        return [dict(x) for x in hit]
    result = _compute_incidents(df, kind, overall, failure_type, top, project)
    with _cache_lock:
        _cache["incidents"][key] = result
    return [dict(x) for x in result]


def _compute_incidents(df: pd.DataFrame, kind: str, overall: bool, failure_type: str | None,
                       top: int, project: str) -> list[dict[str, Any]]:
    unique: list[dict[str, Any]] = []
    for i, dim in enumerate(DIMENSIONS):  # broader dimensions first: a slice of a known window adds nothing
        frame = _by_dimension(df, dim)
        found = [x.to_dict() for x in detect_incidents(frame, dimension=dim, include_overall=overall and i == 0,
                                                      kind=kind)]
        if kind == "failure_rate":  # sustained shifts in sparse series (one tool) that daily z-scores miss
            found += [x.to_dict() for x in scan_incidents(frame, dim)]
        if failure_type:
            found = [x for x in found if x["failure_type"] in (failure_type, None)]
        # a keyed series before the fleet's: "llama-3.1-70b from 03-18" explains what "all from 03-18" only shows
        for x in sorted(found, key=lambda x: (x["dimension"] == "all", -x["magnitude"])):
            if not any(u["failure_type"] == x["failure_type"] and u["start"] <= x["end"] and x["start"] <= u["end"]
                       for u in unique):
                unique.append(x)
    unique.sort(key=lambda x: -x["magnitude"])
    return _with_examples(unique[:top], project=project)


@tool
def failure_trends(model_name: str | None = None, use_case: str | None = None, start: str | None = None,
                   end: str | None = None, failure_type: str | None = None,
                   project: _Project = DEFAULT_PROJECT) -> dict[str, Any]:
    """Failure rate and mix (overall and by type) and detected failure-rate incidents (by model, use case and
    tool) with example ids. Dates are YYYY-MM-DD (end inclusive); ``failure_type`` narrows the incidents."""
    def compute(frame: pd.DataFrame) -> dict[str, Any]:
        df = _window(frame, model_name, use_case, start, end)
        by_type = df.loc[df["failure_type"] != "none", "failure_type"].value_counts()
        by_model = df.groupby("model_name")["is_failure"].mean().sort_values(ascending=False).round(4)
        return {"rows": len(df), "failure_rate": round(float(df["is_failure"].mean()), 4) if len(df) else None,
                "by_type": by_type.to_dict(), "failure_rate_by_model": by_model.to_dict(),
                "incidents": _incidents(df, "failure_rate", (model_name, use_case, start, end), failure_type,
                                        project=project)}

    return _memo("failure_trends", (model_name, use_case, start, end, failure_type), compute, project)


@tool
def latency_report(model_name: str | None = None, use_case: str | None = None, start: str | None = None,
                   end: str | None = None, project: _Project = DEFAULT_PROJECT) -> dict[str, Any]:
    """Latency per model (p50/p95/mean/count) and detected latency-p95 incidents with the slowest example ids."""
    missing = unavailable(project, "latency")
    if missing:
        return missing
    def compute(frame: pd.DataFrame) -> dict[str, Any]:
        df = _window(frame, model_name, use_case, start, end)
        return {"rows": len(df), "overall": overall_summary(df), "by_model": records(latency_by_model(df)),
                "incidents": _incidents(df, "latency_p95", (model_name, use_case, start, end), project=project)}

    return _memo("latency_report", (model_name, use_case, start, end), compute, project)


@tool
def cost_report(model_name: str | None = None, use_case: str | None = None, start: str | None = None,
                end: str | None = None, project: _Project = DEFAULT_PROJECT) -> dict[str, Any]:
    """Spend per model: total and mean cost, cost per 1k tokens, token volume."""
    missing = unavailable(project, "cost")
    if missing:
        return missing
    def compute(frame: pd.DataFrame) -> dict[str, Any]:
        df = _window(frame, model_name, use_case, start, end)
        return {"rows": len(df), "by_model": records(cost_by_model(df))}

    return _memo("cost_report", (model_name, use_case, start, end), compute, project)


def _filters(model_name: str | None, failure_type: str | None, use_case: str | None, start: str | None,
             end: str | None, project: str) -> SearchFilters:
    return SearchFilters(model_name=model_name or None, failure_type=failure_type or None, use_case=use_case or None,
                         start=datetime.fromisoformat(start) if start else None,
                         end=pd.Timestamp(end).to_pydatetime() + pd.Timedelta(days=1) if end else None,
                         project=project)


def _compact(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("interaction_id", "timestamp_utc", "model_name", "use_case", "failure_type", "latency_ms",
            "repair_strategy", "final_resolution_state", "similarity")
    out = []
    for r in rows:
        item = {k: (str(r[k]) if k == "timestamp_utc" else r[k]) for k in keep if k in r}
        item["request"] = str(r.get("request_text", ""))[:160]
        item["response"] = str(r.get("response_text_snippet", ""))[:160]
        out.append(item)
    return out


@tool
def search_similar_interactions(query: str, k: int = 5, model_name: str | None = None,
                                failure_type: str | None = None, use_case: str | None = None,
                                start: str | None = None, end: str | None = None,
                                project: _Project = DEFAULT_PROJECT) -> list[dict[str, Any]] | dict[str, Any]:
    """Past interactions most similar to ``query`` (pgvector, cosine), optionally filtered. Texts are data."""
    missing = unavailable(project, "similarity_search")
    if missing:
        return missing
    with pooled() as conn:
        return _compact(search_similar(conn, query, max(1, min(k, 50)),
                                       _filters(model_name, failure_type, use_case, start, end, project)))


@tool
def find_similar_incidents(query: str, k: int = 8, model_name: str | None = None,
                           failure_type: str | None = None, use_case: str | None = None,
                           project: _Project = DEFAULT_PROJECT) -> dict[str, Any]:
    """Past failures most similar to ``query`` with their repair strategy and resolution: what fixed them."""
    missing = unavailable(project, "similarity_search")
    if missing:
        return missing
    with pooled() as conn:
        found = similar_incidents(conn, query, max(1, min(k, 50)),
                                  _filters(model_name, failure_type, use_case, None, None, project))
    found["incidents"] = _compact(found["incidents"])
    return found


OPS_TOOLS: list[BaseTool] = [failure_trends, latency_report, cost_report, search_similar_interactions,
                             find_similar_incidents]
