"""The feedback agent on the generated 9k telemetry in the real embedded Postgres: trends against the period
before, themes on the stored embeddings, the loop into the dataset builder, MLflow and the CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer import Typer
from typer.testing import CliRunner

from agents.dataset_builder.agent import build_dataset
from agents.feedback.agent import collect_feedback, log_feedback_report, scenarios_for_dataset
from agents.feedback.models import FeedbackReport
from agents.targets import get_target
from cli.lifecycle_agents_cmd import feedback_cmd

pytestmark = pytest.mark.integration
FLAGGED = ("(user_feedback_label = 'negative' OR user_reported_issue "
           "OR final_resolution_state = 'escalated_to_human')")


def _incident(sample_db: dict[str, Any]) -> dict[str, Any]:
    return next(i for i in sample_db["answer_key"]["incidents"] if i["id"] == "INC-001")  # llama latency week


def _counts(conn: Any, model: str, start: date, end: date) -> dict[str, int]:
    return conn.execute(
        "SELECT count(*) AS n, count(*) FILTER (WHERE is_failure) AS failed, "
        "count(*) FILTER (WHERE user_feedback_label = 'negative') AS negative, "
        "count(*) FILTER (WHERE user_feedback_label <> 'no_feedback') AS rated, "
        f"count(*) FILTER (WHERE {FLAGGED}) AS flagged FROM interactions "
        "WHERE model_name = %s AND timestamp_utc >= %s AND timestamp_utc < %s", (model, start, end)).fetchone()


@pytest.fixture(scope="module")
def incident_report(sample_db: dict[str, Any], database: Any) -> FeedbackReport:
    inc = _incident(sample_db)
    start = date.fromisoformat(inc["window_start"])
    return collect_feedback(database.conn, start, start + timedelta(days=7), model_name=inc["model"])


def test_the_incident_week_is_worse_than_the_two_weeks_before(sample_db: dict[str, Any], database: Any,
                                                              incident_report: FeedbackReport) -> None:
    inc, r = _incident(sample_db), incident_report
    start = date.fromisoformat(inc["window_start"])
    now = _counts(database.conn, inc["model"], start, start + timedelta(days=7))
    before = _counts(database.conn, inc["model"], start - timedelta(days=14), start)
    trends = {t.signal: t for t in r.trends}
    assert (r.n_interactions, r.n_baseline, r.counts["flagged"]) == (now["n"], before["n"], now["flagged"])
    failed, negative = trends["failed"], trends["negative_feedback"]
    assert (failed.count, failed.n, failed.baseline_count, failed.baseline_n) == (
        now["failed"], now["n"], before["failed"], before["n"])
    assert (negative.count, negative.n, negative.baseline_count) == (now["negative"], now["rated"], before["negative"])
    assert failed.direction == "worse" and failed.p_value is not None and failed.p_value < 0.001
    assert negative.direction == "worse" and negative.delta is not None and negative.delta > 0.1
    assert failed.rate is not None
    assert f"failed interactions (is_failure): {100 * failed.rate:.1f}% ({failed.count}/{failed.n})" in r.summary


def test_themes_use_the_stored_embeddings_and_cover_every_flagged_interaction(
        sample_db: dict[str, Any], database: Any, incident_report: FeedbackReport) -> None:
    inc, r = _incident(sample_db), incident_report
    start = date.fromisoformat(inc["window_start"])
    flagged = {row["interaction_id"] for row in database.conn.execute(
        f"SELECT interaction_id FROM interactions WHERE model_name = %s AND timestamp_utc >= %s "
        f"AND timestamp_utc < %s AND {FLAGGED}", (inc["model"], start, start + timedelta(days=7))).fetchall()}
    assert r.embedding_source == "log_embeddings" and len(r.themes) >= 2
    members = [i for t in r.themes for i in t.interaction_ids]
    assert len(members) == len(set(members)) and set(members) == flagged
    assert r.themes[0].dominant_failure_type == inc["failure_type"]  # the largest theme is the incident's failure
    for p in r.proposed_scenarios:
        theme = next(t for t in r.themes if t.theme_id == p.theme_id)
        assert set(p.interaction_ids) <= set(theme.interaction_ids)
        text = database.conn.execute("SELECT request_text FROM interactions WHERE interaction_id = %s",
                                     (p.interaction_ids[0],)).fetchone()["request_text"]
        assert p.scenario.opening_message == text  # the user's real words


def test_feedback_scenarios_feed_the_next_dataset(sample_db: dict[str, Any], database: Any) -> None:
    report = collect_feedback(database.conn, "2025-04-01", "2025-04-15", use_case="customer_support")
    assert report.themes and all(t.use_cases == {"customer_support": t.size} for t in report.themes)
    seeds = scenarios_for_dataset(report)
    dataset = build_dataset(get_target("support", "v2"), n=12, feedback_report=seeds)  # validated (MiniLM)
    from_feedback = [s for s in dataset.scenarios if s.source == "feedback"]
    cited = {p.scenario.opening_message: p.interaction_ids for p in report.proposed_scenarios}
    assert len(from_feedback) == 6 and {s.opening_message for s in from_feedback} <= set(cited)
    assert dataset.validation is not None and dataset.validation.size == 12
    seed_of = {ex: th for th in seeds for ex in th.examples}
    for s in from_feedback:  # the builder kept the feedback agent's category and theme for each real request
        assert s.category == seed_of[s.opening_message].category
        assert s.persona == f"A customer who left negative feedback about {seed_of[s.opening_message].theme}"


def test_report_is_logged_and_the_cli_is_idempotent(incident_report: FeedbackReport, opsgraph_home: Path,
                                                    tmp_path: Path) -> None:
    import mlflow

    run = mlflow.get_run(log_feedback_report(incident_report, "proj-feedback"))
    assert run.data.tags["stage"] == "feedback" and run.data.tags["agent_id"] == incident_report.model_name
    assert run.data.metrics["failed_rate_delta"] > 0 and run.data.metrics["themes"] == len(incident_report.themes)
    md = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/reports/feedback_report.md")
    assert md == incident_report.markdown and "## Themes of negative feedback" in md

    app = Typer()
    app.command()(feedback_cmd)
    request = {"start": incident_report.start.date().isoformat(), "end": incident_report.end.date().isoformat(),
               "model_name": incident_report.model_name}
    (tmp_path / "in.json").write_text(json.dumps(request))
    outs = []
    for name in ("a.json", "b.json"):
        res = CliRunner().invoke(app, ["-i", str(tmp_path / "in.json"), "-o", str(tmp_path / name),
                                       "--project", "proj-feedback-cli"])
        assert res.exit_code == 0, res.output
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["trends"] == [t.model_dump(mode="json") for t in incident_report.trends]
    from core.tracking import ensure_experiment

    logged = mlflow.search_runs([ensure_experiment("proj-feedback-cli")], output_format="list")
    assert len(logged) == 1  # the second, identical invocation reused the first run
    for bad, field in (({"start": "2025-03-25", "end": "2025-03-18"}, "field 'end'"),
                       ({"start": "2025-03-18", "end": "2025-03-25", "modelname": "x"}, "field 'modelname'"),
                       ({"start": "yesterday", "end": "2025-03-25"}, "field 'start'")):
        res = CliRunner().invoke(app, ["-i", "-"], input=json.dumps(bad))
        assert res.exit_code == 2 and field in res.output, res.output
