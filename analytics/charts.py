"""Chart entry points: build the standard chart specs and write each as offline HTML (plotly) and PNG
(matplotlib Agg).

HTML never references a CDN. ``plotlyjs="shared"`` (default) writes one ``plotly.min.js`` next to the HTML
files in ``out_dir`` and loads it with a relative ``<script src>``; ``"inline"`` embeds the ~4.5 MB library
in every file so a single HTML file can be moved on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics import columns as C
from analytics.chart_plotly import to_plotly
from analytics.chart_png import render_png
from analytics.chart_specs import (
    ChartSpec,
    cost_chart,
    failures_over_time_chart,
    latency_chart,
    map_chart,
    priority_chart,
)
from analytics.ranking import RankedCluster
from analytics.semantics import ClusterProfile
from analytics.timeseries import Trends

__all__ = [
    "ChartSpec",
    "cost_chart",
    "failures_over_time_chart",
    "latency_chart",
    "map_chart",
    "priority_chart",
    "standard_charts",
    "to_plotly",
    "write_chart",
    "write_charts",
]


def _safe(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    if not cleaned:
        raise ValueError(f"unusable chart name {name!r}")
    return cleaned


def write_chart(
    fig_spec: ChartSpec,
    out_dir: str | Path,
    name: str,
    plotlyjs: Literal["shared", "inline"] = "shared",
    formats: Sequence[str] = ("html", "png"),
) -> dict[str, str]:
    """Write ``fig_spec`` as ``<out_dir>/<name>.html`` and/or ``.png``.

    Returns ``{"html": path, "png": path}`` (only the formats written)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = _safe(name)
    paths: dict[str, str] = {}
    if "html" in formats:
        html_path = out / f"{stem}.html"
        to_plotly(fig_spec).write_html(
            html_path,
            include_plotlyjs="directory" if plotlyjs == "shared" else True,
            include_mathjax=False,
            full_html=True,
            config={"displaylogo": False, "responsive": True},
        )
        paths["html"] = str(html_path)
    if "png" in formats:
        paths["png"] = str(render_png(fig_spec, out / f"{stem}.png"))
    return paths


def write_charts(
    specs: dict[str, ChartSpec], out_dir: str | Path, plotlyjs: Literal["shared", "inline"] = "shared"
) -> dict[str, dict[str, str]]:
    """``write_chart`` for every (name, spec); returns name -> {"html", "png"} paths."""
    return {name: write_chart(spec, out_dir, name, plotlyjs=plotlyjs) for name, spec in specs.items()}


def standard_charts(
    df: pd.DataFrame,
    trends: Trends,
    ranked: Sequence[RankedCluster] = (),
    profiles: Sequence[ClusterProfile] = (),
    coords: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    verdicts: Sequence[Any] | np.ndarray | None = None,
    top: int = 10,
) -> dict[str, ChartSpec]:
    """The standard chart set: failures over time, latency and cost per model, top clusters by priority,
    and (with 2-d ``coords``) maps coloured by cluster, by failure type and, if given, by judge verdict."""
    specs: dict[str, ChartSpec] = {}
    if not trends.failures_daily.empty:
        specs["failures_over_time"] = failures_over_time_chart(trends.failures_daily)
    if C.has(df, "latency_ms") and C.has(df, "model_name"):
        specs["latency_by_model"] = latency_chart(df)
    if not trends.cost_by_model.empty:
        specs["cost_by_model"] = cost_chart(trends.cost_by_model)
    if ranked:
        specs["cluster_priority"] = priority_chart(ranked, profiles, top=top)
    if coords is not None:
        prompts = C.column(df, "prompt_text")
        hover = prompts.fillna("").astype(str).tolist() if prompts is not None else None
        if labels is not None:
            specs["map_by_cluster"] = map_chart(coords, labels, "cluster", hover)
        specs["map_by_failure_type"] = map_chart(coords, C.failure_types(df).tolist(), "failure type", hover)
        if verdicts is not None:
            specs["map_by_verdict"] = map_chart(coords, verdicts, "judge verdict", hover)
    return specs
