"""The analyst: findings and expectations derived from the judged conversations, follow-up answers, MLflow."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from typer import Typer
from typer.testing import CliRunner

import agents.analyst.agent as analyst_mod
from agents.analyst.agent import AnalystReport, analyze, answer_followup, log_analyst_report
from agents.dataset_builder.agent import build_dataset, revise_dataset
from agents.judge.agent import judge
from agents.simulator.agent import simulate
from agents.targets import get_target
from cli.lifecycle_agents_cmd import analyst_cmd
from core.contracts import Dataset, JudgeInput, Judgment


@pytest.fixture(scope="module")
def judged() -> tuple[Dataset, list[Judgment]]:
    base = build_dataset(get_target("support", "v1"), n=12, validate=False)
    ds = revise_dataset(base, "add 3 hard scenarios about refunds", validate=False)
    traces = simulate(ds, get_target("support", "v1"), seeds=[0, 1])
    return ds, judge([JudgeInput(scenario=ds.scenario(t.scenario_id), trace=t) for t in traces])


@pytest.fixture(scope="module")
def report(judged: tuple[Dataset, list[Judgment]]) -> AnalystReport:
    return analyze(judged[1], judged[0])


def _by(ds: Dataset, js: list[Judgment], field: str) -> dict[str, list[bool]]:
    out: dict[str, list[bool]] = defaultdict(list)
    for j in js:
        if j.passed is not None:  # an uncertain verdict counts as neither
            out[str(getattr(ds.scenario(j.scenario_id), field))].append(j.passed)
    return out


def _weakest(ds: Dataset, js: list[Judgment]) -> str:
    scores: dict[str, list[int]] = defaultdict(list)
    for j in js:
        scores[ds.scenario(j.scenario_id).category].append(j.score)
    rates = _by(ds, js, "category")
    return min(rates, key=lambda c: (sum(rates[c]) / len(rates[c]), sum(scores[c]) / len(scores[c]), c))


def test_findings_and_expectation_carry_the_numbers(judged: tuple[Dataset, list[Judgment]],
                                                    report: AnalystReport) -> None:
    ds, js = judged
    spoken = [j for j in js if j.passed is not None]
    passes = sum(bool(j.passed) for j in spoken)
    o = report.aggregates["overall"]
    assert (o["passes"], o["n"], report.aggregates["n_scenarios"]) == (passes, len(spoken), len(ds.scenarios))
    assert o["uncertain"] == len(js) - len(spoken) and report.aggregates["n_judgments"] == len(js)
    assert o["ci_low"] < passes / len(spoken) < o["ci_high"] and report.agent_id == "support@v1"
    assert f"({passes}/{len(spoken)})" in report.key_findings[0]
    weakest = _weakest(ds, js)
    assert any(f.startswith(f"Weakest category: {weakest} at ") for f in report.key_findings)
    hard = _by(ds, js, "difficulty")["hard"]
    assert f"hard {100 * sum(hard) / len(hard):.1f}% ({sum(hard)}/{len(hard)})" in " ".join(report.key_findings)
    assert f"{100 * o['ci_low']:.1f}% and {100 * o['ci_high']:.1f}%" in report.production_expectation
    md = report.markdown
    assert md.index("## Summary") < md.index("## Key findings") < md.index("## What to expect in production") < (
        md.index("## Score distribution"))
    assert "<h2>Key findings</h2>" in report.html and "data:image/png;base64," in report.html
    assert json.loads(json.dumps(report.aggregates)) == report.aggregates  # plain JSON (string keys, no NaN)


def test_follow_up_questions_are_answered_from_the_aggregates(judged: tuple[Dataset, list[Judgment]],
                                                              report: AnalystReport) -> None:
    ds, js = judged
    weakest = _weakest(ds, js)
    rate = _by(ds, js, "category")[weakest]
    answer = answer_followup(report, "Which category is weakest?")
    assert answer.startswith(f"The weakest category is {weakest}: pass rate {100 * sum(rate) / len(rate):.1f}% "
                             f"({sum(rate)}/{len(rate)})") and "offline reasoner" not in answer
    hard = _by(ds, js, "difficulty")["hard"]
    assert answer_followup(report, "How many hard scenarios passed?").startswith(
        f"{sum(hard)} of {len(hard)} judged conversations on hard scenarios passed")
    refunds = _by(ds, js, "category")["refunds"]
    assert answer_followup(report, "how many refunds conversations failed?").startswith(
        f"{len(refunds) - sum(refunds)} of {len(refunds)} judged conversations on refunds scenarios failed")
    top = report.aggregates["failure_reasons"]["criteria"][0]
    assert f"{top['reason']} ({top['count']}," in answer_followup(report, "Why do conversations fail?")
    assert "pass^2 = " in answer_followup(report, "Is it consistent across seeds?")
    easy_only = analyze([j for j in js if ds.scenario(j.scenario_id).difficulty == "easy"], ds)
    assert answer_followup(easy_only, "how many hard scenarios passed?").startswith("No hard scenarios were judged")
    with pytest.raises(ValueError, match="empty"):
        answer_followup(report, "  ")


class _ScriptedModel:
    """Stands in for a hosted chat model: records the messages and answers with a fixed text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.seen: list[list[BaseMessage]] = []

    def invoke(self, messages: list[BaseMessage]) -> AIMessage:
        self.seen.append(messages)
        return AIMessage(content=self.text)


