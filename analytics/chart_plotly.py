"""Plotly renderings of :class:`~analytics.chart_specs.ChartSpec` (interactive HTML charts)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from analytics.chart_specs import ChartSpec, color_map


def category_order(values: pd.Series) -> list[str]:
    """Distinct categories, numeric ones in numeric order first, then alphabetical."""
    uniq = [str(v) for v in pd.unique(values)]

    def key(v: str) -> tuple[int, float, str]:
        try:
            return (0, float(v), v)
        except ValueError:
            return (1, 0.0, v)

    return sorted(uniq, key=key)


def _layout(fig: go.Figure, spec: ChartSpec) -> go.Figure:
    fig.update_layout(
        title=spec.title,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 60, "b": 60},
        xaxis_title=spec.options.get("x_label"),
        yaxis_title=spec.options.get("y_label"),
        legend_title_text=spec.options.get("legend_title"),
    )
    return fig


def _failures(spec: ChartSpec) -> go.Figure:
    fig = go.Figure()
    data = spec.data
    kinds = category_order(data["failure_type"]) if len(data) else []
    colors = color_map(kinds)
    for kind in kinds:
        part = data[data["failure_type"] == kind].sort_values("date")
        fig.add_trace(
            go.Scatter(
                x=[d.isoformat() for d in pd.to_datetime(part["date"])],
                y=part["count"].tolist(),
                name=kind,
                mode="lines",
                stackgroup="failures",
                line={"color": colors[kind], "width": 1},
            )
        )
    return fig


def _latency(spec: ChartSpec) -> go.Figure:
    fig = go.Figure()
    order = spec.options.get("order", [])
    for group in order:
        values = spec.data.loc[spec.data["group"] == group, "latency_ms"]
        fig.add_trace(
            go.Box(y=values.tolist(), name=group, boxpoints=False, marker_color="#1f77b4", showlegend=False)
        )
    summary = spec.options.get("summary", [])
    for stat, symbol, color in (("p50_ms", "diamond", "#2ca02c"), ("p95_ms", "triangle-up", "#d62728")):
        fig.add_trace(
            go.Scatter(
                x=[s["group"] for s in summary],
                y=[s[stat] for s in summary],
                mode="markers+text",
                name=stat.replace("_ms", ""),
                marker={"symbol": symbol, "size": 11, "color": color},
                text=[f"{s[stat]:,.0f}" for s in summary],
                textposition="middle right",
            )
        )
    fig.update_xaxes(categoryorder="array", categoryarray=order)
    return fig


def _cost(spec: ChartSpec) -> go.Figure:
    data = spec.data
    fig = go.Figure(
        [
            go.Bar(
                x=data["group"].tolist(),
                y=data["healthy_usd"].tolist(),
                name="healthy",
                marker_color="#1f77b4",
            ),
            go.Bar(
                x=data["group"].tolist(),
                y=data["failing_usd"].tolist(),
                name="failing",
                marker_color="#d62728",
            ),
        ]
    )
    fig.update_layout(barmode="stack")
    return fig


def _priority(spec: ChartSpec) -> go.Figure:
    data = spec.data.iloc[::-1]
    colors = color_map(category_order(data["failure_type"])) if len(data) else {}
    fig = go.Figure(
        go.Bar(
            x=data["score"].tolist(),
            y=data["name"].tolist(),
            orientation="h",
            marker_color=[colors[f] for f in data["failure_type"]],
            hovertext=data["reason"].tolist(),
            hoverinfo="text",
            name="priority",
        )
    )
    fig.update_layout(height=max(350, 40 * len(data) + 120))
    return fig


def _map(spec: ChartSpec) -> go.Figure:
    data = spec.data
    cats = category_order(data["category"]) if len(data) else []
    colors = color_map(cats)
    trace = go.Scattergl if len(data) > 5000 else go.Scatter
    fig = go.Figure()
    for cat in cats:
        part = data[data["category"] == cat]
        fig.add_trace(
            trace(
                x=part["x"].round(4).tolist(),
                y=part["y"].round(4).tolist(),
                mode="markers",
                name=cat,
                text=part["hover"].astype(str).str.slice(0, 160).tolist(),
                hoverinfo="text+name",
                marker={"size": 5, "color": colors[cat], "opacity": 0.75},
            )
        )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return fig


RENDERERS: dict[str, Callable[[ChartSpec], go.Figure]] = {
    "failures_over_time": _failures,
    "latency_by_model": _latency,
    "cost_by_model": _cost,
    "cluster_priority": _priority,
    "cluster_map": _map,
}


def to_plotly(spec: ChartSpec) -> go.Figure:
    """Plotly figure for ``spec`` (traces use plain lists so the HTML carries readable data)."""
    return _layout(RENDERERS[spec.kind](spec), spec)
