"""Backend-neutral chart specifications: the data and options of each standard chart.

A :class:`ChartSpec` is rendered to an interactive plotly figure (``analytics.chart_plotly``) and to a static
PNG with matplotlib (``analytics.chart_png``) from the same numbers. Builders here only shape data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics import columns as C
from analytics.ranking import RankedCluster
from analytics.semantics import ClusterProfile

ChartKind = Literal[
    "failures_over_time", "latency_by_model", "cost_by_model", "cluster_priority", "cluster_map"
]

PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
)
FAILURE_COLORS: dict[str, str] = {
    "none": "#b0b0b0",
    "latency_timeout": "#ff7f0e",
    "hallucination": "#9467bd",
    "tool_error": "#d62728",
    "formatting_error": "#1f77b4",
    "safety_block": "#2ca02c",
    "toxicity": "#8c564b",
    "unknown": "#7f7f7f",
}
NOISE_COLOR = "#cfcfcf"


@dataclass
class ChartSpec:
    """What to draw: ``kind`` selects the renderer, ``data`` holds the plotted rows, ``options`` the rest."""

    kind: ChartKind
    title: str
    data: pd.DataFrame
    options: dict[str, Any] = field(default_factory=dict)


def color_map(categories: Sequence[str]) -> dict[str, str]:
    """Stable colour per category: fixed colours for failure types, grey for noise, else the palette."""
    out: dict[str, str] = {}
    others = [c for c in categories if c not in FAILURE_COLORS and c not in ("-1", "noise")]
    for c in categories:
        if c in FAILURE_COLORS:
            out[c] = FAILURE_COLORS[c]
        elif c in ("-1", "noise"):
            out[c] = NOISE_COLOR
        else:
            out[c] = PALETTE[others.index(c) % len(PALETTE)]
    return out


def failures_over_time_chart(
    failures_daily: pd.DataFrame, title: str = "Failures per day by type"
) -> ChartSpec:
    """Stacked daily failure counts per type, from ``timeseries.failures_over_time`` output."""
    data = (
        failures_daily[["date", "failure_type", "count"]].copy()
        if len(failures_daily)
        else pd.DataFrame(columns=["date", "failure_type", "count"])
    )
    return ChartSpec("failures_over_time", title, data, {"y_label": "failing interactions"})


def latency_chart(
    df: pd.DataFrame,
    by: str = "model_name",
    max_points: int = 20000,
    seed: int = 0,
    title: str = "Latency per model (p50 and p95 marked)",
) -> ChartSpec:
    """Latency distribution per model (box plots) with p50 and p95 markers computed on all rows.

    At most ``max_points`` rows (random sample) feed the box shapes; the markers always use every row.
    """
    latency, key = C.numeric(df, "latency_ms"), C.column(df, by)
    if latency is None or key is None:
        return ChartSpec("latency_by_model", title, pd.DataFrame(columns=["group", "latency_ms"]))
    data = pd.DataFrame({"group": key.astype(str), "latency_ms": latency}).dropna()
    grouped = data.groupby("group")["latency_ms"]
    summary = pd.DataFrame({"p50_ms": grouped.quantile(0.5), "p95_ms": grouped.quantile(0.95)})
    summary = summary.sort_values("p95_ms", ascending=False)
    if len(data) > max_points:
        data = data.sample(n=max_points, random_state=seed)
    options = {
        "order": list(summary.index),
        "summary": summary.reset_index().to_dict(orient="records"),
        "x_label": by,
        "y_label": "latency (ms)",
    }
    return ChartSpec("latency_by_model", title, data, options)


def cost_chart(
    cost_table: pd.DataFrame, title: str = "Spend per model (failing share highlighted)"
) -> ChartSpec:
    """Total spend per model split into spend on failing and on healthy interactions."""
    if cost_table.empty:
        return ChartSpec(
            "cost_by_model", title, pd.DataFrame(columns=["group", "failing_usd", "healthy_usd"])
        )
    by = cost_table.columns[0]
    data = pd.DataFrame(
        {
            "group": cost_table[by].astype(str),
            "failing_usd": cost_table["failing_usd"].astype(float),
            "healthy_usd": (cost_table["total_usd"] - cost_table["failing_usd"]).astype(float),
        }
    )
    return ChartSpec("cost_by_model", title, data, {"x_label": str(by), "y_label": "cost (USD)"})


def priority_chart(
    ranked: Sequence[RankedCluster],
    profiles: Sequence[ClusterProfile] = (),
    top: int = 10,
    title: str | None = None,
) -> ChartSpec:
    """Horizontal bars of the top clusters by priority score, coloured by dominant failure type."""
    by_id = {p.cluster_id: p for p in profiles}
    rows = []
    for r in list(ranked)[:top]:
        p = by_id.get(r.cluster_id)
        rows.append(
            {
                "name": f"#{r.rank} c{r.cluster_id}: {r.label}"[:96],
                "score": r.score,
                "failure_type": (p.dominant_failure_type if p and p.dominant_failure_type else "none"),
                "reason": r.reason,
            }
        )
    strategy = ranked[0].strategy if ranked else "mixed"
    data = pd.DataFrame(rows, columns=["name", "score", "failure_type", "reason"])
    return ChartSpec(
        "cluster_priority",
        title or f"Top clusters by priority ({strategy})",
        data,
        {"x_label": f"priority score ({strategy})"},
    )


def map_chart(
    coords: np.ndarray,
    color: Sequence[Any] | np.ndarray,
    color_name: str = "cluster",
    hover: Sequence[str] | None = None,
    title: str | None = None,
    max_points: int = 20000,
    seed: int = 0,
) -> ChartSpec:
    """2-d map of interactions coloured by any categorical array (cluster, failure type, judge verdict)."""
    coords = np.asarray(coords)
    data = pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1], "category": [str(c) for c in color]})
    data["hover"] = list(hover) if hover is not None else data["category"]
    if len(data) > max_points:
        data = data.sample(n=max_points, random_state=seed)
    return ChartSpec(
        "cluster_map",
        title or f"Interaction map coloured by {color_name}",
        data,
        {"legend_title": color_name},
    )
