"""Charts that come with a supervisor answer (no Chainlit imports): the interaction map of an analytics run."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go


def answer_figures(answer: dict[str, Any] | None) -> list[tuple[str, go.Figure]]:
    """(title, plotly figure) pairs for ``answer``: the map when the agent projected the run's interactions, the
    pass rates with their confidence intervals when the analyst answered."""
    chart = (answer or {}).get("chart") or {}
    figures = [_pass_rates(chart)] if chart.get("kind") == "pass_rates" and chart.get("rows") else []
    return figures + _map(answer)


def _pass_rates(chart: dict[str, Any]) -> tuple[str, go.Figure]:
    rows = chart["rows"]
    title = f"Pass rate by {chart['group']} of {chart.get('agent') or 'the agent'} (Wilson 95% CI)"
    fig = go.Figure(go.Bar(
        x=[str(r["value"])[:40] for r in rows], y=[r["pass_rate"] for r in rows],
        error_y={"type": "data", "symmetric": False, "array": [r["ci_high"] - r["pass_rate"] for r in rows],
                 "arrayminus": [r["pass_rate"] - r["ci_low"] for r in rows]},
        text=[f"{r['pass_rate']:.0%} of {r['n']}" for r in rows], textposition="outside"))
    fig.update_layout(title=title, yaxis={"range": [0, 1.1], "tickformat": ".0%"}, margin={"t": 60, "b": 120})
    return title, fig


def _map(answer: dict[str, Any] | None) -> list[tuple[str, go.Figure]]:
    from analytics.charts import map_chart, to_plotly

    cmap = (answer or {}).get("map")
    if not cmap or not cmap.get("points"):
        return []
    names = {c["cluster_id"]: f"c{c['cluster_id']}: {str(c.get('label') or '').split(' | ')[0]}"[:40]
             for c in cmap.get("centres", [])}
    points = cmap["points"]  # [interaction_id, cluster_id, x, y]
    coords = np.array([[p[2], p[3]] for p in points], dtype=float)
    title = (f"Interaction map ({str(cmap.get('method', 'pca')).upper()}) of analytics run {cmap.get('run_id')}, "
             f"{len(points)} of {cmap.get('n_points', len(points))} interactions")
    spec = map_chart(coords, [names.get(int(p[1]), f"c{p[1]}") for p in points], "cluster",
                     [str(p[0]) for p in points], title=title)
    return [(title, to_plotly(spec))]
