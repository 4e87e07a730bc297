"""MLflow conventions against a real local store in the session's data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.tracking import STANDARD_TAGS, stage_run, tracking_uri

pytestmark = pytest.mark.integration


def test_stage_run_carries_standard_tags_and_lives_in_data_dir(opsgraph_home: Path) -> None:
    import mlflow

    with stage_run("proj-a", "dataset", agent_id="support-v1", dataset_version="3") as run:
        mlflow.log_metric("scenarios", 12)
    assert tracking_uri().startswith("sqlite:///") and str(opsgraph_home) in tracking_uri()
    got = mlflow.get_run(run.info.run_id)
    assert {k: got.data.tags[k] for k in STANDARD_TAGS} | {} == {
        "project_id": "proj-a", "agent_id": "support-v1", "dataset_version": "3",
        "git_sha": got.data.tags["git_sha"], "stage": "dataset"}
    assert got.data.metrics["scenarios"] == 12
    exp = mlflow.get_experiment(got.info.experiment_id)
    assert exp.name == "opsgraph/proj-a" and str(opsgraph_home) in exp.artifact_location
    with stage_run("proj-a", "simulation") as second:
        pass
    assert second.info.experiment_id == run.info.experiment_id  # one experiment per project
