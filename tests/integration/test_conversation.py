"""The lifecycle agents in one supervisor thread: dataset edits over turns, each stage stopping at its gate, and
the figures of each answer checked against what the stage logged to MLflow (read back, not the agent's reply)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.types import Command

from graphs.persistence import postgres_checkpointer
from graphs.supervisor import build_supervisor

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def graph(sample_db):  # type: ignore[no-untyped-def]
    with postgres_checkpointer() as saver:
        yield build_supervisor().compile(checkpointer=saver)


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}, "recursion_limit": 50}


def _say(graph: Any, thread: str, text: str) -> dict[str, Any]:
    return graph.invoke({"messages": [HumanMessage(text)]}, _config(thread))  # type: ignore[no-any-return]


def _gate(graph: Any, thread: str) -> dict[str, Any] | None:
    tasks = graph.get_state(_config(thread)).tasks
    return next((i.value for t in tasks for i in t.interrupts), None)


def _approve(graph: Any, thread: str, more: int = 0) -> dict[str, Any]:
    """Approve the pending gate and the ``more`` gates that follow it in the same turn (the rollout steps)."""
    for _ in range(more + 1):
        out = graph.invoke(Command(resume={"decision": "approve", "approver": "alice"}), _config(thread))
    assert _gate(graph, thread) is None
    return out  # type: ignore[no-any-return]


def test_one_thread_from_dataset_to_deployment(graph) -> None:  # type: ignore[no-untyped-def]
    from agents.dataset_builder.agent import load_dataset
    from agents.simulator.agent import load_traces

    thread = f"conv-{uuid.uuid4().hex[:6]}"
    project = f"conv-{uuid.uuid4().hex[:6]}"
    out = _say(graph, thread, f"Build an evaluation dataset of 4 scenarios for support v2 in project {project}")
    assert project not in {r["project_id"] for r in _projects()}, "nothing is written before a gate"
    assert out["route"]["agent"] == "dataset_builder" and _gate(graph, thread) is None
    values = graph.get_state(_config(thread)).values
    assert values["project_id"] == project and len(values["dataset_draft"]["scenarios"]) == 4

    out = _say(graph, thread, "please add 2 hard scenarios about refunds")
    assert out["route"]["agent"] == "dataset_builder"
    draft = graph.get_state(_config(thread)).values["dataset_draft"]
    assert len(draft["scenarios"]) == 6 and sum(s["difficulty"] == "hard" for s in draft["scenarios"]) >= 2

    out = _say(graph, thread, "mmh, frobnicate the quux")
    assert "could not read a change" in out["answer"]["text"]
    assert len(graph.get_state(_config(thread)).values["dataset_draft"]["scenarios"]) == 6

    out = _say(graph, thread, "looks good")
    gate = _gate(graph, thread)
    assert gate is not None and (gate["stage_from"], gate["stage_to"]) == ("dataset", "simulation")
    values = graph.get_state(_config(thread)).values
    logged = load_dataset(values["runs"]["dataset"])
    assert [s.id for s in logged.scenarios] == [s["id"] for s in draft["scenarios"]]
    out = _approve(graph, thread)
    assert "simulator" in out["answer"]["text"]
    import json

    import mlflow

    tag = mlflow.MlflowClient().get_run(values["runs"]["dataset"]).data.tags["gate_decision.0"]
    assert json.loads(tag)["approver"] == "alice" and json.loads(tag)["gate"] == "dataset->simulation"

    out = _say(graph, thread, "simulate support v2 against support v1")
    assert out["route"]["agent"] == "simulator"
    values = graph.get_state(_config(thread)).values
    for role in ("candidate", "baseline"):
        traces = load_traces(values["runs"][f"simulation_{role}"])
        assert len(traces) == 6 * 2 and {t.agent.version for t in traces} == {"v2" if role == "candidate" else "v1"}
        goal = sum(t.outcome == "goal_met" for t in traces) / len(traces)
        assert f"{role}: {len(traces)} conversations, goal met in {goal:.0%}" in out["answer"]["text"]
    _approve(graph, thread)

    for command, agent, stage in (("/judge judge the last simulation", "judge", "judging"),
                                  ("/analyze write the report", "analyst", "analytics"),
                                  ("/compare compare v1 and v2", "comparator", "comparison")):
        out = _say(graph, thread, command)
        assert out["route"]["agent"] == agent
        gate = _gate(graph, thread)
        assert gate is not None and gate["stage_from"] == stage, (command, out["answer"])
        if stage == "judging":  # the judge's figures, recomputed from the judgments it logged to MLflow
            runs = graph.get_state(_config(thread)).values["runs"]
            logged = {role: _logged_judgments(runs[f"judging_{role}"]) for role in ("candidate", "baseline")}
            for role, js in logged.items():
                spoken = [j["passed"] for j in js if j["verdict"] != "uncertain"]
                rate, mean = sum(spoken) / len(spoken), sum(j["score"] for j in js) / len(js)
                assert f"{role}: pass rate {rate:.0%}, mean score {mean:.2f} over {len(js)}" in out["answer"]["text"]
                unsure = len(js) - len(spoken)
                assert (f"({unsure} uncertain, left out of the pass rate" in out["answer"]["text"]) == bool(unsure)
        if stage == "comparison":  # the paired difference, recomputed from the same MLflow records
            pairs = {(j["scenario_id"], j["seed"]): j["score"] for j in logged["baseline"]}
            diffs = [j["score"] - pairs[(j["scenario_id"], j["seed"])] for j in logged["candidate"]]
            assert f"scored {sum(diffs) / len(diffs):+.2f} points" in out["answer"]["text"]
        if stage != "comparison":
            out = _approve(graph, thread)
    graph.invoke(Command(resume={"decision": "approve", "approver": "alice"}), _config(thread))
    gate = _gate(graph, thread)
    assert gate is not None and (gate["stage_from"], gate["stage_to"]) == ("rollout 10%", "rollout 50%")
    out = _approve(graph, thread, more=3)  # 50 %, 100 %, then the deployment -> feedback gate
    values = graph.get_state(_config(thread)).values
    assert values["deployment"]["status"] == "champion" and "is champion" in out["answer"]["text"]
    from services.model_registry import champion

    assert champion(values["deployment"]["registered_name"]) == values["deployment"]["version"]
    assert [h["gate"] for h in values["history"]] == ["dataset->simulation", "simulation->judging",
                                                      "judging->analytics", "analytics->comparison",
                                                      "comparison->deployment", "rollout 10%->rollout 50%",
                                                      "rollout 50%->rollout 100%", "rollout 100%->champion",
                                                      "deployment->feedback"]

    out = _say(graph, thread, "/analyze which category is weakest?")
    category = {s["id"]: s["category"] for s in values["dataset"]["scenarios"]}  # recomputed from the judgments
    by_cat: dict[str, list[dict[str, Any]]] = {}
    for j in values["judgments"]["candidate"]:
        by_cat.setdefault(category[j["scenario_id"]], []).append(j)
    weakest = min(by_cat, key=lambda c: (sum(j["passed"] for j in by_cat[c]) / len(by_cat[c]),
                                         sum(j["score"] for j in by_cat[c]) / len(by_cat[c]), c))
    assert f"weakest category is {weakest}" in out["answer"]["text"] and _gate(graph, thread) is None

    out = _say(graph, thread, "/feedback what do production users complain about?")
    gate = _gate(graph, thread)
    assert out["route"]["agent"] == "feedback" and gate is not None and gate["stage_to"] == "dataset"
    assert "No telemetry of project default in the window is attributed to support@v2 yet" in out["answer"]["text"]
    assert "these figures are fleet-wide" in out["answer"]["text"]
    fb = graph.get_state(_config(thread)).values["feedback"]  # its counts, recomputed from the raw table
    from core.db import connect

    with connect() as conn:
        raw = conn.execute(
            "SELECT count(*) AS n, count(*) FILTER (WHERE user_feedback_label = 'negative') AS negative_feedback, "
            "count(*) FILTER (WHERE final_resolution_state = 'escalated_to_human') AS escalated, "
            "count(*) FILTER (WHERE is_failure) AS failed FROM interactions WHERE use_case = 'customer_support' "
            "AND timestamp_utc >= %s AND timestamp_utc < %s", (fb["start"], fb["end"])).fetchone()
    assert fb["n_interactions"] == raw["n"] > 0
    assert {k: fb["counts"][k] for k in ("negative_feedback", "escalated", "failed")} == {
        k: raw[k] for k in ("negative_feedback", "escalated", "failed")}

    out = _approve(graph, thread)  # back to the dataset builder: the next dataset starts from the feedback report
    assert "Next: the dataset_builder agent" in out["answer"]["text"]
    out = _say(graph, thread, "Build a new dataset of 6 scenarios from the latest feedback report")
    assert out["route"]["agent"] == "dataset_builder" and "feedback theme(s)" in out["answer"]["text"]
    draft = graph.get_state(_config(thread)).values["dataset_draft"]
    examples = {e for t in fb["themes_for_dataset"] for e in t["examples"]}
    from_feedback = [s for s in draft["scenarios"] if s["source"] == "feedback"]
    assert from_feedback and all(s["opening_message"] in examples for s in from_feedback)


def _logged_judgments(run_id: str) -> list[dict[str, Any]]:
    import json

    import mlflow

    text = mlflow.artifacts.load_text(f"runs:/{run_id}/judging/judgments.jsonl")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _projects() -> list[dict[str, Any]]:
    from core.db import connect

    with connect() as conn:
        return list(conn.execute("SELECT project_id FROM projects").fetchall())


def test_the_default_project_is_created_at_its_first_gate(graph) -> None:  # type: ignore[no-untyped-def]
    thread = f"conv-{uuid.uuid4().hex[:6]}"
    _say(graph, thread, "Build an evaluation dataset of 3 scenarios for support v1")
    _say(graph, thread, "looks good")
    gate = _gate(graph, thread)
    assert gate is not None and gate["project_id"] == "default"
    assert "default" in {r["project_id"] for r in _projects()}
    # a new message would abandon the gate: it is refused (CLI and code alike) and the gate stays
    from typer.testing import CliRunner

    from cli.main import app
    from graphs.runner import GatePending, say

    with pytest.raises(GatePending, match="dataset -> simulation gate"):
        say(graph, thread, "What is the p95 latency per model?")
    result = CliRunner().invoke(app, ["ask", "--thread", thread, "What is the p95 latency per model?"])
    assert result.exit_code == 2 and "waits for a decision" in result.output
    assert _gate(graph, thread) == gate


def test_stages_without_their_input_say_what_is_missing(graph) -> None:  # type: ignore[no-untyped-def]
    thread = f"conv-{uuid.uuid4().hex[:6]}"
    out = _say(graph, thread, "/judge judge the last simulation")
    assert "no simulation in project `default`" in out["answer"]["text"] and _gate(graph, thread) is None


def test_a_dataset_seeded_from_the_top_failure_cluster(graph) -> None:  # type: ignore[no-untyped-def]
    """The seed is the highest-ranked cluster that has failures in the run (recomputed from the raw tables), and the
    seeded scenarios open with that cluster's failing prompts."""
    from core.db import connect

    thread = f"conv-{uuid.uuid4().hex[:6]}"
    _say(graph, thread, "What are the top failure clusters?")
    out = _say(graph, thread, "Build a dataset of 6 scenarios from the top failure cluster")
    assert out["route"]["agent"] == "dataset_builder", out["route"]
    run_id = re.search(r"cluster (\d+) of run (\S+) ", out["answer"]["text"])
    assert run_id, out["answer"]["text"]
    cluster_id, run = int(run_id[1]), run_id[2]
    with connect() as conn:
        meta = conn.execute("SELECT metadata FROM analytics_runs WHERE run_id = %s", (run,)).fetchone()["metadata"]
        failing = {r["cluster_id"] for r in conn.execute(
            "SELECT c.cluster_id FROM interaction_clusters c JOIN interactions i USING (interaction_id) "
            "WHERE c.run_id = %s AND i.is_failure GROUP BY c.cluster_id", (run,)).fetchall()}
        top = next(c for c in meta["clusters"] if c["cluster_id"] in failing)
        prompts = {r["request_text"] for r in conn.execute(
            "SELECT i.request_text FROM interaction_clusters c JOIN interactions i USING (interaction_id) "
            "WHERE c.run_id = %s AND c.cluster_id = %s AND i.is_failure", (run, cluster_id)).fetchall()}
    assert cluster_id == top["cluster_id"]
    draft = graph.get_state(_config(thread)).values["dataset_draft"]
    seeded = [s for s in draft["scenarios"] if s["source"].startswith("cluster:")]
    assert seeded and all(s["opening_message"] in prompts for s in seeded)

    out = _say(graph, thread, "Build a dataset from cluster 9999")
    assert "cannot seed the dataset" in out["answer"]["text"] and "cluster 9999 is not in run" in out["answer"]["text"]


