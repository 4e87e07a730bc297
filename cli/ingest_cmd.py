"""`opsgraph data ingest`: load telemetry CSVs (real or generated) with progress and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import LineProgress, console, emit_json, fail
from core.settings import get_settings

if TYPE_CHECKING:
    from ingest.pipeline import Reporter

SAMPLE_ROWS, SAMPLE_SEED = 9000, 0


def sample_dir() -> Path:
    """The default input: a generated 9,000-row sample (seed 0) in the data dir, generated on first use."""
    from ingest.generator import generate

    out = get_settings().home_dir / "sample" / f"rows{SAMPLE_ROWS}_seed{SAMPLE_SEED}"
    if not (out / "answer_key.json").exists():
        console.print(f"generating the {SAMPLE_ROWS}-row sample (seed {SAMPLE_SEED}) into {out}")
        generate(SAMPLE_ROWS, SAMPLE_SEED, out)
    return out


def run_ingest(directory: Path | None, embed: bool, quiet: bool, project: str = "default",
               mappings: dict[str, dict[str, str]] | None = None) -> dict[str, object]:
    """Ingest ``directory`` (or the sample) into ``project`` with a progress display; returns the summary dict."""
    from core.bootstrap import open_database
    from ingest.pipeline import ingest_dir

    src = directory or sample_dir()
    db = open_database()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with db.conn, Progress(*columns, console=console, disable=quiet or not console.is_terminal) as progress:
        tasks: dict[str, TaskID] = {}

        def bars(phase: str, advance: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], advance=advance)

        report: Reporter | None = None if quiet else bars if console.is_terminal else LineProgress(console)
        return ingest_dir(db.conn, src, embed=embed, report=report, project=project, mappings=mappings).to_dict()


def ingest_cmd(
    directory: Path | None = typer.Argument(
        None, help="Folder with telemetry files (CSV, Parquet, JSON Lines), or one interactions file "
        "(default: generated sample)."),
    no_embed: bool = typer.Option(False, "--no-embed", help="Skip embeddings."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    project: str = typer.Option("default", "--project", help="Project the rows belong to."),
    maps: list[str] = typer.Option([], "--map", help="Column mapping target=source (table.target=source for a "
                                   "summary table); repeatable."),
    mapping_file: Path | None = typer.Option(None, "--mapping", help="JSON mapping file (see docs/telemetry.md)."),
) -> None:
    """Validate and load telemetry in any layout; quarantine rejects; derive summaries; write artifacts; embed."""
    from ingest.mapping import load_mapping_file, parse_map_flags
    from ingest.validate import IngestError

    try:
        mappings = load_mapping_file(mapping_file) if mapping_file else {}
        for name, extra in parse_map_flags(maps).items():
            mappings.setdefault(name, {}).update(extra)
        summary = run_ingest(directory, embed=not no_embed, quiet=as_json, project=project, mappings=mappings)
    except IngestError as exc:
        fail(str(exc), as_json=as_json)
    if as_json:
        emit_json(summary)
        return
    table = Table(title=f"ingest {summary['ingest_id']}")
    for col in ("table", "read", "loaded", "rejected", "inserted", "updated", "unchanged"):
        table.add_column(col, justify="right" if col != "table" else "left")
    for name, t in summary["tables"].items():  # type: ignore[attr-defined]
        table.add_row(name, *(str(t[k]) for k in ("rows_read", "rows_loaded", "rows_rejected", "inserted",
                                                   "updated", "unchanged")))
    console.print(table)
    for name, t in summary["tables"].items():  # type: ignore[attr-defined]
        if t.get("rejects_csv"):
            console.print(f"[yellow]{t['rows_rejected']} rejected rows of {name}: {t['rejects_csv']}[/]")
    for cap in summary["capabilities"]:  # type: ignore[attr-defined]
        if not cap["available"]:
            console.print(f"[yellow]unavailable[/] {cap['analysis']}: {cap['reason']}")
    console.print(f"embeddings: {summary['embeddings']}  retrieval: {summary['retrieval']}")
    console.print(f"time per phase (s): {summary['seconds']}")
    console.print(f"artifacts: {summary['artifacts']}")
