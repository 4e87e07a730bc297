"""The analytics report: narrative, key figures, priority clusters, incidents, per-model tables and charts,
as Markdown and as one standalone HTML page (images embedded, no external resources)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from analytics.incident_detection import Incident
from analytics.narrative import compose_narrative
from analytics.ranking import RankedCluster, format_ms
from analytics.report_render import Block, Bullets, Heading, Image, Paragraph, Table, to_html, to_markdown
from analytics.semantics import ClusterProfile
from analytics.timeseries import Trends


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _usd(x: float | None) -> str:
    return "n/a" if x is None else f"${x:,.2f}"


def _key_figures(trends: Trends) -> Table:
    o = trends.overall
    rows = [
        ["interactions", f"{o.get('n_rows', 0):,}"],
        ["failing", f"{o.get('n_failures', 0):,}"],
        ["failure rate", _pct(o.get("failure_rate"))],
    ]
    if o.get("start"):
        rows.append(["period", f"{o['start']} to {o['end']}"])
    if "latency_p95_ms" in o:
        rows.append(
            ["latency p50 / p95", f"{format_ms(o['latency_p50_ms'])} / {format_ms(o['latency_p95_ms'])}"]
        )
    if "cost_total_usd" in o:
        rows.append(["total cost", _usd(o["cost_total_usd"])])
    rows += [[f"failures: {t}", f"{c:,}"] for t, c in o.get("failure_types", {}).items()]
    return Table(["figure", "value"], rows)


def _priority(ranked: Sequence[RankedCluster], by_id: Mapping[int, ClusterProfile], top: int) -> list[Block]:
    rows = []
    for r in ranked[:top]:
        p = by_id[r.cluster_id]
        rows.append(
            [
                str(r.rank),
                str(p.cluster_id),
                p.label,
                f"{p.size:,}",
                _pct(p.failure_rate),
                p.dominant_failure_type or "-",
                format_ms(p.latency_p95_ms),
                _usd(p.cost_total_usd),
                f"{r.score:.3g}",
            ]
        )
    cols = ["rank", "cluster", "label", "size", "failing", "dominant failure", "p95", "cost", "score"]
    return [Table(cols, rows), Bullets([r.reason for r in ranked[:top]])]


def _cluster_details(p: ClusterProfile, r: RankedCluster) -> list[Block]:
    def fmt(counts: Mapping[str, int]) -> str:
        return ", ".join(f"{k} ({v:,})" for k, v in counts.items()) or "n/a"

    items = [
        f"keywords: {', '.join(p.keywords) or 'n/a'}",
        f"models: {fmt(p.top_models)}",
        f"failure types: {fmt(p.failure_types)}",
        f"use cases: {fmt(p.top_use_cases)}",
        f"tools: {fmt(p.top_tools)}",
        f"resolution: {fmt(p.resolution)}",
        f"repair strategies: {fmt(p.repair_strategies)}",
    ]
    if p.feedback_mean is not None:
        items.append(
            f"feedback: mean {p.feedback_mean:+.2f} over {p.feedback_n:,} rated, "
            f"{_pct(p.feedback_negative_share)} negative"
        )
    blocks: list[Block] = [Heading(f"#{r.rank} cluster {p.cluster_id}: {p.label}", 3), Bullets(items)]
    if p.exemplars:
        blocks += [
            Paragraph("Typical prompts:"),
            Bullets([f"{e.interaction_id} ({e.failure_type}): {e.text}" for e in p.exemplars]),
        ]
    if p.failing_exemplars:
        blocks += [
            Paragraph("Typical failing prompts:"),
            Bullets([f"{e.interaction_id} ({e.failure_type}): {e.text}" for e in p.failing_exemplars]),
        ]
    return blocks


def _incidents(incidents: Sequence[Incident], top: int) -> list[Block]:
    if not incidents:
        return [Paragraph("No incident windows were detected.")]
    rows = []
    for i in incidents[:top]:
        value = format_ms(i.value) if i.kind == "latency_p95" else _pct(i.value)
        base = format_ms(i.baseline) if i.kind == "latency_p95" else _pct(i.baseline)
        rows.append(
            [
                i.kind,
                i.key,
                i.failure_type or "-",
                i.start,
                i.end,
                f"{i.magnitude:.1f}",
                f"{i.n:,}",
                f"{i.n_events:,}",
                value,
                base,
            ]
        )
    cols = ["kind", "key", "failure type", "start", "end", "robust z", "rows", "events", "value", "baseline"]
    return [Table(cols, rows), Bullets([i.description for i in incidents[:top]])]


def _frame_table(frame: pd.DataFrame, formats: Mapping[str, str]) -> Table:
    cols = [c for c in frame.columns if c in formats or c == frame.columns[0]]
    rows = []
    for _, row in frame[cols].iterrows():
        cells = [str(row[cols[0]])]
        for c in cols[1:]:
            value = row[c]
            cells.append("n/a" if pd.isna(value) else formats[c].format(value))
        rows.append(cells)
    return Table([str(c) for c in cols], rows)


def build_report(
    profiles: Sequence[ClusterProfile],
    ranked: Sequence[RankedCluster],
    trends: Trends,
    incidents: Sequence[Incident],
    charts: Mapping[str, Mapping[str, str]],
    narrative: str | None = None,
    title: str = "opsgraph telemetry report",
    top: int = 10,
    md_base_dir: str | Path | None = None,
    generated_at: datetime | None = None,
) -> tuple[str, str]:
    """Markdown and standalone HTML for the analysis. ``charts`` maps name -> {"png": path, ...} as returned
    by ``write_chart``; PNGs are embedded in the HTML and linked (relative to ``md_base_dir``) in Markdown.
    Without ``narrative`` the summary is composed offline from the figures by ``compose_narrative``."""
    by_id = {p.cluster_id: p for p in profiles}
    source = "supplied" if narrative else "composed offline from the computed figures"
    text = narrative or compose_narrative(profiles, ranked, trends, incidents)
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    blocks: list[Block] = [
        Heading(title, 1),
        Paragraph(f"Generated {when}; summary {source}.", muted=True),
        Heading("Summary"),
    ]
    blocks += [Paragraph(par.strip()) for par in text.split("\n\n") if par.strip()]
    blocks += [Heading("Key figures"), _key_figures(trends)]
    if ranked:
        blocks += [
            Heading(f"Priority clusters ({ranked[0].strategy} ranking)"),
            *_priority(ranked, by_id, top),
        ]
        blocks.append(Heading("Top clusters in detail"))
        for r in ranked[:3]:
            blocks += _cluster_details(by_id[r.cluster_id], r)
    blocks += [Heading("Incidents"), *_incidents(incidents, top)]
    if not trends.latency_by_model.empty:
        fmt = {
            "count": "{:,.0f}",
            "p50_ms": "{:,.0f}",
            "p95_ms": "{:,.0f}",
            "mean_ms": "{:,.0f}",
            "failure_rate": "{:.1%}",
        }
        blocks += [Heading("Latency per model"), _frame_table(trends.latency_by_model, fmt)]
    if not trends.cost_by_model.empty:
        fmt = {
            "count": "{:,.0f}",
            "total_usd": "${:,.2f}",
            "mean_usd": "${:,.4f}",
            "failing_usd": "${:,.2f}",
            "share_of_spend": "{:.1%}",
        }
        blocks += [Heading("Cost per model"), _frame_table(trends.cost_by_model, fmt)]
    images = [
        Image(name.replace("_", " "), paths["png"]) for name, paths in charts.items() if paths.get("png")
    ]
    if images:
        blocks += [Heading("Charts"), *images]
    return to_markdown(blocks, md_base_dir), to_html(blocks, title)
