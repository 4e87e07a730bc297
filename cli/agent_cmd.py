"""`opsgraph agent ...`, `opsgraph contracts export` and `opsgraph eval judge`.

The agent commands read one JSON document (``--input F``, ``-`` = stdin) and write one (``--output F``, ``-`` =
stdout). Output is canonical JSON (sorted keys), so the same input gives the same bytes. Input that does not match
its contract is rejected with the failing field named.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError

from cli.common import console, emit_json, fail
from core.contracts import (
    DatasetBuilderRequest,
    JudgeInput,
    SimulationTrace,
    SimulatorRequest,
)
from core.schemas import export_json_schemas

agent_app = typer.Typer(help="Evaluation agents (JSON in, JSON out): dataset builder, simulator, judge, analyst, "
                             "comparator, feedback.",
                        no_args_is_help=True)
contracts_app = typer.Typer(help="Data contracts (pydantic models) as JSON Schema.", no_args_is_help=True)
T = TypeVar("T")


@contracts_app.callback()
def _contracts() -> None:
    """Data contracts (a group even with one command, so `contracts export` keeps its name)."""

INPUT = typer.Option(..., "--input", "-i", help="JSON input file, or - for stdin.")
OUTPUT = typer.Option("-", "--output", "-o", help="JSON output file, or - for stdout.")


def _read(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read input {path}: {exc.strerror or exc}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"input is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}")


def _validate(adapter: TypeAdapter[T], data: Any, what: str) -> T:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        lines = [f"field '{'.'.join(str(p) for p in e['loc']) or '<root>'}': {e['msg']}" for e in exc.errors()[:10]]
        fail(f"invalid {what} input:\n  " + "\n  ".join(lines), code=2)


def _write(path: str, data: Any) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list):
        data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if path == "-":
        sys.stdout.write(text)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")


@agent_app.command("dataset_builder")
def dataset_builder(
    input_path: str = INPUT,
    output: str = OUTPUT,
    project: str | None = typer.Option(None, "--project", help="Also version the dataset in this MLflow project."),
) -> None:
    """Build a validated dataset for a target: {"target": {"name", "version"}, "n", "feedback", "seeds"}."""
    from agents.dataset_builder.agent import RevisionNotUnderstood, build_dataset, log_dataset
    from agents.targets import target_from_spec

    req = _validate(TypeAdapter(DatasetBuilderRequest), _read(input_path), "dataset_builder")
    try:
        target = target_from_spec(req.target)
        ds = build_dataset(target, n=req.n, failure_clusters=req.seeds.failure_clusters,
                           feedback_report=req.seeds.feedback_report, feedback=req.feedback,
                           threshold=req.threshold, name=req.name)
    except (KeyError, ValueError, RevisionNotUnderstood) as exc:
        fail(str(exc).strip("'\""))
    if project:
        console.print(f"dataset {ds.name} v{ds.version} logged: run {log_dataset(ds, project)}")
    _write(output, ds)


@agent_app.command("simulator")
def simulator(
    input_path: str = INPUT,
    output: str = OUTPUT,
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="JSONL of finished traces: resume from it."),
) -> None:
    """Simulate conversations: {"dataset", "target", "seeds": [0, 1], "max_turns": 6} -> list of traces."""
    from agents.simulator.agent import JsonlCheckpoint, simulate
    from agents.targets import target_from_spec

    req = _validate(TypeAdapter(SimulatorRequest), _read(input_path), "simulator")
    try:
        target = target_from_spec(req.target)
    except (KeyError, ValueError) as exc:
        fail(str(exc).strip("'\""))
    ck = JsonlCheckpoint(checkpoint) if checkpoint else None
    previous = ck.traces() if ck else []
    new = simulate(req.dataset, target, seeds=req.seeds, max_turns=req.max_turns, workers=req.workers,
                   done_ids={t.key for t in previous}, on_trace=ck)
    order = {s.id: i for i, s in enumerate(req.dataset.scenarios)}
    wanted = set(req.seeds)
    traces: list[SimulationTrace] = sorted(
        [t for t in previous if t.scenario_id in order and t.seed in wanted] + new,
        key=lambda t: (order[t.scenario_id], t.seed))
    _write(output, traces)


@agent_app.command("judge")
def judge_cmd(input_path: str = INPUT, output: str = OUTPUT,
              project: str | None = typer.Option(None, "--project", help="Judge with this project's alignment, log "
                                                 "the judgments to its MLflow experiment and queue the uncertain "
                                                 "ones for review.")) -> None:
    """Judge traces: a JSON list of {"scenario", "trace"} -> a JSON list of judgments (verdict pass, fail or
    uncertain, with a confidence)."""
    from agents.judge.agent import judge, log_judgments

    items = _validate(TypeAdapter(list[JudgeInput]), _read(input_path), "judge")
    latencies: list[float] = []
    judgments = judge(items, project=project, latencies=latencies)
    if project:
        run = log_judgments(judgments, project, items=items, latencies=latencies)
        unsure = sum(j.verdict == "uncertain" for j in judgments)
        console.print(f"judgments logged: run {run}; {unsure} uncertain queued for `opsgraph judge review "
                      f"--project {project}`")
    _write(output, judgments)


agent_app.command("dataset-builder", hidden=True)(dataset_builder)


def eval_judge(
    file: Path = typer.Option(None, "--file", "-f", help="Another labelled JSONL to measure as well."),
    min_agreement: float = typer.Option(0.85, "--min-agreement", help="Exit 1 when the held-out agreement on "
                                        "spoken verdicts is below this."),
    min_coverage: float = typer.Option(0.6, "--min-coverage", help="Exit 1 when the judge abstains on more of the "
                                       "held-out set than this allows."),
    regenerate: bool = typer.Option(False, "--regenerate", help="Rewrite the development set from its generator."),
) -> None:
    """Measure the judge on its development set (generated with the rubric's own cases) and on the held-out set
    (written by hand, separately, in another style, with tool calls): agreement on spoken verdicts with a Wilson
    CI, coverage, Cohen's kappa with a CI and balanced accuracy."""
    from agents.judge.agreement import DEFAULT_PATH, HELDOUT_PATH, judge_agreement, make_labelled_traces

    if regenerate:
        make_labelled_traces(DEFAULT_PATH)
    sets = {"development": DEFAULT_PATH, "held_out": HELDOUT_PATH, **({"custom": file} if file else {})}
    for name, path in sets.items():
        if not Path(path).is_file():
            fail(f"no labelled file for the {name} set at {path}")
    result = {name: judge_agreement(path) for name, path in sets.items()}
    emit_json(result)
    held = result["held_out"]
    if held["agreement"] < min_agreement or held["coverage"] < min_coverage:
        fail(f"held-out agreement {held['agreement']:.3f} (min {min_agreement:.2f}), coverage "
             f"{held['coverage']:.2f} (min {min_coverage:.2f})")


@contracts_app.command("export")
def contracts_export(
    out: Path = typer.Option(Path("docs/contracts"), "--out", help="Directory for the JSON Schema files."),
) -> None:
    """Write one JSON Schema per data contract."""
    for path in export_json_schemas(out):
        console.print(str(path))