def test_with_users_configured_only_an_approver_can_decide(graph, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Whichever door a decision comes through, the gate refuses a viewer (the thread stays paused) and audits the
    approver's role."""
    from graphs.audit import audit_trail

    monkeypatch.setenv("OPSGRAPH_CHAT_USERS", "alice:pw:approver,bob:pw:viewer")
    thread = f"conv-{uuid.uuid4().hex[:6]}"
    _say(graph, thread, "Build an evaluation dataset of 3 scenarios for support v1")
    _say(graph, thread, "looks good")
    graph.invoke(Command(resume={"decision": "approve", "approver": "bob"}), _config(thread))
    gate = _gate(graph, thread)
    assert gate is not None and "'bob' is not a configured approver" in gate["error"]
    graph.invoke(Command(resume={"decision": "approve", "approver": "mallory"}), _config(thread))
    assert _gate(graph, thread) is not None and not audit_trail(thread_id=thread)
    _approve(graph, thread)
    assert [(r["approver"], r["approver_role"]) for r in audit_trail(thread_id=thread)] == [("alice", "approver")]


def test_lifecycle_agents_work_through_their_tool_loop_on_a_target_spec(graph) -> None:  # type: ignore[no-untyped-def]
    """Each lifecycle turn is the agent's own model <-> ToolNode subgraph (its steps are streamed and
    checkpointed), and a target given as a TargetSpec (here a Python callable outside the registry) is proposed
    for and simulated like a registered one."""
    thread = f"conv-{uuid.uuid4().hex[:6]}"
    spec = json.dumps({"name": "echo", "version": "v1", "kind": "callable", "ref": "tests.fixtures.echo_target:reply"})
    steps = [(ns[-1].split(":")[0] if ns else "", node)
             for ns, update in graph.stream({"messages": [HumanMessage(f"Build a dataset of 3 scenarios for {spec}")]},
                                            _config(thread), stream_mode="updates", subgraphs=True)
             for node in update]
    assert ("dataset_builder", "call_model") in steps and ("dataset_builder", "tools") in steps, steps
    values = graph.get_state(_config(thread)).values
    assert values["candidate"] == {"name": "echo", "version": "v1", "kind": "callable",
                                   "ref": "tests.fixtures.echo_target:reply"}
    assert "`echo@v1 (callable)`" in values["answer"]["text"] and len(values["dataset_draft"]["scenarios"]) == 3
    tool_calls = [c for m in values["messages"] for c in getattr(m, "tool_calls", [])]
    assert not tool_calls, "the thread keeps the conversation; the tool calls stay in the agent's subgraph"

    _say(graph, thread, "looks good")
    _approve(graph, thread)
    out = _say(graph, thread, "simulate it against support v1")
    assert out["route"]["agent"] == "simulator" and _gate(graph, thread)["stage_from"] == "simulation"
    traces = graph.get_state(_config(thread)).values["traces"]
    assert {t["agent"]["name"] for t in traces["candidate"]} == {"echo"}
    assert all("Could you share your order number" in t["turns"][1]["content"] for t in traces["candidate"])
    assert {t["agent"]["version"] for t in traces["baseline"]} == {"v1"}


def test_a_new_run_on_a_thread_at_a_gate_keeps_the_gate(graph) -> None:  # type: ignore[no-untyped-def]
    """A new input sent straight to the graph (as a LangGraph API run does, without the chat's or the CLI's guard)
    goes back to the pending gate instead of abandoning it; the decision then resumes the thread as usual."""
    thread = f"conv-{uuid.uuid4().hex[:6]}"
    _say(graph, thread, "Build a dataset of 3 scenarios for support v2")
    _say(graph, thread, "looks good")
    gate = _gate(graph, thread)
    assert gate is not None and gate["stage_from"] == "dataset"
    before = graph.get_state(_config(thread)).values
    _say(graph, thread, "What is the p95 latency per model?")
    assert _gate(graph, thread) == gate
    after = graph.get_state(_config(thread)).values
    assert after["dataset"] == before["dataset"] and after["runs"] == before["runs"]
    assert after["route"] == before["route"], "the message was not routed to another agent"
    out = _approve(graph, thread)
    assert "Gate dataset->simulation: approved by alice" in out["answer"]["text"]
    assert graph.get_state(_config(thread)).values["waiting_at"] is None


def test_production_feedback_on_the_serving_version_s_attributed_traffic(graph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Spans that name their agent version (gen_ai.agent.name / gen_ai.agent.version) are attributed to it: the
    feedback agent reports on the serving version's own rows (recomputed here from the raw table), not the fleet."""
    from core.bootstrap import open_database
    from core.db import connect
    from ingest.pipeline import ingest_dir
    from tests.fixtures.genai_spans import otlp_json, spans

    project = f"fb-{uuid.uuid4().hex[:6]}"
    items = spans()
    for item, version in zip(items[:4], ("v1", "v2", "v1", None), strict=True):  # LLM spans, and a tool span
        if version:
            item["attrs"] |= {"gen_ai.agent.name": "support", "gen_ai.agent.version": version}
    (tmp_path / "spans.json").write_text(json.dumps(otlp_json(items)))
    db = open_database()
    ingest_dir(db.conn, tmp_path / "spans.json", embed=False, out_dir=tmp_path, project=project)
    db.conn.close()

    try:
        thread = f"conv-{uuid.uuid4().hex[:6]}"
        out = _say(graph, thread, f"/feedback production feedback in project {project}")
        fb = graph.get_state(_config(thread)).values["feedback"]
        with connect() as conn:
            raw = conn.execute("SELECT count(*) AS n, count(*) FILTER (WHERE is_failure) AS failed FROM interactions "
                               "WHERE project = %s AND extra->>'agent_name' = 'support' "
                               "AND extra->>'agent_version' = 'v1'", (project,)).fetchone()
        assert fb["agent"] == "support@v1" and fb["project"] == project and fb["attributed"] == raw["n"] == 2
        assert fb["n_interactions"] == raw["n"] and fb["counts"]["failed"] == raw["failed"]
        assert f"traffic attributed to support@v1 in project {project}" in out["answer"]["text"]
        assert "fleet-wide" not in out["answer"]["text"]
    finally:  # the module's other tests (and the next modules) read the shared sample database
        with connect() as conn:
            for table in ("interactions", "sessions", "users", "prompts"):
                conn.execute(f"DELETE FROM {table} WHERE project = %s", (project,))