def test_follow_up_through_a_hosted_model_gets_the_evidence_and_the_conversation(
        report: AnalystReport, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _ScriptedModel("Escalation is weakest (0/4).")
    monkeypatch.setattr(analyst_mod, "get_chat_model", lambda agent=None: fake)
    answer = answer_followup(report, "And the persona?", history=[("Which category is weakest?", "Escalation.")])
    assert answer == "Escalation is weakest (0/4)."
    msgs = fake.seen[0]
    assert "never invent a number" in msgs[0].text.lower()
    assert [type(m).__name__ for m in msgs[1:]] == ["HumanMessage", "AIMessage", "HumanMessage"]
    request: dict[str, Any] = json.loads(msgs[-1].text)
    assert request["question"] == "And the persona?" and request["aggregates"] == report.aggregates


def test_no_judgments_is_an_error(judged: tuple[Dataset, list[Judgment]]) -> None:
    with pytest.raises(ValueError, match="no judgments"):
        analyze([], judged[0])


@pytest.mark.integration
def test_report_is_logged_with_metrics_and_artifacts(report: AnalystReport, opsgraph_home: Path) -> None:
    import mlflow

    run = mlflow.get_run(log_analyst_report(report, "proj-analyst"))
    o = report.aggregates["overall"]
    assert run.data.tags["stage"] == "analytics" and run.data.tags["agent_id"] == "support@v1"
    assert run.data.tags["dataset_version"] == str(report.dataset_version)
    assert {k: run.data.metrics[k] for k in ("pass_rate", "ci_low", "ci_high", "mean_score")} == pytest.approx(
        {k: o[k] for k in ("pass_rate", "ci_low", "ci_high", "mean_score")})
    base = f"runs:/{run.info.run_id}/reports"
    assert mlflow.artifacts.load_text(f"{base}/analyst_report.md") == report.markdown
    assert mlflow.artifacts.load_dict(f"{base}/aggregates.json") == report.aggregates
    assert "<html" in mlflow.artifacts.load_text(f"{base}/analyst_report.html")


def test_cli_analyst_answers_the_question_and_is_idempotent(judged: tuple[Dataset, list[Judgment]],
                                                          report: AnalystReport, tmp_path: Path) -> None:
    ds, js = judged
    app = Typer()
    app.command()(analyst_cmd)
    payload: dict[str, Any] = {"dataset": ds.model_dump(mode="json"), "question": "Which category is weakest?",
                               "judgments": [j.model_dump(mode="json") for j in js]}
    (tmp_path / "in.json").write_text(json.dumps(payload))
    outs = []
    for name in ("a.json", "b.json"):
        res = CliRunner().invoke(app, ["-i", str(tmp_path / "in.json"), "-o", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        outs.append((tmp_path / name).read_bytes())
    out = json.loads(outs[0])
    assert outs[0] == outs[1] and out["key_findings"] == report.key_findings
    assert out["answer"] == answer_followup(report, "Which category is weakest?")
    payload["judgments"][0]["scenario_id"] = "nope-01"
    res = CliRunner().invoke(app, ["-i", "-"], input=json.dumps(payload))
    assert res.exit_code == 2 and "field 'judgments'" in res.output and "nope-01" in res.output
    payload["judgments"][0].pop("passed")
    payload["judgments"][0].pop("verdict")
    res = CliRunner().invoke(app, ["-i", "-"], input=json.dumps(payload))
    assert res.exit_code == 2 and "field 'judgments.0.verdict': Field required" in res.output
