"""The `opsgraph` command line."""

from __future__ import annotations

import os

import typer

from cli.db_cmd import db_app
from cli.demo import demo
from cli.doctor import doctor

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

app = typer.Typer(help="opsgraph: LLM operations from telemetry to approved deployments.", no_args_is_help=True)
app.command("doctor")(doctor)
app.command("demo")(demo)
app.add_typer(db_app, name="db")


def main() -> None:
    """Entry point for `python -m cli.main`."""
    app()


if __name__ == "__main__":
    main()
