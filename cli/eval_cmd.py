"""`opsgraph eval ...`: offline evaluations of opsgraph's own components (routing)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.columns import Columns
from rich.console import Console
from rich.table import Table

from agents.registry import AGENTS
from cli.common import emit_json, fail

if TYPE_CHECKING:
    from agents.routing.evaluation import RoutingReport

eval_app = typer.Typer(help="Offline evaluations: how well opsgraph itself works.", no_args_is_help=True)
out = Console()


@eval_app.callback()
def eval_main() -> None:
    """Offline evaluations: how well opsgraph itself works."""

_SHORT: dict[str, str] = {spec.name: spec.short for spec in AGENTS}


def _metrics_table(ours: RoutingReport, base: RoutingReport) -> Table:
    table = Table(title=f"Routing on {ours.n} requests: accuracy router {ours.accuracy:.1%}, "
                        f"keyword baseline {base.accuracy:.1%}")
    table.add_column("agent")
    table.add_column("n", justify="right")
    for who in ("router", "keyword"):
        table.add_column(f"{who} recall", justify="right")
        table.add_column(f"{who} precision", justify="right")
    for agent, m in ours.per_agent.items():
        b = base.per_agent[agent]
        table.add_row(agent, str(m.support), f"{m.recall:.2f}", f"{m.precision:.2f}", f"{b.recall:.2f}",
                      f"{b.precision:.2f}")
    table.add_row("[bold]all[/]", str(ours.n), f"[bold]{ours.accuracy:.2f}[/]", "", f"[bold]{base.accuracy:.2f}[/]",
                  "")
    return table


def _confusion_table(report: RoutingReport, title: str) -> Table:
    table = Table(title=f"{title} (rows expected, columns predicted)")
    labels = list(report.confusion)
    cols = list(next(iter(report.confusion.values())))
    table.add_column("")
    for c in cols:
        table.add_column(_SHORT.get(c, c[:5]), justify="right")
    for r in labels:
        cells = [str(report.confusion[r][c]) if report.confusion[r][c] else "." for c in cols]
        cells = [f"[green]{v}[/]" if c == r and v != "." else v for c, v in zip(cols, cells, strict=True)]
        table.add_row(_SHORT.get(r, r), *cells)
    return table


@eval_app.command("routing")
def routing(
    file: Path = typer.Option(..., "--file", "-f", help="JSONL file of {\"q\": ..., \"agent\": ...} lines."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    show_errors: bool = typer.Option(False, "--errors", help="Also list the router's misroutes."),
) -> None:
    """Score the router and the keyword baseline on a labelled set of requests."""
    from agents.routing.evaluation import evaluate
    from agents.routing.examples import RoutingDataError, load_jsonl
    from agents.routing.keyword_baseline import keyword_route
    from agents.routing.router import load_router

    try:
        examples = load_jsonl(file)
    except RoutingDataError as exc:
        fail(str(exc), as_json=as_json)
    router = load_router()
    ours = evaluate(router.predict, examples, predict_many=router.predict_many)
    base = evaluate(keyword_route, examples)
    if as_json:
        router_out: dict[str, Any] = ours.model_dump()
        router_out["model"] = {"classifier": router.chosen, "cv_accuracy": router.cv_scores,
                               "embedder": router.embedder_name}
        emit_json({"router": router_out, "keyword_baseline": base.model_dump()})
        return
    out.print(_metrics_table(ours, base))
    out.print(f"router classifier: {router.chosen} (5-fold CV accuracy on the training set "
              f"{router.cv_scores.get(router.chosen, 0.0):.3f}; candidates {router.cv_scores})")
    out.print(Columns([_confusion_table(ours, "router"), _confusion_table(base, "keyword baseline")]))
    if show_errors and ours.errors:
        table = Table(title="router misroutes")
        for col in ("expected", "predicted", "request"):
            table.add_column(col)
        for e in ours.errors:
            table.add_row(e.expected, e.predicted, e.q)
        out.print(table)
