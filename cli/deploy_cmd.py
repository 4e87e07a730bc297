"""`opsgraph deploy ...`: the MLflow registry's champion and rollback."""

from __future__ import annotations

import typer

from cli.common import console, emit_json, fail
from core.lifecycle_config import DEFAULTS

deploy_app = typer.Typer(help="Deployed agents in the MLflow registry: status and rollback.", no_args_is_help=True)
DEFAULT_NAME = DEFAULTS.registered_name


@deploy_app.command("status")
def status(name: str = typer.Option(DEFAULT_NAME), as_json: bool = typer.Option(False, "--json")) -> None:
    """The champion and challenger versions."""
    from core.tracking import configure_mlflow
    from services.model_registry import CHALLENGER, alias_version, champion

    configure_mlflow()
    out = {"name": name, "champion": champion(name), "challenger": alias_version(name, CHALLENGER)}
    emit_json(out) if as_json else console.print(out)


@deploy_app.command("rollback")
def rollback_cmd(name: str = typer.Option(DEFAULT_NAME), project: str = typer.Option("ops", "--project"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Restore the previous champion (recorded when the current one was promoted)."""
    from core.tracking import configure_mlflow
    from services.model_registry import rollback

    configure_mlflow()
    try:
        out = rollback(name, project)
    except ValueError as exc:
        fail(str(exc), as_json=as_json)
    emit_json(out) if as_json else console.print(f"champion of {name}: v{out['from']} -> v{out['to']}")
