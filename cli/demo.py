"""`opsgraph demo`: the main job end to end on the embedded defaults, offline.

Steps: database + migrations + doctor; generate the 9k sample and ingest it (validation, load, embeddings);
analytics (clusters, ranking, charts, report); a diagnosis through the supervisor; the evaluation lifecycle with
both sample agents (auto-approved and recorded as such); where everything is and how to open MLflow.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import typer

from cli.common import console


def _step(title: str) -> float:
    console.rule(f"[bold]{title}")
    return time.perf_counter()


def demo(
    scenarios: int = typer.Option(12, help="Scenarios in the evaluation dataset."),
    skip_lifecycle: bool = typer.Option(False, help="Stop after the diagnosis."),
    timings: Path | None = typer.Option(None, help="Write the seconds per step to this JSON file."),
) -> None:
    """Run the main job end to end offline: ingest, analytics, a diagnosis, the evaluation lifecycle."""
    from cli.doctor import collect

    started = time.perf_counter()
    spent: dict[str, float] = {}
    _step("1/5 database and installation")
    report, problems = collect()
    for p in problems:
        console.print(f"[bold red]problem:[/] {p}")
    if problems:
        raise typer.Exit(1)
    db = report["database"]
    console.print(f"{db['server']} Postgres {db['postgres']} + pgvector {db['pgvector']}; LLM provider "
                  f"{report['llm_provider']}; embedder {report['embedder']['name']} ({report['embedder']['dim']}-d)")

    t = _step("2/5 telemetry: generate the 9k sample and ingest it")
    from cli.ingest_cmd import run_ingest

    summary: dict[str, Any] = run_ingest(None, embed=True, quiet=False)
    tables = summary["tables"]
    spent["ingest"] = time.perf_counter() - t
    console.print(", ".join(f"{n}: {v['rows_loaded']}/{v['rows_read']} rows" for n, v in tables.items())
                  + f"; embedded {summary['embeddings'].get('embedded')} (cached {summary['embeddings'].get('cached')})"
                  + f" in {spent['ingest']:.0f}s")

    t = _step("3/5 analytics: clusters, priorities, charts, report")
    out = _analytics()
    spent["analytics"] = time.perf_counter() - t
    console.print(f"{out} ({spent['analytics']:.0f}s)")

    t = _step("4/5 ask: why did requests fail?")
    from cli.ask_cmd import ask_question
    from core.diagnosis import Diagnosis

    answer = ask_question("Why did llama-3.1-70b requests time out?", f"demo-{uuid.uuid4().hex[:8]}")
    console.print(f"routed to [bold]{answer['agent']}[/] ({answer['route']['method']})")
    console.print(Diagnosis.model_validate(answer["answer"]["diagnosis"]).to_markdown())
    spent["ask"] = time.perf_counter() - t

    if not skip_lifecycle:
        t = _step("5/5 evaluation lifecycle: support v2 (candidate) vs v1 (baseline), auto-approved")
        from cli.lifecycle_cmd import pipeline_run
        from core.lifecycle_config import DEFAULTS

        pipeline_run(project="demo", approve="auto", candidate=DEFAULTS.candidate, baseline=DEFAULTS.baseline,
                     scenarios=scenarios, seeds=DEFAULTS.seeds_text, thread=None,
                     registered_name=DEFAULTS.registered_name, as_json=False)
        spent["lifecycle"] = time.perf_counter() - t
        console.print(f"lifecycle in {spent['lifecycle']:.0f}s")
    spent["total"] = time.perf_counter() - started
    console.print(f"[bold green]demo finished in {spent['total']:.0f}s[/]")
    if timings is not None:
        timings.write_text(json.dumps({k: round(v, 1) for k, v in spent.items()}, indent=1))


def _analytics() -> str:
    """Run the analytics job (clusters, ranking, charts, report); it prints its own summary."""
    from cli.analytics_cmd import run_cmd
    from core.settings import get_settings

    out = get_settings().artifacts_dir / "analytics" / "demo"
    run_cmd(out=out, method="kmeans", k="auto", strategy="mixed", umap=True, max_rows=None, failure_weight=None,
            answer_key=None, as_json=False, project="default")
    return f"report: {out / 'report.html'}"
