"""The dataset builder: proposal from metadata and seeds, revisions, validation (real MiniLM), MLflow, CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.dataset_builder.agent import (
    RevisionNotUnderstood,
    build_dataset,
    load_dataset,
    log_dataset,
    propose,
    revise_dataset,
    validate_dataset,
)
from agents.targets import TargetMetadata, get_target
from cli.agent_cmd import agent_app
from core.contracts import Dataset, FailureCluster, FeedbackTheme


@pytest.fixture(scope="module")
def v1_dataset() -> Dataset:
    return build_dataset(get_target("support", "v1"), n=18)  # validated with the packaged MiniLM


def test_categories_follow_the_target_metadata() -> None:
    support = propose(get_target("support", "v1"), n=9)
    names = [c.name for c in support.categories]
    assert {"refunds", "escalation", "angry_customers", "troubleshooting"} <= set(names)
    assert any("human" in c.rationale or "handoff" in c.rationale for c in support.categories if c.name == "escalation")
    narrow = TargetMetadata(name="refund-bot", version="1", description="Answers refund questions for a web shop.")
    draft = propose(narrow, n=4)
    assert [c.name for c in draft.categories] == ["refunds"] and len(draft.scenarios) == 4
    assert {s.category for s in draft.scenarios} == {"refunds"}
    unknown = propose(TargetMetadata(name="poet", version="1", description="writes haiku"), n=3)
    assert {s.category for s in unknown.scenarios} == {"general_help"} and len(unknown.scenarios) == 3


def test_built_dataset_is_balanced_unique_and_valid(v1_dataset: Dataset) -> None:
    ds = v1_dataset
    assert len(ds.scenarios) == 18 and len({s.id for s in ds.scenarios}) == 18
    assert set(Counter(s.category for s in ds.scenarios).values()) == {2}
    assert {s.difficulty for s in ds.scenarios} == {"easy", "medium", "hard"}
    assert ds.validation is not None and ds.validation.passed and not ds.validation.near_duplicates
    assert ds.validation.failure_type_coverage["ignored_escalation"] >= 1
    assert ds.target_agent.id == "support@v1" and ds.version == 1


def test_seeds_become_scenarios() -> None:
    clusters = [FailureCluster(label="tool errors on exports", failure_type="tool_error",
                               exemplars=["The export keeps failing with error 500", "Export API returns 502"])]
    themes = [FeedbackTheme(theme="agent invents discount codes", examples=["Do you have a discount code?"])]
    ds = build_dataset(get_target("support", "v2"), n=10, failure_clusters=clusters, feedback_report=themes,
                       validate=False)
    seeded = {s.opening_message: s for s in ds.scenarios if s.source != "catalogue"}
    assert seeded["The export keeps failing with error 500"].category == "data_export"
    assert "tool_error" in seeded["Export API returns 502"].failure_types
    assert seeded["The export keeps failing with error 500"].source == "cluster:tool errors on exports"
    assert seeded["Do you have a discount code?"].category.startswith("feedback_")
    assert len(ds.scenarios) == 10


def test_revisions_are_parsed_and_applied(v1_dataset: Dataset) -> None:
    base = v1_dataset.model_copy(update={"validation": None})
    more = revise_dataset(base, "add 3 hard scenarios about refunds", validate=False)
    new = [s for s in more.scenarios if s.id not in {x.id for x in base.scenarios}]
    assert more.version == 2 and len(new) == 3
    assert all(s.category == "refunds" and s.difficulty == "hard" for s in new)
    assert len({s.opening_message for s in more.scenarios}) == len(more.scenarios)
    dropped = revise_dataset(more, "Drop the data_export category, then add two scenarios about onboarding",
                             validate=False)
    cats = Counter(s.category for s in dropped.scenarios)
    assert "data_export" not in cats and cats["onboarding"] == 2 and dropped.version == 3
    angry = revise_dataset(base, "more angry personas", validate=False)
    changed = [s for s in angry.scenarios if s != base.scenario(s.id)]
    assert len(changed) == len(base.scenarios) // 4
    assert all("acknowledges the customer's frustration" in s.expected_behavior.lower() for s in changed)
    assert all("toxicity" in s.failure_types and "angry" in s.persona for s in changed)
    assert len({s.category for s in changed}) == len(changed)  # spread over categories
    with pytest.raises(RevisionNotUnderstood, match="make it nicer"):
        revise_dataset(base, "make it nicer")


def test_validation_finds_duplicates_missing_fields_and_lost_coverage(v1_dataset: Dataset) -> None:
    first = v1_dataset.scenarios[0]
    twin = first.model_copy(update={"id": "refunds-99", "opening_message": first.opening_message + " Thanks!"})
    blank = v1_dataset.scenarios[1].model_copy(update={"id": "billing-99", "goal": " ",
                                                        "opening_message": "Where do I download old invoices?"})
    ds = v1_dataset.model_copy(update={"scenarios": [*v1_dataset.scenarios, twin, blank]})
    report = validate_dataset(ds, threshold=0.8)
    assert [(d.a, d.b) for d in report.near_duplicates] == [(first.id, "refunds-99")]
    assert report.near_duplicates[0].similarity > 0.9
    assert report.missing_fields == ["billing-99.goal"] and not report.passed
    assert report.score < v1_dataset.validation.score  # type: ignore[union-attr]
    revised = revise_dataset(v1_dataset, "remove escalation")
    assert revised.validation is not None
    assert revised.validation.failure_type_coverage["ignored_escalation"] == 0
    assert any("not covered: ignored_escalation" in n for n in revised.validation.notes)


@pytest.mark.integration
def test_dataset_is_versioned_in_mlflow(v1_dataset: Dataset, opsgraph_home: Path) -> None:
    import mlflow

    run_id = log_dataset(v1_dataset, "proj-ds")
    run = mlflow.get_run(run_id)
    assert run.data.tags["stage"] == "dataset" and run.data.tags["dataset_version"] == "1"
    assert run.data.tags["agent_id"] == "support@v1" and run.data.metrics["scenarios"] == 18
    files = {f.path for f in mlflow.artifacts.list_artifacts(run_id=run_id, artifact_path="dataset")}
    assert files == {"dataset/dataset.json", "dataset/quality_report.json"}
    assert load_dataset(run_id) == v1_dataset


def test_cli_builds_the_same_bytes_twice_and_names_invalid_fields(tmp_path: Path) -> None:
    req = {"target": {"name": "support", "version": "v2"}, "n": 9, "feedback": ["add 2 hard scenarios on billing"]}
    (tmp_path / "in.json").write_text(json.dumps(req))
    runner = CliRunner()
    outs = []
    for name in ("a.json", "b.json"):
        result = runner.invoke(agent_app, ["dataset_builder", "--input", str(tmp_path / "in.json"),
                                           "--output", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]
    ds = Dataset.model_validate_json(outs[0])
    assert ds.version == 2 and len(ds.scenarios) == 11 and ds.validation is not None
    bad = runner.invoke(agent_app, ["dataset_builder", "--input", "-"], input=json.dumps({"target": {}, "n": 0}))
    assert bad.exit_code == 2 and "field 'target.name'" in bad.output and "field 'n'" in bad.output
    unknown = runner.invoke(agent_app, ["dataset_builder", "-i", "-"], input='{"target": {"name": "nobody"}}')
    assert unknown.exit_code == 1 and "no target nobody@v1" in unknown.output


# Phrasings written for this test only (the parser's patterns are generic; none of these sentences is in the code).
EDITS = [
    ("get rid of the second scenario", {"action": "remove", "index": 2}),
    ("please delete #3", {"action": "remove", "index": 3}),
    ("scenario 1 should be hard", {"action": "set", "index": 1, "field": "difficulty", "value": "hard"}),
    ("make the 4th one easy", {"action": "set", "index": 4, "field": "difficulty", "value": "easy"}),
    ("switch the last one to a tricky", {"action": "set", "index": 6, "field": "difficulty", "value": "hard"}),
    ("change the persona of scenario 2 to a retired teacher who types slowly",
     {"action": "set", "index": 2, "field": "persona", "value": "a retired teacher who types slowly"}),
    ("set the expected behaviour of #1 to: Asks for the order id first. Then refunds.",
     {"action": "set", "index": 1, "field": "expected_behavior", "value": "Asks for the order id first. Then refunds"}),
    ("rewrite scenario 3 as: I was charged twice this month, help",
     {"action": "set", "index": 3, "field": "opening_message", "value": "I was charged twice this month, help"}),
    ("the fifth one's goal should be get a refund before Friday",
     {"action": "set", "index": 5, "field": "goal", "value": "get a refund before Friday"}),
]


@pytest.mark.parametrize(("instruction", "expected"), EDITS)
def test_scenario_edits_by_number_are_parsed(instruction: str, expected: dict[str, object]) -> None:
    from agents.dataset_builder.offline import parse_instruction

    plan = parse_instruction(instruction, ["refunds", "billing_disputes"], 6)
    assert plan.understood and len(plan.operations) == 1, plan
    op = plan.operations[0].model_dump(exclude_none=True)
    assert {k: op.get(k) for k in expected} == expected


def test_edits_apply_to_the_numbered_scenarios_and_merges_keep_ids(v1_dataset: Dataset) -> None:
    ds = v1_dataset
    cats = sorted({s.category for s in ds.scenarios})
    second, fourth = ds.scenarios[1], ds.scenarios[3]
    out = revise_dataset(ds, f"get rid of the second scenario; make the 4th one hard; merge {cats[0]} into {cats[1]}")
    ids = [s.id for s in out.scenarios]
    assert second.id not in ids and len(ids) == len(ds.scenarios) - 1
    assert next(s for s in out.scenarios if s.id == fourth.id).difficulty == "hard"
    assert cats[0] not in {s.category for s in out.scenarios}
    moved = {s.id for s in ds.scenarios if s.category == cats[0]} - {second.id}
    assert moved and all(s.category == cats[1] for s in out.scenarios if s.id in moved)
    with pytest.raises(RevisionNotUnderstood, match="there is no scenario #99"):
        revise_dataset(ds, "remove scenario 99")
    with pytest.raises(RevisionNotUnderstood):
        revise_dataset(ds, "merge pineapples into the weather")
