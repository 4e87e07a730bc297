"""The `opsgraph` command line."""

from __future__ import annotations

import os

import typer

from cli.agent_cmd import agent_app, contracts_app, eval_judge
from cli.analytics_cmd import analytics_app
from cli.ask_cmd import ask_cmd
from cli.data_cmd import data_app
from cli.db_cmd import db_app
from cli.demo import demo
from cli.deploy_cmd import deploy_app
from cli.doctor import doctor
from cli.eval_cmd import eval_app
from cli.ingest_cmd import ingest_cmd
from cli.judge_cmd import judge_app
from cli.lifecycle_agents_cmd import analyst_cmd, comparator_cmd, eval_agents, feedback_cmd
from cli.lifecycle_cmd import approvals_app, pipeline_app
from cli.otlp_cmd import embed_cmd, keys_app, serve_app
from cli.stage_cmd import stage_app

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

app = typer.Typer(help="opsgraph: LLM operations from telemetry to approved deployments.", no_args_is_help=True)


@app.callback()
def start() -> None:
    """opsgraph: LLM operations from telemetry to approved deployments."""
    from agents.setup import register_offline_handlers

    register_offline_handlers()


app.command("doctor")(doctor)
app.command("demo")(demo)
app.command("ask")(ask_cmd)
app.add_typer(db_app, name="db")
data_app.command("ingest")(ingest_cmd)
data_app.command("embed")(embed_cmd)
app.add_typer(data_app, name="data")
eval_app.command("judge")(eval_judge)
eval_app.command("agents")(eval_agents)
agent_app.command("analyst")(analyst_cmd)
agent_app.command("comparator")(comparator_cmd)
agent_app.command("feedback")(feedback_cmd)
app.add_typer(eval_app, name="eval")
app.add_typer(agent_app, name="agent")
app.add_typer(contracts_app, name="contracts")
app.add_typer(judge_app, name="judge")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(approvals_app, name="approvals")
app.add_typer(deploy_app, name="deploy")
app.add_typer(stage_app, name="stage")
app.add_typer(analytics_app, name="analytics")
app.add_typer(keys_app, name="keys")
app.add_typer(serve_app, name="serve")


def main() -> None:
    """Entry point for `python -m cli.main`."""
    app()


if __name__ == "__main__":
    main()
