"""The comparator: v2 significantly beats v1 on the built dataset, identical agents do not differ; the decision
stays the rule's whatever writes the recommendation; MLflow and CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from typer import Typer
from typer.testing import CliRunner

import agents.comparator.agent as comparator_mod
from agents.comparator.agent import compare_runs, log_comparison
from agents.dataset_builder.agent import build_dataset
from agents.judge.agent import judge
from agents.simulator.agent import simulate
from agents.targets import get_target
from cli.lifecycle_agents_cmd import comparator_cmd
from core.contracts import Dataset, JudgeInput, Judgment

SEEDS = [0, 1]


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return build_dataset(get_target("support", "v1"), n=12, validate=False)


def _run(ds: Dataset, version: str) -> list[Judgment]:
    traces = simulate(ds, get_target("support", version), seeds=SEEDS)
    return judge([JudgeInput(scenario=ds.scenario(t.scenario_id), trace=t) for t in traces])


@pytest.fixture(scope="module")
def runs(dataset: Dataset) -> dict[str, list[Judgment]]:
    return {"v1": _run(dataset, "v1"), "v2": _run(dataset, "v2"), "v1 again": _run(dataset, "v1")}


def test_v2_is_significantly_better_than_v1(dataset: Dataset, runs: dict[str, list[Judgment]]) -> None:
    r = compare_runs(runs["v1"], runs["v2"], dataset, "support@v1", "support@v2")
    c = r.comparison
    spoken = {v: [bool(j.passed) for j in runs[v] if j.passed is not None] for v in ("v1", "v2")}
    v1_pass, v2_pass = (sum(spoken[v]) / len(spoken[v]) for v in ("v1", "v2"))
    assert (c["pass_rate_a"], c["pass_rate_b"]) == pytest.approx((v1_pass, v2_pass)) and v2_pass > v1_pass
    assert c["n_pairs"] == len(dataset.scenarios) * len(SEEDS) and c["n_scenarios"] == len(dataset.scenarios)
    assert r.significant and r.winner == "b" and r.winner_label == "support@v2"
    assert c["mean_diff"] > 0 and c["ci_low"] > 0 and min(c["wilcoxon"]["p"], c["mcnemar"]["p"]) < 0.05
    assert r.provider == "offline" and r.recommendation == r.numbers_recommendation
    assert "The difference is significant: support@v2 is recommended over support@v1." in r.recommendation
    assert "Verdict: support@v2 is better." in r.markdown and r.recommendation in r.markdown
    assert "data:image/png;base64," in r.html


def test_identical_agents_are_not_significantly_different(dataset: Dataset,
                                                          runs: dict[str, list[Judgment]]) -> None:
    r = compare_runs(runs["v1"], runs["v1 again"], dataset)
    assert (r.label_a, r.label_b) == ("support@v1 [a]", "support@v1 [b]")
    assert not r.significant and r.winner is None and r.winner_label is None
    assert r.comparison["mean_diff"] == 0 and r.comparison["mcnemar"]["a_only"] == r.comparison["mcnemar"]["b_only"]
    assert "not significant" in r.recommendation and "keep support@v1 [a]" in r.recommendation


class _ScriptedModel:
    def __init__(self, text: str) -> None:
        self.text = text
        self.seen: list[list[BaseMessage]] = []

    def invoke(self, messages: list[BaseMessage]) -> AIMessage:
        self.seen.append(messages)
        return AIMessage(content=self.text)


def test_a_hosted_model_writes_the_recommendation_from_the_numbers(
        dataset: Dataset, runs: dict[str, list[Judgment]], monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _ScriptedModel("Promote v2: +1.00 points, CI +0.50 to +1.50.")
    monkeypatch.setattr(comparator_mod, "get_chat_model", lambda agent=None: fake)
    r = compare_runs(runs["v1"], runs["v2"], dataset, "v1", "v2")
    assert r.recommendation == fake.text and r.recommendation in r.markdown
    assert r.significant and r.winner_label == "v2" and r.numbers_recommendation.startswith("Over 12 scenarios")
    system, human = fake.seen[0]
    assert "never contradict" in system.text
    sent = json.loads(human.text)["comparison"]
    assert sent["mean_diff"] == r.comparison["mean_diff"] and sent["label_b"] == "v2" and sent["significant"]


@pytest.mark.integration
def test_comparison_is_logged(dataset: Dataset, runs: dict[str, list[Judgment]], opsgraph_home: Path) -> None:
    import mlflow

    r = compare_runs(runs["v1"], runs["v2"], dataset, "support@v1", "support@v2", n_boot=1000)
    run = mlflow.get_run(log_comparison(r, "proj-compare"))
    assert run.data.tags["stage"] == "comparison" and run.data.tags["agent_id"] == "support@v2"
    assert run.data.tags["winner"] == "support@v2" and run.data.metrics["significant"] == 1.0
    assert run.data.metrics["mean_diff"] == pytest.approx(r.comparison["mean_diff"])
    base = f"runs:/{run.info.run_id}/reports"
    assert mlflow.artifacts.load_dict(f"{base}/comparison.json")["winner_label"] == "support@v2"
    assert mlflow.artifacts.load_text(f"{base}/comparison.md") == r.markdown


def test_cli_comparator_is_idempotent_and_names_bad_fields(
        dataset: Dataset, runs: dict[str, list[Judgment]], tmp_path: Path) -> None:
    app = Typer()
    app.command()(comparator_cmd)
    payload: dict[str, Any] = {"dataset": dataset.model_dump(mode="json"), "n_boot": 1000,
               "a": {"label": "v1", "judgments": [j.model_dump(mode="json") for j in runs["v1"]]},
               "b": {"label": "v2", "judgments": [j.model_dump(mode="json") for j in runs["v2"]]}}
    (tmp_path / "in.json").write_text(json.dumps(payload))
    outs = []
    for name in ("a.json", "b.json"):
        res = CliRunner().invoke(app, ["--input", str(tmp_path / "in.json"), "--output", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1] and json.loads(outs[0])["winner_label"] == "v2"
    payload["b"]["judgments"][0]["score"] = 9
    res = CliRunner().invoke(app, ["--input", "-"], input=json.dumps(payload))
    assert res.exit_code == 2 and "field 'b.judgments.0.score'" in res.output
    payload["b"]["judgments"] = [j.model_dump(mode="json") | {"seed": j.seed + 10} for j in runs["v2"]]
    res = CliRunner().invoke(app, ["--input", "-"], input=json.dumps(payload))
    assert res.exit_code == 2 and "no (scenario_id, seed) pairs in common" in " ".join(res.output.split())
    payload["a"]["judgments"] *= 2
    res = CliRunner().invoke(app, ["--input", "-"], input=json.dumps(payload))
    assert res.exit_code == 2 and "field 'a.judgments': agent a has 24 duplicate" in " ".join(res.output.split())


def test_paraphrased_agents_are_still_told_apart() -> None:
    """The same two agents in other words (support_wording.PARAPHRASED: no "Settings >", no "order id", no
    "human"): the simulated user and the judge read what the replies do, so v2 still wins significantly."""
    from agents.targets.support import SupportAgent
    from agents.targets.support_wording import PARAPHRASED, PARAPHRASED_STEPS

    said = " ".join([*(p for v in PARAPHRASED.values() for p in v), *(p for v in PARAPHRASED_STEPS.values()
                                                                        for p in v)])
    assert not any(w in said for w in ("Settings >", "order id", "human", "refund"))
    ds = build_dataset(get_target("support", "v1"), n=18, validate=False)
    runs = {}
    for version in ("v1", "v2"):
        traces = simulate(ds, SupportAgent(version, wording="paraphrased"), seeds=SEEDS)
        assert not any("Go to Settings > Export." in t.content for tr in traces for t in tr.turns)  # default steps
        runs[version] = judge([JudgeInput(scenario=ds.scenario(t.scenario_id), trace=t) for t in traces])
    r = compare_runs(runs["v1"], runs["v2"], ds, "support@v1", "support@v2", n_boot=1000)
    assert r.significant and r.winner_label == "support@v2" and r.comparison["mean_diff"] > 0.3, r.recommendation


def test_the_simulated_user_understands_replies_by_meaning() -> None:
    from agents.simulator.offline import asked_for_order, satisfied
    from core.contracts import Scenario

    sc = Scenario(id="x", category="escalation", persona="p", goal="talk to a person", opening_message="hi",
                  expected_behavior="Hands off.", difficulty="easy")
    assert satisfied("handoff", "Someone from our customer care crew will pick this chat up and answer you.", sc)
    assert not satisfied("handoff", "No need for anyone else, I will handle it.", sc)
    assert satisfied("refund", "The money for that purchase has gone back to your account.", sc)
    assert not satisfied("refund", "If you like, I could look into returning the money.", sc)
    assert asked_for_order("Could you let me know which purchase you mean? The code is on the invoice.")
    assert not asked_for_order("Your purchase is confirmed.")
