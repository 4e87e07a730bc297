"""`opsgraph demo`: the main job end to end on the embedded defaults, offline."""

from __future__ import annotations

import time

import typer

from cli.common import console
from cli.doctor import collect


def demo() -> None:
    """Start the database, migrate, and check the installation (later stages extend this)."""
    started = time.perf_counter()
    console.rule("[bold]opsgraph demo")
    with console.status("starting the database and applying migrations"):
        report, problems = collect()
    if problems:
        for p in problems:
            console.print(f"[bold red]problem:[/] {p}")
        raise typer.Exit(1)
    db = report["database"]
    console.print(f"database: {db['server']} Postgres {db['postgres']} with pgvector {db['pgvector']} at {db['url']}")
    console.print(f"LLM provider: {report['llm_provider']}; embedder: {report['embedder']}")
    console.print(f"MLflow: {report['mlflow_tracking_uri']}")
    console.print(f"[bold green]demo finished in {time.perf_counter() - started:.1f}s[/]")
