"""The evaluation lifecycle on the real Postgres checkpointer and MLflow store: gates across processes, reject and
revise, the whole pipeline with both sample agents, the registry's champion and rollback, the audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from graphs.audit import audit_trail
from graphs.runner import decide, lifecycle_graph, start, state_values

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SMALL = {"n_scenarios": 6, "seeds": [0], "max_turns": 6}


def _cli(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env=os.environ.copy())
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _runs(project: str, stage: str) -> int:
    import mlflow

    from core.tracking import ensure_experiment

    return len(mlflow.search_runs([ensure_experiment(project)], filter_string=f"tags.stage = '{stage}'"))


def test_gates_pause_across_processes_and_refuse_invalid_decisions(sample_db) -> None:  # type: ignore[no-untyped-def]
    project, thread = f"p-{uuid.uuid4().hex[:6]}", f"lc-{uuid.uuid4().hex[:8]}"
    with lifecycle_graph() as graph:
        req = start(graph, thread, {"project_id": project, **SMALL})
    assert req is not None and (req["stage_from"], req["stage_to"]) == ("dataset", "simulation")
    # another process approves; simulation runs there and the thread pauses at the next gate
    nxt = _cli("approvals", "approve", thread, "--approver", "ana", "--comment", "ok", "--json")["next"]
    assert (nxt["stage_from"], nxt["stage_to"]) == ("simulation", "judging")
    with lifecycle_graph() as graph:
        refused = decide(graph, thread, {"decision": "reject", "approver": "ana"})  # no reason: refused
        assert refused is not None and "needs a comment" in refused["error"] and refused["stage_from"] == "simulation"
        nxt = decide(graph, thread, {"decision": "approve", "approver": "bo", "comment": ""})
        assert nxt is not None and (nxt["stage_from"], nxt["stage_to"]) == ("judging", "analytics")
        values = state_values(graph, thread)
    assert len(values["judgments"]["candidate"]) == len(values["dataset"]["scenarios"]) == 6
    trail = audit_trail(thread_id=thread)
    assert [(r["stage_from"], r["decision"], r["approver"]) for r in trail] == [
        ("dataset", "approve", "ana"), ("simulation", "approve", "bo")]
    assert _runs(project, "dataset") == 1 and _runs(project, "simulation") == 2  # nothing re-ran


def test_revise_and_reject_send_the_work_back(sample_db) -> None:  # type: ignore[no-untyped-def]
    project, thread = f"p-{uuid.uuid4().hex[:6]}", f"lc-{uuid.uuid4().hex[:8]}"
    with lifecycle_graph() as graph:
        start(graph, thread, {"project_id": project, **SMALL})
        first = state_values(graph, thread)["dataset"]
        again = decide(graph, thread, {"decision": "revise", "approver": "ana",
                                       "comment": "add 2 hard scenarios about refunds"})
        assert again is not None and again["stage_from"] == "dataset"
        revised = state_values(graph, thread)["dataset"]
        assert revised["version"] == first["version"] + 1
        assert len(revised["scenarios"]) == len(first["scenarios"]) + 2
        again = decide(graph, thread, {"decision": "reject", "approver": "ana", "comment": "start over"})
        assert again is not None and again["stage_from"] == "dataset"
        values = state_values(graph, thread)
    assert values["dataset"]["version"] == first["version"] + 2
    assert [h["decision"] for h in values["history"]] == ["revise", "reject"]
    assert values["history"][-1]["comment"] == "start over"
    assert [r["decision"] for r in audit_trail(thread_id=thread)] == ["revise", "reject"]


def test_pipeline_end_to_end_champion_and_rollback(sample_db) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    from services.model_registry import champion

    project = f"p-{uuid.uuid4().hex[:6]}"
    name = f"agent-{project}"
    base = ["pipeline", "run", "--project", project, "--approve", "auto", "--scenarios", "12", "--seeds", "0,1",
            "--registered-name", name, "--json"]
    first = _cli(*base)
    assert first["comparison"] == {"winner": "b", "significant": True}  # v2 beats v1 on its documented fixes
    assert first["deployment"]["status"] == "champion"
    v1 = first["deployment"]["version"]
    second = _cli(*base)
    assert second["deployment"]["previous_champion"] == v1
    reg = second["deployment"]["registered_name"]
    assert reg == name
    assert champion(reg) == second["deployment"]["version"]
    back = _cli("deploy", "rollback", "--name", reg, "--project", project, "--json")
    assert back == {"from": second["deployment"]["version"], "to": v1} and champion(reg) == v1
    runs = mlflow.search_runs(search_all_experiments=False,
                              experiment_names=[f"opsgraph/{project}"], output_format="list")
    stages = {r.data.tags["stage"] for r in runs}
    assert {"dataset", "simulation", "judging", "analytics", "comparison", "deployment", "feedback"} <= stages
    for r in runs:
        assert {"project_id", "agent_id", "dataset_version", "git_sha", "stage"} <= set(r.data.tags)
    dataset_run = next(r for r in runs if r.data.tags["stage"] == "dataset")
    arts = {a.path for a in mlflow.MlflowClient().list_artifacts(dataset_run.info.run_id, "dataset")}
    assert "dataset/dataset.json" in arts
    gates = [r for t in (first["thread_id"], second["thread_id"]) for r in audit_trail(thread_id=t)]
    assert len(gates) == len(first["decisions"]) + len(second["decisions"]) >= 2 * 9
    assert all(g["approver"] == "pipeline-auto" and "auto-approved" in g["comment"] for g in gates)


def test_stage_commands_chain_through_json_state(sample_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = f"p-{uuid.uuid4().hex[:6]}"
    s1, s2, s3 = (tmp_path / f"s{i}.json" for i in (1, 2, 3))

    def stage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli.main", "stage", *args, "--project", project], cwd=ROOT,
                              capture_output=True, text=True, timeout=600, env=os.environ.copy())

    assert stage("dataset", "--scenarios", "6", "-o", str(s1)).returncode == 0
    missing = stage("judge", "-i", str(s1), "-o", str(s3))
    assert missing.returncode == 2 and "needs traces" in missing.stdout + missing.stderr
    assert stage("simulate", "-i", str(s1), "-o", str(s2)).returncode == 0
    assert stage("judge", "-i", str(s2), "-o", str(s3)).returncode == 0
    state = json.loads(s3.read_text())
    assert len(state["judgments"]["candidate"]) == len(state["traces"]["candidate"]) == 2 * 6
    assert {"dataset", "simulation_candidate", "judging_candidate"} <= set(state["runs"])
