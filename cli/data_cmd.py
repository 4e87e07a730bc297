"""``data`` commands: generate the synthetic telemetry replica and compare it with the real summaries.

Heavy modules (pandas, scipy, the generator) are imported inside the commands, so importing this module (and
``opsgraph --help``) stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

data_app = typer.Typer(
    help="Synthetic LLM-ops telemetry: generate a replica with the real schema, compare it with the real data.",
    no_args_is_help=True,
)
console = Console()


def reference_dir() -> Path:
    """Folder with the three real reference CSVs ($OPSGRAPH_REFERENCE_DIR, ingest/reference, ../shared/...)."""
    from ingest.compare import reference_dir as _reference_dir

    return _reference_dir()


def _ks_table(ks: dict[str, float], threshold: float) -> Table:
    table = Table(title=f"KS vs real sessions summary (pass < {threshold})")
    table.add_column("metric")
    table.add_column("KS", justify="right")
    table.add_column("pass", justify="center")
    for metric, value in ks.items():
        table.add_row(metric, f"{value:.4f}", "[green]yes[/]" if value < threshold else "[red]no[/]")
    return table


def _ks_payload(ks: dict[str, float], threshold: float) -> dict[str, Any]:
    return {
        "ks": {k: round(v, 6) for k, v in ks.items()},
        "ks_threshold": threshold,
        "ks_pass": all(v < threshold for v in ks.values()),
        "reference_dir": str(reference_dir()),
    }


@data_app.command("generate")
def generate_cmd(
    rows: int = typer.Option(9000, "--rows", "-n", min=1, help="Number of interactions."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed and rows give identical files)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (created if missing)."),
    chunk_rows: int = typer.Option(200_000, "--chunk-rows", min=1000, help="Rows per written chunk."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report instead of tables."),
) -> None:
    """Write the five real-schema CSVs plus answer_key.json / answer_key_labels.csv, then compare them."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ingest.compare import KS_THRESHOLD, compare_dir
    from ingest.generator import generate

    try:
        if as_json:
            report = generate(rows, seed, out, chunk_rows=chunk_rows)
        else:
            columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console) as bar:
                task = bar.add_task("rows", total=rows)
                report = generate(
                    rows,
                    seed,
                    out,
                    chunk_rows=chunk_rows,
                    progress=lambda done, total: bar.update(task, completed=done),
                )
        ks = compare_dir(out)
    except (OSError, ValueError) as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(code=1) from e
    if as_json:
        typer.echo(json.dumps({"report": report.as_dict(), **_ks_payload(ks, KS_THRESHOLD)}, indent=2))
        return
    summary = Table(title=f"Generated {report.rows:,} interactions in {report.seconds:.1f}s")
    summary.add_column("item")
    summary.add_column("value", justify="right")
    for item, value in (
        ("sessions", f"{report.sessions:,}"),
        ("users", f"{report.users:,}"),
        ("failure rate", f"{report.failure_rate:.3f}"),
        ("safety_block rate", f"{report.safety_block_rate:.3f}"),
        ("folder", str(report.out_dir)),
    ):
        summary.add_row(item, value)
    for inc in report.incidents:
        summary.add_row(f"{inc['id']} {inc['kind']}", f"{inc['n_affected']:,} rows ({inc['n_failures']:,} failed)")
    console.print(summary)
    console.print(_ks_table(ks, KS_THRESHOLD))


@data_app.command("compare")
def compare_cmd(
    directory: Path = typer.Argument(..., help="Folder holding llm_system_sessions_summary.csv."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Two-sample KS statistics of the sessions summary in DIRECTORY against the real reference.

    Exits with code 2 when a statistic is not below the threshold (1 when the folder has no sessions summary).
    """
    from ingest.compare import KS_THRESHOLD, compare_dir

    try:
        ks = compare_dir(directory)
    except (OSError, ValueError, KeyError) as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(code=1) from e
    if as_json:
        typer.echo(json.dumps({"directory": str(directory), **_ks_payload(ks, KS_THRESHOLD)}, indent=2))
    else:
        console.print(_ks_table(ks, KS_THRESHOLD))
    if not all(v < KS_THRESHOLD for v in ks.values()):
        raise typer.Exit(code=2)
