"""`opsgraph stage ...`: run one lifecycle stage outside a graph, on a JSON state file (JSON in, JSON out).

Stages chain through the state file: ``stage dataset -o s1.json``, ``stage simulate -i s1.json -o s2.json``,
``stage judge -i s2.json -o s3.json``, then ``analyze``, ``compare``, ``deploy``, ``feedback``. Each stage logs to
MLflow under the project like the lifecycle graph does (no gates here: use ``opsgraph pipeline run`` for those).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from cli.common import fail
from core.lifecycle_config import DEFAULTS, agent_ref

stage_app = typer.Typer(help="Run one lifecycle stage on a JSON state file (no gate).", no_args_is_help=True)


def _read(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}", code=2)
    if not isinstance(data, dict):
        fail(f"{path}: expected a JSON object (the lifecycle state)", code=2)
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    sys.stdout.write(text) if str(path) == "-" else path.write_text(text)


def _run(stage: str, fn: Callable[[Any], dict[str, Any]], project: str, inp: Path | None, out: Path,
         needs: tuple[str, ...], extra: dict[str, Any]) -> None:
    from graphs.lifecycle import start_project

    state = _read(inp)
    state["project_id"] = project
    missing = [k for k in needs if k not in state]
    if missing:
        fail(f"the {stage} stage needs {', '.join(missing)} in the input state (run the earlier stages first)",
             code=2)
    state.update({k: v for k, v in extra.items() if v is not None})
    state = {**state, **{k: v for k, v in start_project(state).items() if k not in state}}  # type: ignore[arg-type]
    try:
        update = fn(state)
    except (KeyError, ValueError) as exc:
        fail(f"{stage} stage failed: {type(exc).__name__}: {exc}", code=2)
    runs = {**state.get("runs", {}), **update.pop("runs", {})}
    _write(out, {**state, **update, "runs": runs})


def _agent(ref: str | None) -> dict[str, str] | None:
    return agent_ref(ref, default_version="v1") if ref else None


INPUT = typer.Option(None, "--input", "-i", help="State JSON from the previous stage ('-' = stdin).")
OUTPUT = typer.Option(Path("-"), "--output", "-o", help="Where to write the new state ('-' = stdout).")
PROJECT = typer.Option(..., "--project", help="Project id (MLflow experiment).")


@stage_app.command("dataset")
def dataset(project: str = PROJECT, input: Path | None = INPUT, output: Path = OUTPUT,
            candidate: str = typer.Option(DEFAULTS.candidate),
            scenarios: int = typer.Option(DEFAULTS.n_scenarios)) -> None:
    """Build (or, with an input state holding a dataset and an instruction, revise) the dataset."""
    from graphs.lifecycle_stages import build_dataset_stage

    _run("dataset", build_dataset_stage, project, input, output, (),
         {"candidate": _agent(candidate), "n_scenarios": scenarios})


@stage_app.command("simulate")
def simulate(project: str = PROJECT, input: Path | None = INPUT, output: Path = OUTPUT,
             baseline: str | None = typer.Option(None, help=f"Baseline NAME@VERSION (default {DEFAULTS.baseline}).")
             ) -> None:
    """Simulate the dataset's scenarios against the candidate and the baseline."""
    from graphs.lifecycle_stages import simulate_stage

    _run("simulation", simulate_stage, project, input, output, ("dataset",), {"baseline": _agent(baseline)})


@stage_app.command("judge")
def judge(project: str = PROJECT, input: Path | None = INPUT, output: Path = OUTPUT) -> None:
    """Judge every trace with the rubric."""
    from graphs.lifecycle_stages import judge_stage

    _run("judging", judge_stage, project, input, output, ("dataset", "traces"), {})


@stage_app.command("analyze")
def analyze(project: str = PROJECT, input: Path | None = INPUT, output: Path = OUTPUT) -> None:
    """The analyst report of the candidate."""
    from graphs.lifecycle_stages import analyze_stage

    _run("analytics", analyze_stage, project, input, output, ("dataset", "judgments"), {})


@stage_app.command("compare")
def compare(project: str = PROJECT, input: Path | None = INPUT, output: Path = OUTPUT) -> None:
    """Candidate vs baseline with paired statistics."""
    from graphs.lifecycle_stages import compare_stage

    _run("comparison", compare_stage, project, input, output, ("dataset", "judgments"), {})


@stage_app.command("deploy")
def deploy(project: str = PROJECT, input: Path | None = INPUT, output: Path = OUTPUT,
           registered_name: str = typer.Option(DEFAULTS.registered_name)) -> None:
    """Register the candidate in the MLflow registry as challenger (the gated rollout runs in the pipeline)."""
    from graphs.lifecycle_deploy import deploy_stage

    _run("deployment", deploy_stage, project, input, output, ("dataset", "judgments", "traces"),
         {"registered_name": registered_name})


@stage_app.command("feedback")
def feedback(project: str = PROJECT, input: Path | None = INPUT, output: Path = OUTPUT) -> None:
    """Production feedback from the telemetry and proposed scenarios for the next dataset."""
    from graphs.lifecycle_deploy import feedback_stage

    _run("feedback", feedback_stage, project, input, output, (), {})
