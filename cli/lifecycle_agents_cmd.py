"""`opsgraph agent analyst|comparator|feedback` and `opsgraph eval agents` (command functions, registered by
``cli.main`` / ``cli.agent_cmd``).

The agent commands read one JSON document (``--input F``, ``-`` = stdin) and write one (``--output F``, ``-`` =
stdout) as canonical JSON (sorted keys): the same input gives the same bytes. Input that does not match its
contract is rejected with the failing field named. With ``--project`` the result is also logged to MLflow once:
a run of the same stage whose ``content_sha`` tag matches the output is reused instead of logging a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator

from cli.common import console, fail
from core.contracts import Dataset, Judgment
from core.lifecycle_config import DEFAULTS

T = TypeVar("T")
INPUT = typer.Option(..., "--input", "-i", help="JSON input file, or - for stdin.")
OUTPUT = typer.Option("-", "--output", "-o", help="JSON output file, or - for stdout.")
PROJECT = typer.Option(None, "--project", help="Also log the report to this MLflow project (once per content).")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnalystRequest(_Request):
    """Input of ``opsgraph agent analyst``."""

    dataset: Dataset
    judgments: list[Judgment] = Field(min_length=1)
    question: str | None = None


class JudgedRun(_Request):
    """One side of a comparison: a label and its judgments."""

    label: str | None = None
    judgments: list[Judgment] = Field(min_length=1)


class ComparatorRequest(_Request):
    """Input of ``opsgraph agent comparator`` (b is the candidate, a the baseline)."""

    dataset: Dataset
    a: JudgedRun
    b: JudgedRun
    alpha: float = Field(default=0.05, gt=0, lt=1)
    n_boot: int = Field(default=5000, ge=100, le=100000)


class FeedbackRequest(_Request):
    """Input of ``opsgraph agent feedback``: a UTC window [start, end) and optional filters."""

    start: datetime
    end: datetime
    model_name: str | None = None
    use_case: str | None = None
    agent: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$",
                              description="NAME@VERSION: only the traffic attributed to that agent version.")
    telemetry_project: str = Field(default="default", description="The telemetry project the rows belong to.")
    baseline_days: int = Field(default=DEFAULTS.feedback_baseline_days, ge=1, le=365)
    max_themes: int = Field(default=6, ge=1, le=20)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _utc(cls, v: Any) -> datetime:
        from agents.feedback.agent import as_utc

        try:
            return as_utc(v)
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"expected an ISO date or datetime such as 2025-03-18 or 2025-03-18T06:00:00Z, "
                             f"got {v!r}") from None

    @field_validator("end")
    @classmethod
    def _after_start(cls, v: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and v <= start:
            raise ValueError(f"end ({v.isoformat()}) must be after start ({start.isoformat()})")
        return v


def _read(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read input {path}: {exc.strerror or exc}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"input is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}")


def _validate(model: type[T], data: Any, what: str) -> T:
    try:
        return TypeAdapter(model).validate_python(data)
    except ValidationError as exc:
        lines = [f"field '{'.'.join(str(p) for p in e['loc']) or '<root>'}': {e['msg']}" for e in exc.errors()[:10]]
        fail(f"invalid {what} input:\n  " + "\n  ".join(lines), code=2)


def _canonical(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")


def log_once(project: str, stage: str, text: str, log: Callable[[], str]) -> str:
    """Run ``log`` (which opens a run of ``stage``) unless a run of that stage already holds ``text``'s digest;
    tags the run with ``content_sha``; returns the run id."""
    import mlflow

    from core.tracking import ensure_experiment

    sha = hashlib.sha256(text.encode()).hexdigest()[:32]
    found = mlflow.search_runs(experiment_ids=[ensure_experiment(project)], output_format="list", max_results=1,
                               filter_string=f"tags.stage = '{stage}' AND tags.content_sha = '{sha}' "
                                             "AND attributes.status = 'FINISHED'")
    if found:
        return str(found[0].info.run_id)
    run_id = log()
    mlflow.MlflowClient().set_tag(run_id, "content_sha", sha)
    return run_id


def analyst_cmd(input_path: str = INPUT, output: str = OUTPUT, project: str | None = PROJECT) -> None:
    """What to expect from an agent: {"dataset", "judgments", "question"?} -> the analyst report (+ answer)."""
    from agents.analyst.agent import analyze, answer_followup, log_analyst_report

    req = _validate(AnalystRequest, _read(input_path), "analyst")
    known = {s.id for s in req.dataset.scenarios}
    if unknown := sorted({j.scenario_id for j in req.judgments} - known):
        fail(f"invalid analyst input:\n  field 'judgments': scenario ids not in the dataset: {unknown[:5]}", code=2)
    report = analyze(req.judgments, req.dataset)
    data = report.model_dump(mode="json")
    data.update(question=req.question, answer=answer_followup(report, req.question) if req.question else None)
    text = _canonical(data)
    if project:
        run = log_once(project, "analytics", text, lambda: log_analyst_report(report, project))
        console.print(f"analyst report logged: run {run}")
    _write(output, text)


def comparator_cmd(input_path: str = INPUT, output: str = OUTPUT, project: str | None = PROJECT) -> None:
    """Compare two judged runs: {"dataset", "a": {"label", "judgments"}, "b": {...}} -> the comparison report."""
    from agents.comparator.agent import compare_runs, log_comparison

    req = _validate(ComparatorRequest, _read(input_path), "comparator")
    try:
        report = compare_runs(req.a.judgments, req.b.judgments, req.dataset, req.a.label, req.b.label,
                              n_boot=req.n_boot, alpha=req.alpha)
    except ValueError as exc:  # duplicates in one side, or no (scenario, seed) pairs in common
        field = next((f"{s}.judgments" for s in ("a", "b") if f"agent {s} " in str(exc)), "a.judgments/b.judgments")
        fail(f"invalid comparator input:\n  field '{field}': {exc}", code=2)
    text = _canonical(report.model_dump(mode="json"))
    if project:
        run = log_once(project, "comparison", text, lambda: log_comparison(report, project))
        console.print(f"comparison logged: run {run}")
    _write(output, text)


def feedback_cmd(input_path: str = INPUT, output: str = OUTPUT, project: str | None = PROJECT) -> None:
    """Production feedback from the telemetry: {"start", "end", "model_name"?, "use_case"?, "agent"?
    (NAME@VERSION), "telemetry_project"?} -> the report."""
    from agents.feedback.agent import collect_feedback, log_feedback_report
    from core.bootstrap import open_database
    from core.db import DatabaseError

    req = _validate(FeedbackRequest, _read(input_path), "feedback")
    try:
        db = open_database()
    except DatabaseError as exc:
        fail(str(exc))
    try:
        report = collect_feedback(db.conn, req.start, req.end, model_name=req.model_name, use_case=req.use_case,
                                  baseline_days=req.baseline_days, max_themes=req.max_themes,
                                  project=req.telemetry_project,
                                  agent=tuple(req.agent.split("@", 1)) if req.agent else None)  # type: ignore[arg-type]
    finally:
        db.conn.close()
    if not report.n_interactions:
        console.print(f"no interactions in the window: {report.summary}")
    text = _canonical(report.model_dump(mode="json"))
    if project:
        run = log_once(project, "feedback", text, lambda: log_feedback_report(report, project))
        console.print(f"feedback report logged: run {run}")
    _write(output, text)


def eval_agents(
    project: str = typer.Option(..., "--project", help="MLflow project whose runs are evaluated."),
    output: str = OUTPUT,
    probes: bool = typer.Option(True, "--probes/--no-probes", help="Re-run deterministic sub-tasks and the judge's "
                                                                   "labelled set."),
    markdown: bool = typer.Option(False, "--markdown", help="Write the Markdown report instead of JSON."),
) -> None:
    """Agents report (self-evaluation): runs, errors, durations, cost, determinism, rubric adherence."""
    from agents.agents_report import agents_report

    result = agents_report(project, probes=probes)
    console.print(f"agents report logged: run {result['run_id']}")
    _write(output, result["markdown"] if markdown else _canonical(result))
