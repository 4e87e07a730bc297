"""Static PNG renderings of :class:`~analytics.chart_specs.ChartSpec` with matplotlib's Agg canvas.

The object-oriented API (``Figure`` + ``FigureCanvasAgg``) is used instead of ``pyplot``: no global backend
state, no GUI, safe in worker threads and servers.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analytics.chart_plotly import category_order
from analytics.chart_specs import ChartSpec, color_map


def _empty(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="#777777")


def _failures(ax: Axes, spec: ChartSpec) -> None:
    data = spec.data
    if data.empty:
        return _empty(ax)
    wide = data.pivot_table(index="date", columns="failure_type", values="count", aggfunc="sum", fill_value=0)
    kinds = category_order(pd.Series(wide.columns))
    colors = color_map(kinds)
    dates = pd.DatetimeIndex(wide.index)
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    ax.stackplot(
        dates,
        *[wide[k].to_numpy() for k in kinds],
        labels=kinds,
        colors=[colors[k] for k in kinds],
        alpha=0.85,
    )
    ax.legend(loc="upper left", fontsize=8, ncols=2, frameon=False)
    ax.figure.autofmt_xdate()


def _latency(ax: Axes, spec: ChartSpec) -> None:
    order = spec.options.get("order", [])
    if not order:
        return _empty(ax)
    values = [spec.data.loc[spec.data["group"] == g, "latency_ms"].to_numpy() for g in order]
    ax.boxplot(values, tick_labels=order, showfliers=False, widths=0.5)
    summary = {s["group"]: s for s in spec.options.get("summary", [])}
    xs = np.arange(1, len(order) + 1)
    for stat, marker, color in (("p50_ms", "D", "#2ca02c"), ("p95_ms", "^", "#d62728")):
        ys = [summary[g][stat] for g in order]
        ax.scatter(xs, ys, marker=marker, color=color, zorder=3, label=stat.replace("_ms", ""))
        for x, y in zip(xs, ys, strict=True):
            ax.annotate(
                f"{y:,.0f}", (x, y), textcoords="offset points", xytext=(8, 0), fontsize=7, va="center"
            )
    ax.legend(fontsize=8, frameon=False)
    ax.tick_params(axis="x", labelrotation=30)


def _cost(ax: Axes, spec: ChartSpec) -> None:
    data = spec.data
    if data.empty:
        return _empty(ax)
    groups = data["group"].tolist()
    ax.bar(groups, data["healthy_usd"], color="#1f77b4", label="healthy")
    ax.bar(groups, data["failing_usd"], bottom=data["healthy_usd"], color="#d62728", label="failing")
    ax.legend(fontsize=8, frameon=False)
    ax.tick_params(axis="x", labelrotation=30)


def _priority(ax: Axes, spec: ChartSpec) -> None:
    data = spec.data.iloc[::-1]
    if data.empty:
        return _empty(ax)
    kinds = category_order(data["failure_type"])
    colors = color_map(kinds)
    names = [textwrap.fill(str(n), 48) for n in data["name"]]
    ax.barh(names, data["score"], color=[colors[f] for f in data["failure_type"]])
    ax.tick_params(axis="y", labelsize=8)
    handles = [Patch(color=colors[k], label=k) for k in kinds]
    ax.legend(handles=handles, fontsize=8, frameon=False, loc="lower right", title="dominant failure")


def _map(ax: Axes, spec: ChartSpec) -> None:
    data = spec.data
    if data.empty:
        return _empty(ax)
    cats = category_order(data["category"])
    colors = color_map(cats)
    for cat in cats:
        part = data[data["category"] == cat]
        ax.scatter(part["x"], part["y"], s=6, alpha=0.7, color=colors[cat], label=cat, linewidths=0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(
        fontsize=7,
        frameon=False,
        markerscale=2,
        title=spec.options.get("legend_title"),
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        ncols=1 if len(cats) <= 16 else 2,
    )


DRAWERS: dict[str, Callable[[Axes, ChartSpec], None]] = {
    "failures_over_time": _failures,
    "latency_by_model": _latency,
    "cost_by_model": _cost,
    "cluster_priority": _priority,
    "cluster_map": _map,
}


def render_png(
    spec: ChartSpec, path: str | Path, width: float = 10.0, height: float = 5.5, dpi: int = 110
) -> Path:
    """Draw ``spec`` with matplotlib (Agg) and save it as a PNG at ``path``; returns the path."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    DRAWERS[spec.kind](ax, spec)
    ax.set_title(spec.title)
    if spec.options.get("x_label"):
        ax.set_xlabel(spec.options["x_label"])
    if spec.options.get("y_label"):
        ax.set_ylabel(spec.options["y_label"])
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out
