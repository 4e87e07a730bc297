"""The analyst's offline handlers: findings, the production expectation and follow-up answers, all computed from
the aggregates in the request."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from agents.analyst.models import AnalystSummary, FollowupRequest, SummaryRequest
from core.evidence import request_of
from core.offline_llm import register_structured_handler, register_text_handler

GROUPS = ("category", "persona", "difficulty")
_DIFF_ORDER = {"easy": 0, "medium": 1, "hard": 2}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _rate(row: Mapping[str, Any]) -> str:
    return f"{_pct(row['pass_rate'])} ({row['passes']}/{row['n']})"


def _rows(agg: Mapping[str, Any], group: str) -> list[dict[str, Any]]:
    return list(agg.get("breakdown", {}).get(group, []))


def _ranked(agg: Mapping[str, Any], group: str) -> list[dict[str, Any]]:
    """Breakdown rows with a spoken verdict, from weakest to strongest (pass rate, then mean score, then name); a
    value whose every verdict is uncertain has no pass rate and is not ranked."""
    return sorted((r for r in _rows(agg, group) if r.get("n", 1)),
                  key=lambda r: (r["pass_rate"], r["mean_score"], str(r["value"])))


def _pass_k(agg: Mapping[str, Any]) -> tuple[int, float, float] | None:
    pk = agg.get("pass_k") or {}
    if not pk.get("multi_seed"):
        return None
    k = int(pk["k"])
    return k, float(pk["pass_hat_k"][str(k)]), float(pk["pass_at_k"][str(k)])


def key_findings(agg: Mapping[str, Any]) -> list[str]:
    """Findings with numbers, computed from an ``aggregate_judgments`` result (JSON form)."""
    o, conf = agg["overall"], f"{agg['conf']:.0%}"
    out = [f"Overall pass rate {_rate(o)} over {agg['n_scenarios']} scenarios ({conf} Wilson CI "
           f"{_pct(o['ci_low'])} – {_pct(o['ci_high'])}); mean judge score {o['mean_score']:.2f}/5 "
           f"(sd {agg['score_sd']:.2f})."]
    cats = _ranked(agg, "category")
    if len(cats) > 1:
        weak, strong = cats[0], cats[-1]
        out.append(f"Weakest category: {weak['value']} at {_rate(weak)}, mean score {weak['mean_score']:.2f}; "
                   f"strongest: {strong['value']} at {_rate(strong)}, mean score {strong['mean_score']:.2f}.")
    diffs = sorted(_rows(agg, "difficulty"), key=lambda r: (_DIFF_ORDER.get(str(r["value"]), 9), str(r["value"])))
    if len(diffs) > 1:
        out.append("By difficulty: " + ", ".join(f"{r['value']} {_rate(r)}" for r in diffs) + ".")
    fr = agg["failure_reasons"]
    if fr["n_failed"]:
        top = fr["criteria"][:2]
        reasons = "; ".join(f"{c['reason']} in {c['count']} ({_pct(c['share'])} of failures, e.g. "
                            f"{', '.join(c['examples'][:2])})" for c in top)
        out.append(f"{fr['n_failed']} conversations failed; most frequent failed criteria: {reasons or 'none'}.")
    else:
        out.append("No judged conversation failed.")
    if pk := _pass_k(agg):
        k, hat, at = pk
        out.append(f"Consistency over {k} seeds: pass^{k} {_pct(hat)} of scenarios pass on every seed and pass@{k} "
                   f"{_pct(at)} on at least one, so {_pct(max(0.0, at - hat))} are flaky.")
    return out


def production_expectation(agg: Mapping[str, Any]) -> str:
    """One paragraph: the interval to expect in production and where failures will concentrate."""
    o = agg["overall"]
    text = (f"On production traffic that resembles these scenarios, expect a success rate between "
            f"{_pct(o['ci_low'])} and {_pct(o['ci_high'])} (point estimate {_pct(o['pass_rate'])}, "
            f"{o['n']} judged conversations).")
    cats = _ranked(agg, "category")
    if len(cats) > 1 and cats[0]["pass_rate"] < o["pass_rate"]:
        text += f" Failures will concentrate in {cats[0]['value']} ({_rate(cats[0])})"
        crit = agg["failure_reasons"]["criteria"]
        text += f", mostly through {crit[0]['reason']}." if crit else "."
    if o["ci_high"] - o["ci_low"] > 0.3:
        text += (f" The interval is {_pct(o['ci_high'] - o['ci_low'])} wide: judge more scenarios before relying "
                 "on the point estimate.")
    return text


def _mentioned(agg: Mapping[str, Any], q: str) -> list[tuple[str, dict[str, Any]]]:
    words = q.replace("_", " ")
    return [(g, r) for g in GROUPS for r in _rows(agg, g)
            if str(r["value"]).lower() in q or str(r["value"]).lower().replace("_", " ") in words]


def answer_from_aggregates(agg: Mapping[str, Any], question: str) -> str:
    """Answer ``question`` from the aggregates (the offline analyst's follow-up answer)."""
    q = question.lower().strip()
    group = next((g for g in GROUPS if g in q or (g == "difficulty" and "difficult" in q)), None)
    if any(w in q for w in ("categories", "personas")):
        group = "category" if "categor" in q else "persona"
    mentioned = _mentioned(agg, q)
    o = agg["overall"]
    levels = {str(r["value"]) for r in _rows(agg, "difficulty")}
    absent = [d for d in _DIFF_ORDER if re.search(rf"\b{d}\b", q) and d not in levels]
    if absent and not mentioned:
        return (f"No {' or '.join(absent)} scenarios were judged: the dataset's difficulties are "
                f"{', '.join(sorted(levels, key=lambda d: _DIFF_ORDER.get(d, 9))) or 'not recorded'}.")
    if any(w in q for w in ("weakest", "worst", "lowest", "struggl", "poorest")) or (
            any(w in q for w in ("best", "strongest", "highest")) and not mentioned):
        g = group or "category"
        ranked = _ranked(agg, g)
        if not ranked:
            return f"The aggregates have no {g} breakdown."
        best = any(w in q for w in ("best", "strongest", "highest"))
        pick = ranked[-1] if best else ranked[0]
        other = ranked[-2] if best and len(ranked) > 1 else ranked[1] if len(ranked) > 1 else None
        text = (f"The {'strongest' if best else 'weakest'} {g} is {pick['value']}: pass rate {_rate(pick)}, "
                f"mean score {pick['mean_score']:.2f}/5 ({_pct(pick['ci_low'])} – {_pct(pick['ci_high'])} CI).")
        if other:
            text += f" Next: {other['value']} at {_rate(other)}, against {_rate(o)} overall."
        return text
    if "how many" in q or "number of" in q:
        failed = any(w in q for w in ("fail", "did not pass", "didn't pass"))
        rows = [r for _, r in mentioned] or [{"value": "all", **o}]
        parts = [f"{r['n'] - r['passes'] if failed else r['passes']} of {r['n']} judged conversations"
                 f"{'' if r['value'] == 'all' else ' on ' + str(r['value']) + ' scenarios'} "
                 f"{'failed' if failed else 'passed'} (pass rate {_pct(r['pass_rate'])})" for r in rows]
        return "; ".join(parts) + "."
    if any(w in q for w in ("why", "reason", "criteri", "fail")):
        fr = agg["failure_reasons"]
        if not fr["n_failed"]:
            return "No judged conversation failed, so there are no failure reasons."
        top = "; ".join(f"{c['reason']} ({c['count']}, {_pct(c['share'])}; e.g. {', '.join(c['examples'])})"
                        for c in fr["criteria"][:3])
        return f"{fr['n_failed']} conversations failed. Failed criteria: {top or 'none recorded'}."
    if any(w in q for w in ("flaky", "consisten", "seed", "pass^", "pass@", "stable")):
        pk = _pass_k(agg)
        if pk is None:
            return "Only one seed per scenario was judged, so consistency across seeds cannot be measured."
        k, hat, at = pk
        return (f"pass^{k} = {_pct(hat)} of scenarios pass on all {k} seeds and pass@{k} = {_pct(at)} on at least "
                f"one: {_pct(max(0.0, at - hat))} are flaky.")
    if mentioned:
        return " ".join(f"{g.capitalize()} {r['value']}: pass rate {_rate(r)}, mean score {r['mean_score']:.2f}/5, "
                        f"{_pct(r['ci_low'])} – {_pct(r['ci_high'])} CI." for g, r in mentioned)
    if "distribution" in q or "score" in q:
        dist = agg["score_distribution"]
        return (f"Mean score {o['mean_score']:.2f}/5; distribution: "
                + ", ".join(f"{s}: {dist.get(str(s), 0)}" for s in range(1, 6)) + ".")
    return production_expectation(agg) + " Ask about a category, persona or difficulty, failure reasons or seeds."


def summary_offline(messages: Sequence[BaseMessage]) -> AnalystSummary:
    """The offline analyst model's summary of the aggregates in the request."""
    agg = request_of(messages, SummaryRequest).aggregates
    return AnalystSummary(key_findings=key_findings(agg), production_expectation=production_expectation(agg))


def followup_offline(messages: Sequence[BaseMessage]) -> str:
    """The offline analyst model's answer to the follow-up question in the request."""
    req = request_of(messages, FollowupRequest)
    return answer_from_aggregates(req.aggregates, req.question)


def register_offline_handlers() -> None:
    """Register the analyst's offline handlers with the offline model."""
    register_structured_handler(AnalystSummary, summary_offline)
    register_text_handler("analyst", followup_offline)
