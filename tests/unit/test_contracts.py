"""Data contracts: validation, JSON round trips and the exported JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from cli.agent_cmd import contracts_app
from core.contracts import (
    AgentRef,
    CriterionScore,
    Dataset,
    DatasetBuilderRequest,
    JudgeInput,
    Judgment,
    Scenario,
    SimulationTrace,
    Turn,
    strip_provider_note,
)
from core.schemas import EXPORTED, export_json_schemas


def _scenario(**kw: object) -> Scenario:
    data: dict[str, object] = {"id": "refunds-01", "category": "refunds", "persona": "Priya", "goal": "refund",
                               "opening_message": "I want a refund", "expected_behavior": "Cites the policy.",
                               "difficulty": "easy"}
    return Scenario.model_validate(data | kw)


def _judgment(**kw: object) -> Judgment:
    data: dict[str, object] = {"scenario_id": "s", "agent": {"name": "support", "version": "v1"}, "seed": 0,
                               "score": 4, "passed": True, "rationale": "policy cited in turn 2",
                               "rubric": {"tone": {"score": 5, "notes": "polite in turn 2"}}}
    return Judgment.model_validate(data | kw)


def test_scenario_rejects_unknown_difficulty_and_extra_fields() -> None:
    with pytest.raises(ValidationError, match="difficulty"):
        _scenario(difficulty="impossible")
    with pytest.raises(ValidationError, match="colour"):
        _scenario(colour="red")
    assert _scenario().expected_tools is None and _scenario(expected_tools=["order_lookup"]).expected_tools


def test_judgment_needs_a_turn_citation_and_a_1_to_5_score() -> None:
    assert _judgment().rubric["tone"] == CriterionScore(score=5, notes="polite in turn 2")
    with pytest.raises(ValidationError, match="cite turn numbers"):
        _judgment(rationale="looks fine to me")
    with pytest.raises(ValidationError, match="score"):
        _judgment(score=6)
    assert _judgment(rationale="Turns 2 and 4 ignore the request").passed


def test_trace_round_trips_and_exposes_its_resume_key() -> None:
    agent = AgentRef.model_validate({"name": "support", "version": 2})
    trace = SimulationTrace(scenario_id="s1", agent=agent, seed=3, outcome="goal_met",
                            turns=[Turn(role="user", content="hi"),
                                   Turn(role="assistant", content="hello", latency_ms=12.5, tokens=7, cost_usd=1e-5)])
    again = SimulationTrace.model_validate_json(trace.model_dump_json())
    assert again == trace and again.key == ("s1", 3) and again.agent.id == "support@2"
    with pytest.raises(ValidationError, match="outcome"):
        SimulationTrace.model_validate(trace.model_dump() | {"outcome": "finished"})
    with pytest.raises(ValidationError, match="latency_ms"):
        Turn(role="assistant", content="x", latency_ms=-1)


def test_provider_note_is_not_part_of_the_reply() -> None:
    content = "Your order id, please?\n\n(offline reasoner: composed from the evidence above, no hosted model was used)"
    assert strip_provider_note(content) == "Your order id, please?"
    assert Turn(role="assistant", content=content).text == "Your order id, please?"
    assert strip_provider_note("(see the refund policy) thanks") == "(see the refund policy) thanks"


def test_dataset_lookup_and_nested_validation_errors_name_the_field() -> None:
    ds = Dataset(name="d", version=1, target_agent=AgentRef(name="support", version="v1"), scenarios=[_scenario()])
    assert ds.scenario("refunds-01").category == "refunds"
    with pytest.raises(KeyError):
        ds.scenario("nope")
    bad = ds.model_dump() | {"scenarios": [_scenario().model_dump() | {"difficulty": "x"}]}
    with pytest.raises(ValidationError) as err:
        Dataset.model_validate(bad)
    assert err.value.errors()[0]["loc"] == ("scenarios", 0, "difficulty")
    item = JudgeInput.model_validate({"scenario": _scenario().model_dump(), "trace": {
        "scenario_id": "refunds-01", "agent": {"name": "a", "version": "1"}, "seed": 0, "outcome": "error"}})
    assert item.trace.turns == []


def test_builder_request_accepts_exemplar_prompts_alias() -> None:
    req = DatasetBuilderRequest.model_validate({"target": {"name": "support", "version": 1}, "seeds": {
        "failure_clusters": [{"label": "refund lies", "failure_type": "hallucination", "exemplar_prompts": ["x"]}]}})
    assert req.target.version == "1" and req.n == 12
    assert req.seeds.failure_clusters[0].exemplars == ["x"]


def test_export_writes_one_valid_schema_per_contract(tmp_path: Path) -> None:
    paths = export_json_schemas(tmp_path / "contracts")
    assert sorted(p.name for p in paths) == sorted(f"{m.__name__}.schema.json" for m in EXPORTED)
    assert {"AnalystReport", "ComparisonReport", "FeedbackReport", "Diagnosis"} <= {m.__name__ for m in EXPORTED}
    judgment = json.loads((tmp_path / "contracts" / "Judgment.schema.json").read_text())
    assert set(judgment["required"]) >= {"scenario_id", "agent", "seed", "score", "verdict", "rationale", "rubric"}
    assert judgment["properties"]["score"]["maximum"] == 5
    scenario = json.loads((tmp_path / "contracts" / "Scenario.schema.json").read_text())
    assert scenario["properties"]["difficulty"]["enum"] == ["easy", "medium", "hard"]


def test_contracts_export_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(contracts_app, ["export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "SimulationTrace.schema.json").is_file()
