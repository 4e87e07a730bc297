"""The agents report (self-evaluation) against a real MLflow store: runs grouped per agent, failed runs as errors,
determinism probes, the judge's rubric agreement, the logged report and the CLI command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer import Typer
from typer.testing import CliRunner

from agents.agents_report import agents_report
from agents.analyst.agent import analyze, log_analyst_report
from agents.comparator.agent import compare_runs, log_comparison
from agents.dataset_builder.agent import build_dataset, log_dataset
from agents.judge.agent import judge, log_judgments
from agents.judge.agreement import judge_agreement
from agents.simulator.agent import log_traces, simulate
from agents.targets import get_target
from cli.lifecycle_agents_cmd import eval_agents
from core.contracts import JudgeInput
from core.tracking import stage_run

pytestmark = pytest.mark.integration
PROJECT = "proj-self-eval"


@pytest.fixture(scope="module")
def project(opsgraph_home: Path) -> dict[str, Any]:
    ds = build_dataset(get_target("support", "v1"), n=6, validate=False)
    log_dataset(ds, PROJECT)
    judged, cost = {}, 0.0
    for version in ("v1", "v2"):
        traces = simulate(ds, get_target("support", version), seeds=[0])
        log_traces(traces, PROJECT)
        cost += sum(t.cost_usd for tr in traces for t in tr.turns)
        latencies: list[float] = []
        judged[version] = judge([JudgeInput(scenario=ds.scenario(t.scenario_id), trace=t) for t in traces],
                                latencies=latencies)
        log_judgments(judged[version], PROJECT, latencies=latencies)
    log_analyst_report(analyze(judged["v2"], ds), PROJECT)
    log_comparison(compare_runs(judged["v1"], judged["v2"], ds, n_boot=500), PROJECT)
    with pytest.raises(RuntimeError), stage_run(PROJECT, "comparison", agent_id="support@v2"):
        raise RuntimeError("comparison crashed")  # recorded by MLflow as a FAILED run
    return {"cost": cost, "result": agents_report(PROJECT)}


def test_runs_are_grouped_per_agent_with_errors_durations_and_cost(project: dict[str, Any]) -> None:
    agents = project["result"]["agents"]
    assert {a: agents[a]["runs"] for a in ("dataset_builder", "simulator", "judge", "analyst", "comparator")} == {
        "dataset_builder": 1, "simulator": 2, "judge": 2, "analyst": 1, "comparator": 2}
    assert agents["comparator"]["failed"] == 1 and agents["comparator"]["error_rate"] == 0.5
    assert agents["judge"]["error_rate"] == 0 and agents["judge"]["duration_s_mean"] > 0
    assert agents["simulator"]["cost_usd"] == pytest.approx(project["cost"], rel=1e-4)
    assert agents["simulator"]["cost_source"] == "cost_usd_total"
    # the judge's own cost and latency: offline it costs nothing, and says so; its latency is measured per trace
    assert agents["judge"]["cost_usd"] == 0.0 and agents["judge"]["cost_source"] == "llm_cost_usd"
    assert agents["judge"]["mean_judge_latency_ms_mean"] > 0 and agents["judge"]["mean_judge_tokens"] > 0
    assert "The judge's own cost and latency" in project["result"]["markdown"]
    assert "runs" not in agents["feedback"]  # probed, but no feedback run in this project
    assert project["result"]["runs_considered"] == 8


def test_probes_are_deterministic_and_the_judge_agrees_with_labels(project: dict[str, Any]) -> None:
    agents = project["result"]["agents"]
    for name in ("dataset_builder", "simulator", "judge", "analyst", "comparator", "feedback"):
        probe = agents[name]["probe"]
        assert probe["identical"] is True and len(probe["seconds"]) == 2, name
        assert 0 <= probe["adherence"]["value"] <= 1
    assert 0 < agents["simulator"]["probe"]["seed_variation"] <= 1  # seeds do change the simulated user
    agreement = judge_agreement()
    assert project["result"]["judge_agreement"]["confusion"] == agreement["confusion"]
    assert agents["judge"]["probe"]["adherence"]["value"] == agreement["agreement"] >= 0.85


def test_report_is_logged_and_its_own_runs_are_not_counted(project: dict[str, Any], tmp_path: Path) -> None:
    import mlflow

    result = project["result"]
    run = mlflow.get_run(result["run_id"])
    assert run.data.tags["stage"] == "self_eval" and run.data.metrics["comparator_error_rate"] == 0.5
    assert run.data.metrics["judge_deterministic"] == 1.0
    md = mlflow.artifacts.load_text(f"runs:/{result['run_id']}/reports/agents_report.md")
    assert md == result["markdown"] and "| comparator | 2 | 1 | 50.0% |" in md
    assert "<table>" in mlflow.artifacts.load_text(f"runs:/{result['run_id']}/reports/agents_report.html")
    app = Typer()
    app.command()(eval_agents)
    res = CliRunner().invoke(app, ["--project", PROJECT, "--no-probes", "--markdown", "-o", str(tmp_path / "r.md")])
    assert res.exit_code == 0, res.output
    again = (tmp_path / "r.md").read_text()
    assert "| judge | 2 | 0 | 0.0% |" in again and "not probed" in again  # the first report's run is not counted
