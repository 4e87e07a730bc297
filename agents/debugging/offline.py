"""The debugging agents' offline handlers: tool choice from the user's words, and the diagnosis composed from the
tool results in the messages, never canned.

Causes come from detected incidents (each citing its example interaction ids and its rate or percentile against
the baseline), or, without incidents, from the failure mix and the retrieved interactions. Fixes come from what
resolved similar past incidents. Verification restates the numbers that should move back to their baseline.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage

from agents.debugging.entities import anchor_day, resolve_entities
from agents.debugging.models import ConversationContext
from agents.registry import agents_of_kind
from core.diagnosis import Cause, Diagnosis, Fix
from core.evidence import request_of
from core.offline_llm import ToolPlanner, register_structured_handler, register_text_handler, register_tool_planner


def _results(messages: Sequence[BaseMessage]) -> dict[str, list[Any]]:
    """Tool results after the last question, by tool; answers that an analysis is unavailable for the project's
    data are kept apart, under ``"unavailable"``."""
    last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=0)
    out: dict[str, list[Any]] = {}
    for m in messages[last_human:]:
        if isinstance(m, ToolMessage):
            try:
                data = json.loads(m.text)
            except json.JSONDecodeError:
                continue
            key = "unavailable" if isinstance(data, dict) and "unavailable" in data else (m.name or "tool")
            out.setdefault(key, []).append(data)
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _incident_cause(inc: dict[str, Any]) -> Cause:
    scope = "all models" if inc["key"] == "all" else f"{inc['dimension']}={inc['key']}"
    if inc["kind"] == "latency_p95":
        agg = (f"p95 latency {inc['value']:.0f} ms vs baseline {inc['baseline']:.0f} ms ({scope}, "
               f"{inc['start']}..{inc['end']}, {inc['n']} requests)")
        what = f"Latency regression on {scope} from {inc['start']} to {inc['end']}"
    else:
        agg = (f"{inc['failure_type']} rate {_pct(inc['value'])} vs baseline {_pct(inc['baseline'])} ({scope}, "
               f"{inc['start']}..{inc['end']}, {inc['n_events']} of {inc['n']} requests)")
        what = f"Spike of {inc['failure_type']} on {scope} from {inc['start']} to {inc['end']}"
    conf = min(0.95, 0.5 + inc["magnitude"] / 20)
    return Cause(statement=f"{what}: {agg}.", evidence_ids=list(inc.get("example_ids", [])), aggregates=[agg],
                 confidence=round(conf, 2))


def _mix_cause(trend: dict[str, Any], similar_ids: list[str]) -> Cause | None:
    by_type = trend.get("by_type") or {}
    if not by_type or not trend.get("rows"):
        return None
    top, count = max(by_type.items(), key=lambda kv: kv[1])
    by_model = trend.get("failure_rate_by_model") or {}
    worst = max(by_model.items(), key=lambda kv: kv[1]) if by_model else None
    aggs = [f"failure rate {_pct(trend['failure_rate'])} over {trend['rows']} requests",
            f"{top}: {count} failures ({_pct(count / trend['rows'])} of requests)"]
    if worst:
        aggs.append(f"highest failure rate: {worst[0]} at {_pct(worst[1])}")
    return Cause(statement=f"No anomalous window was detected; the largest failure type is {top} ({count}).",
                 evidence_ids=similar_ids[:6], aggregates=aggs, confidence=0.5)


def _fixes(res: dict[str, list[Any]]) -> list[Fix]:
    fixes: list[Fix] = []
    for found in res.get("find_similar_incidents", []):
        total = len(found.get("incidents", []))
        for item in found.get("what_fixed_them", [])[:3]:
            fixes.append(Fix(action=f"apply '{item['repair_strategy']}'",
                             based_on=f"{item['resolved']} of {total} most similar past failures were auto-resolved "
                                      "by it"))
        outcomes = found.get("resolution_outcomes", {})
        if not fixes and outcomes:
            fixes.append(Fix(action="escalate to a human reviewer and add a guard for this pattern",
                             based_on=f"similar past failures ended as {outcomes}; none was auto-resolved"))
    return fixes


def _cluster_cause(c: dict[str, Any], run_id: str) -> Cause:
    """A cluster as a cause: always named with its analytics run, with its figures and failing examples."""
    top_model = c.get("top_failing_model") or {}
    w = c.get("window")
    aggs = ([f"{w['n_failures']} failures among its {w['size']} interactions of {w['start'] or '...'}.."
             f"{w['end'] or '...'} (failure rate {_pct(w['failure_rate'])})"] if w else [])
    aggs += [f"{c['size']} interactions, failure rate {_pct(c['failure_rate'])} ({c['n_failures']} failures)"
             + (" over all the data" if w else "")]
    if c.get("dominant_failure_type"):
        aggs.append(f"dominant failure type: {c['dominant_failure_type']}")
    if top_model:
        aggs.append(f"most failures from {top_model['name']} ({_pct(top_model['share'])} of them"
                    + (f", {top_model['lift']}x its share of all traffic)" if top_model.get("lift") else ")"))
    if c.get("latency_p95_ms") is not None:
        aggs.append(f"p95 latency {float(c['latency_p95_ms']):.0f} ms")
    rank = f"rank {c['rank']}, " if c.get("rank") is not None else ""
    ids = list(c.get("example_failure_ids") or c.get("recent_failure_ids") or [])
    return Cause(statement=f"Cluster {c['cluster_id']} of run {run_id} ({rank}'{c['label']}'): "
                           + "; ".join(aggs) + ".",
                 evidence_ids=ids, aggregates=aggs, confidence=round(min(0.9, 0.5 + c["failure_rate"] / 2), 2))


def _cluster_causes(res: dict[str, list[Any]]) -> list[Cause]:
    causes = [_cluster_cause(c, r["run_id"]) for r in res.get("top_failure_clusters", []) for c in r["clusters"]]
    causes += [_cluster_cause(r, r["run_id"]) for r in res.get("describe_cluster", []) if "cluster_id" in r]
    causes += [Cause(statement=f"Cluster {c['cluster_id']} of run {r['run_id']} ranks {c['rank']} by "
                               f"{r['strategy']} ('{c['label']}'): {c['reason']}.",
                     aggregates=[f"{r['strategy']} score {c['score']}", r["explanation"]],
                     confidence=0.6)
               for r in res.get("rank_clusters", []) for c in r.get("ranking", [])]
    return causes


def compose_diagnosis(messages: Sequence[BaseMessage]) -> Diagnosis:
    """Build a :class:`Diagnosis` from the tool results after the last question."""
    res = _results(messages)
    question = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    incidents = [i for key in ("failure_trends", "latency_report") for r in res.get(key, [])
                 for i in r.get("incidents", [])]
    incidents.sort(key=lambda i: -i["magnitude"])
    similar = [r for rows in res.get("search_similar_interactions", []) for r in rows]
    similar += [r for f in res.get("find_similar_incidents", []) for r in f.get("incidents", [])]
    similar_ids = list(dict.fromkeys(r["interaction_id"] for r in similar))
    clusters = _cluster_causes(res)
    causes = clusters + [_incident_cause(i) for i in incidents[:3]]
    if not causes:
        for trend in res.get("failure_trends", []):
            mix = _mix_cause(trend, similar_ids)
            if mix:
                causes.append(mix)
    for rep in res.get("latency_report", []):
        if rep.get("by_model") and not any("latency" in c.statement.lower() for c in causes):
            slow = rep["by_model"][0]
            causes.append(Cause(statement=f"Slowest model is {slow['model_name']} (p95 {slow['p95_ms']:.0f} ms).",
                                aggregates=[f"{m['model_name']}: p50 {m['p50_ms']:.0f} ms, p95 {m['p95_ms']:.0f} ms"
                                            for m in rep["by_model"][:4]], confidence=0.6))
    for rep in res.get("cost_report", []):
        if rep.get("by_model"):
            top = rep["by_model"][0]
            causes.append(Cause(statement=f"Largest spend: {top['model_name']} (${top['total_usd']:.2f}).",
                                aggregates=[f"{m['model_name']}: ${m['total_usd']:.2f} total"
                                            for m in rep["by_model"][:4]],
                                confidence=0.6))
    asked_similar = bool(res.get("search_similar_interactions"))
    if similar and (not incidents or asked_similar):  # a search the person asked for is answered first
        kinds = Counter(r["failure_type"] for r in similar)
        nearest = Cause(statement=f"The {len(similar)} most similar past interactions show {dict(kinds)}.",
                        evidence_ids=similar_ids[:8], confidence=0.55)
        causes.insert(0 if asked_similar else len(causes), nearest)
    fixes = _fixes(res)
    verification = [
        (f"after the fix, re-run {'latency_report' if i['kind'] == 'latency_p95' else 'failure_trends'} for "
         f"{i['key']} on the days after {i['end']}: the value should be back near the baseline "
         f"({i['baseline']:.0f} ms)" if i["kind"] == "latency_p95" else
         f"after the fix, re-run failure_trends for {i['key']} on the days after {i['end']}: "
         f"{i['failure_type']} should be back near {_pct(i['baseline'])}")
        for i in incidents[:3]]
    verification += [f"after the fix, run the analytics again (`opsgraph analytics run`) and check that the "
                     f"interactions like cluster {c['cluster_id']}'s fail less than {_pct(c['failure_rate'])}"
                     for r in res.get("top_failure_clusters", []) for c in r["clusters"][:1]]
    verification.append("re-open the cited interactions' sessions and check that the pattern does not recur")
    missing = res.get("unavailable", [])
    verification += [f"{m['unavailable']} needs data this project lacks: {m['reason']}" for m in missing]
    head = causes[0].statement if causes else "the tools returned no evidence for this question"
    found = (f"{len(clusters)} failing cluster(s) of the analytics run" if clusters else
             f"{len(incidents)} incident(s) detected, {len(similar_ids)} similar interactions retrieved")
    gaps = ("; not available for this data: " + "; ".join(f"{m['unavailable']} ({m['reason']})" for m in missing)
            if missing else "")
    _, context = _question_and_context(messages)
    window = resolve_entities(question, context).get("window")
    if window:
        last = context.get("data_end")
        anchor = anchor_day(last)
        window += (f" (the data ends on {last}, so relative dates count back from it)"
                   if last and anchor.isoformat() == last else " (counted back from today)")
        used = any(c["args"].get("start") for m in messages if isinstance(m, AIMessage) for c in m.tool_calls)
        if not used:
            window += "; the tools called take no time window, so their results cover all the data"
    summary = (f"Question: {question.strip()} — strongest finding: {head} "
               f"({found}{gaps}; offline reasoner, composed from the tool results)."
               + (f" Window used: {window}." if window else ""))
    return Diagnosis(summary=summary, causes=causes, fixes=fixes, verification=verification)


_WINDOW_KEYS = ("model_name", "use_case", "start", "end")
_CLUSTERS = re.compile(r"\bclust(er|ers|ering|ered)\b", re.I)
_RANK = re.compile(r"\b(rank|ranked|ranking|order|ordered|sort|sorted)\b", re.I)
_STRATEGY_WORDS = (  # first match wins: the more specific phrases come first
    ("size_x_failure", re.compile(r"failing volume|most failures|number of failures|volume", re.I)),
    ("failure_rate", re.compile(r"failure[- ]rate|fail(s|ing)? most often|error rate", re.I)),
    ("business_impact", re.compile(r"business|impact|severity", re.I)),
    ("cost", re.compile(r"\bcost|spend|expensive|dollars?", re.I)),
    ("size", re.compile(r"\bsize\b|largest|biggest|how many interactions", re.I)),
)
_CLUSTER_ID = re.compile(r"\bcluster\s+(?:#|no\.?\s*|number\s+)?(\d+)\b", re.I)
DIAGNOSTIC_AGENTS = agents_of_kind("debugging")


def _question_and_context(messages: Sequence[BaseMessage]) -> tuple[str, dict[str, Any]]:
    question = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    try:
        context = request_of(messages, ConversationContext).model_dump()
    except LookupError:
        context = {}
    return question, context


def _has_results(messages: Sequence[BaseMessage]) -> bool:
    last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
    return any(isinstance(m, ToolMessage) for m in messages[last_human:])


def _call(name: str, args: dict[str, Any]) -> ToolCall:
    return ToolCall(name=name, args={k: v for k, v in args.items() if v is not None}, id=None)


def tool_planner(agent: str) -> ToolPlanner:
    """The offline model's tool choice for the debugging agent ``agent``: from the user's words, never log text."""
    def plan(messages: Sequence[BaseMessage], names: list[str]) -> list[ToolCall] | None:
        if _has_results(messages):
            return _map_of_clusters(messages, names)
        question, context = _question_and_context(messages)
        ent = resolve_entities(question, context)
        window = {k: ent.get(k) for k in _WINDOW_KEYS}
        query = question
        clusters = _CLUSTERS.search(question)
        if clusters and agent in ("failure", "general"):
            one = _CLUSTER_ID.search(question)
            strategy = next((s for s, words in _STRATEGY_WORDS if words.search(question)), "mixed")
            calls = ([_call("describe_cluster", {"cluster_id": int(one.group(1))})] if one else
                     [_call("rank_clusters", {"strategy": strategy, "top": 5})] if _RANK.search(question) else
                     [_call("top_failure_clusters", {"top": 5, **{k: window[k] for k in ("start", "end")
                                                                   if window.get(k)}})])
        elif agent == "failure":
            calls = [_call("failure_trends", {**window, "failure_type": ent.get("failure_type")}),
                     _call("find_similar_incidents", {"query": query, "model_name": ent.get("model_name"),
                                                      "failure_type": ent.get("failure_type")})]
            if ent.get("failure_type") == "latency_timeout":
                calls.append(_call("latency_report", window))
        elif agent == "performance":
            calls = [_call("latency_report", window), _call("cost_report", window)]
            if any(w in question.lower() for w in ("timeout", "time out", "timing out")):
                calls.append(_call("failure_trends", window))
        else:
            calls = [_call("search_similar_interactions", {"query": query, "k": 8, **window,
                                                           "failure_type": ent.get("failure_type")}),
                     _call("failure_trends", window)]
        return [c for c in calls if c["name"] in names]
    return plan


def _map_of_clusters(messages: Sequence[BaseMessage], names: list[str]) -> list[ToolCall] | None:
    """Second round of a cluster question: the map of the run the clusters came from (once); when the project's
    data cannot be clustered, the failure breakdowns instead."""
    res = _results(messages)
    if res.get("unavailable") and "failure_trends" not in res and "failure_trends" in names:
        return [_call("failure_trends", {})]
    runs = [r["run_id"] for key in ("top_failure_clusters", "describe_cluster", "rank_clusters")
            for r in res.get(key, []) if isinstance(r, dict) and r.get("run_id")]
    if not runs or "project_embeddings" in res or "project_embeddings" not in names:
        return None
    return [_call("project_embeddings", {"method": "pca", "sample": 500, "run_id": runs[0]})]


def diagnosis_text(messages: Sequence[BaseMessage]) -> str:
    """The offline model's reply once the evidence is in: the composed diagnosis as Markdown."""
    return compose_diagnosis(messages).to_markdown()


def register_offline_handlers() -> None:
    """Register the debugging agents' offline tool planners, their final reply and the diagnosis handler."""
    for agent in DIAGNOSTIC_AGENTS:
        register_tool_planner(agent, tool_planner(agent))
        register_text_handler(agent, diagnosis_text)
    register_structured_handler(Diagnosis, compose_diagnosis)


