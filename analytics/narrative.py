"""Offline narrative: sentences written from the computed figures (no model, no canned conclusions).

Every number in the text comes from the trends, profiles, rankings and incidents passed in; a sentence is
left out when the figures it needs are missing.
"""

from __future__ import annotations

from collections.abc import Sequence

from analytics.incident_detection import Incident
from analytics.ranking import RankedCluster, failure_mix, format_ms
from analytics.semantics import ClusterProfile
from analytics.timeseries import Trends


def _overview(trends: Trends) -> str:
    o = trends.overall
    n, n_fail = int(o.get("n_rows", 0)), int(o.get("n_failures", 0))
    if not n:
        return "The data set is empty, so there is nothing to summarise."
    when = f" from {o['start']} to {o['end']}" if o.get("start") else ""
    models = f" across {o['n_models']} models" if o.get("n_models") else ""
    rate = o["failure_rate"]
    text = f"The data covers {n:,} interactions{when}{models}; {n_fail:,} of them ({rate:.1%}) failed"
    types = list(o.get("failure_types", {}).items())
    if types and n_fail:
        lead = [f"{t} ({c:,}, {c / n_fail:.0%} of failures)" for t, c in types[:2]]
        text += ", most often " + " and ".join(lead)
    return text + "."


def _latency(trends: Trends) -> str | None:
    o, table = trends.overall, trends.latency_by_model
    if "latency_p95_ms" not in o:
        return None
    text = f"Median latency is {format_ms(o['latency_p50_ms'])} and p95 is {format_ms(o['latency_p95_ms'])}."
    if len(table) >= 2:
        slow, fast = table.iloc[0], table.iloc[-1]
        by = table.columns[0]
        ratio = slow["p95_ms"] / fast["p95_ms"] if fast["p95_ms"] else float("nan")
        text += (
            f" {slow[by]} is the slowest model at p95 {format_ms(slow['p95_ms'])} "
            f"({ratio:.1f}x {fast[by]}, the fastest at {format_ms(fast['p95_ms'])}), "
            f"and {slow['failure_rate']:.0%} of its requests failed."
        )
    return text


def _cost(trends: Trends) -> str | None:
    table = trends.cost_by_model
    total = trends.overall.get("cost_total_usd")
    if table.empty or not total:
        return None
    top = table.iloc[0]
    by = table.columns[0]
    failing = float(table["failing_usd"].sum())
    return (
        f"Total spend is ${total:,.2f}; {top[by]} accounts for {top['share_of_spend']:.0%} of it "
        f"(${top['total_usd']:,.2f}), and ${failing:,.2f} ({failing / total:.0%}) went to interactions "
        "that failed."
    )


def _cluster_sentence(r: RankedCluster, p: ClusterProfile) -> str:
    about = f' ("{", ".join(p.keywords[:3])}")' if p.keywords else ""
    text = f"cluster {p.cluster_id}{about} with {p.size:,} interactions ({p.share:.0%} of all)"
    if p.n_failures:
        text += f", {p.failure_rate:.0%} failing ({failure_mix(p)})"
    else:
        text += ", none failing"
    if p.latency_p95_ms is not None:
        text += f", p95 latency {format_ms(p.latency_p95_ms)}"
    if p.failing_models and p.n_failures:
        model, count = next(iter(p.failing_models.items()))
        text += f", {count / p.n_failures:.0%} of its failures on {model}"
    severe = sum(p.business_impact.get(t, 0) for t in ("critical", "high"))
    if severe:
        text += f", {severe:,} of them critical or high impact"
    return text


def _clusters(profiles: Sequence[ClusterProfile], ranked: Sequence[RankedCluster], top: int) -> str | None:
    if not ranked:
        return None
    by_id = {p.cluster_id: p for p in profiles}
    real = [p for p in profiles if not p.is_noise]
    noise = sum(p.size for p in profiles if p.is_noise)
    text = f"Clustering found {len(real)} groups of similar interactions"
    text += f" (plus {noise:,} unclustered rows)." if noise else "."
    first = ranked[0]
    top_sentence = _cluster_sentence(first, by_id[first.cluster_id])
    text += f" Under the {first.strategy} ranking the top priority is {top_sentence}."
    rest = [f"#{r.rank} " + _cluster_sentence(r, by_id[r.cluster_id]) for r in ranked[1:top]]
    if rest:
        text += " Next come " + "; ".join(rest) + "."
    return text


def _incidents(incidents: Sequence[Incident], top: int, has_time: bool) -> str:
    if not incidents and not has_time:
        return "Incident detection was skipped: the data has no timestamps."
    if not incidents:
        return (
            "No incident windows were detected: no model's daily latency p95 or failure rate left its "
            "baseline."
        )
    specific = [i for i in incidents if i.dimension != "all"] or list(incidents)
    models = sorted({i.key for i in specific})
    text = f"{len(incidents)} incident window(s) were detected"
    text += f", involving {', '.join(models)}." if specific and specific[0].dimension != "all" else "."
    text += " Strongest: " + "; ".join(i.description for i in specific[:top]) + "."
    return text


def compose_narrative(
    profiles: Sequence[ClusterProfile],
    ranked: Sequence[RankedCluster],
    trends: Trends,
    incidents: Sequence[Incident],
    top: int = 3,
) -> str:
    """A few paragraphs (blank-line separated) stating the headline figures, the top ``top`` clusters and the
    strongest incidents, in plain sentences built from the numbers."""
    if not trends.overall.get("n_rows"):
        return _overview(trends)
    parts = [
        _overview(trends),
        _latency(trends),
        _cost(trends),
        _clusters(profiles, ranked, top),
        _incidents(incidents, top, bool(trends.overall.get("start"))),
    ]
    return "\n\n".join(p for p in parts if p)
