"""`opsgraph analytics run`: cluster, profile, rank, project and report on the stored telemetry, with progress."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import console, emit_json, fail

analytics_app = typer.Typer(help="Clustering, ranking, maps and the analytics report.", no_args_is_help=True)


@analytics_app.callback()
def analytics_group() -> None:
    """Clustering, ranking, maps and the analytics report over the stored telemetry."""


def _parse_k(k: str) -> int | None:
    if k.strip().lower() == "auto":
        return None
    try:
        return int(k)
    except ValueError:
        raise typer.BadParameter("use 'auto' or a whole number", param_hint="--k") from None


def summarise(run: Any, top: int = 10) -> dict[str, Any]:
    """The JSON the command prints: where the outputs are, the top clusters, timings and the answer-key score."""
    by_id = {p.cluster_id: p for p in run.profiles}
    return {
        "run_id": run.run_id,
        "out_dir": str(run.out_dir),
        "paths": run.paths,
        "method": run.result.method,
        "k": run.result.k,
        "n_rows": len(run.ids),
        "silhouette": run.result.scores.get("silhouette"),
        "label_source": run.params["label_source"],
        "narrative_source": run.params["narrative_source"],
        "timings_s": run.params["timings_s"],
        "top_clusters": [
            {"rank": r.rank, "cluster_id": r.cluster_id, "label": r.label, "size": by_id[r.cluster_id].size,
             "failure_rate": by_id[r.cluster_id].failure_rate, "score": round(r.score, 4)}
            for r in run.ranked[:top]
        ],
        "evaluation": run.evaluation,
    }  # fmt: skip


def _print(summary: dict[str, Any]) -> None:
    table = Table(title=f"analytics run {summary['run_id']}: {summary['method']}, k={summary['k']}")
    for col in ("rank", "cluster", "label", "size", "failing", "score"):
        table.add_column(col, justify="left" if col == "label" else "right")
    for c in summary["top_clusters"]:
        table.add_row(str(c["rank"]), str(c["cluster_id"]), c["label"], f"{c['size']:,}",
                      f"{c['failure_rate']:.0%}", f"{c['score']:.3f}")  # fmt: skip
    console.print(table)
    console.print(f"report: {summary['paths']['report_html']}  (markdown: {summary['paths']['report_md']})")
    console.print(f"charts: {summary['paths']['charts_dir']}  metadata: {summary['paths']['cluster_metadata']}")
    console.print(f"labels: {summary['label_source']}; narrative: {summary['narrative_source']}")
    console.print(f"time per step (s): {summary['timings_s']}")
    ev = summary["evaluation"]
    if not ev:
        console.print("[dim]no answer key given or found: no ARI/purity[/]")
        return
    inc, failing = ev["incident_rows"], ev["failing_rows"]
    console.print(
        f"answer key {ev['answer_key']}: incident rows (n={inc['n_rows']}) ARI {inc['adjusted_rand']} purity "
        f"{inc['purity']}; all failing rows (n={failing['n_rows']}) ARI {failing['adjusted_rand']} purity "
        f"{failing['purity']}; {ev['in_top3']} of {len(ev['incidents'])} incidents rank in the top 3"
    )
    itab = Table(title=f"planted incidents vs clusters ({ev['ranking_strategy']} ranking)")
    for col in ("incident", "failure type", "failing rows", "main cluster", "rank", "recall", "precision"):
        itab.add_column(col, justify="left" if col in ("incident", "failure type") else "right")
    for i in ev["incidents"]:
        itab.add_row(i["incident_id"], i.get("failure_type", "-"), str(i["n_failing_rows"]),
                     str(i.get("main_cluster", "-")), str(i.get("rank", "-")), f"{i.get('recall', 0):.2f}",
                     f"{i.get('precision', 0):.2f}")  # fmt: skip
    console.print(itab)


@analytics_app.command("run")
def run_cmd(
    out: Path = typer.Option(..., "--out", help="Directory for the report, charts and cluster metadata."),
    method: str = typer.Option("kmeans", "--method", help="kmeans | hdbscan"),
    k: str = typer.Option("auto", "--k", help="Number of clusters (kmeans) or 'auto' (silhouette)."),
    strategy: str = typer.Option("mixed", "--strategy", help="Ranking strategy (size, failure_rate, ..., mixed)."),
    umap: bool = typer.Option(True, "--umap/--no-umap", help="Also compute the UMAP map (slow on first use)."),
    max_rows: int | None = typer.Option(None, "--max-rows", help="Cluster a random sample of this many rows."),
    failure_weight: float | None = typer.Option(
        None,
        "--failure-weight",
        help="Weight of the failure-type block added to the embeddings (default 0.5; 0 = text only).",
    ),
    answer_key: Path | None = typer.Option(None, "--answer-key", help="answer_key_labels.csv to score against."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    project: str = typer.Option("default", "--project", help="Project whose interactions to analyse."),
) -> None:
    """Cluster the stored interaction embeddings, rank the clusters, draw the maps and write the report."""
    from core.bootstrap import open_database
    from services.analytics_runs import DEFAULT_FAILURE_WEIGHT, RunOptions, run_analysis
    from services.analytics_store import find_answer_key

    if method not in ("kmeans", "hdbscan"):
        fail("--method must be kmeans or hdbscan", as_json=as_json)
    if answer_key is not None and not answer_key.is_file():
        fail(f"answer key {answer_key} not found", as_json=as_json)
    weight = DEFAULT_FAILURE_WEIGHT if failure_weight is None else failure_weight
    n_clusters = _parse_k(k)
    db = open_database()
    with db.conn, Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                           disable=as_json) as progress:  # fmt: skip
        current: list[TaskID] = []

        def step(name: str) -> None:
            if current:
                progress.update(current[-1], completed=1)
            current.append(progress.add_task(name, total=1))

        key = answer_key or find_answer_key(db.conn)
        opts = RunOptions(method=method, k=n_clusters, strategy=strategy, umap=umap, max_rows=max_rows,  # type: ignore[arg-type]
                          failure_weight=weight, answer_key=key)  # fmt: skip
        started = time.perf_counter()
        try:
            run = run_analysis(db.conn, out, opts, step=step, project=project)
        except (ValueError, LookupError) as exc:
            fail(str(exc), as_json=as_json)
        if current:
            progress.update(current[-1], completed=1)
    summary = summarise(run)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    if as_json:
        emit_json(summary)
    else:
        _print(summary)
