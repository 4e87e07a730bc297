"""The simulator and the simulated user: outcomes, measurements, concurrency, resumption, MLflow and CLI."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.dataset_builder.agent import build_dataset
from agents.simulator.agent import JsonlCheckpoint, load_traces, log_traces, simulate, trace_metrics
from agents.simulator.offline import goal_need
from agents.simulator.simulated_user import next_user_move, private_facts
from agents.targets import CallableTarget, TargetMetadata, get_target
from cli.agent_cmd import agent_app
from core.contracts import Dataset, SimulationTrace, Turn


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return build_dataset(get_target("support", "v1"), n=9, validate=False)  # one scenario per category


def _by_id(traces: list[SimulationTrace], seed: int = 0) -> dict[str, SimulationTrace]:
    return {t.scenario_id: t for t in traces if t.seed == seed}


def test_conversations_end_when_the_goal_is_met_or_the_user_gives_up(dataset: Dataset) -> None:
    v1 = _by_id(simulate(dataset, get_target("support", "v1"), seeds=[0], max_turns=6))
    v2 = _by_id(simulate(dataset, get_target("support", "v2"), seeds=[0], max_turns=6))
    assert v2["escalation-01"].outcome == "goal_met" and len(v2["escalation-01"].turns) == 3
    assert v1["escalation-01"].outcome == "abandoned"  # v1 ignores the request until patience runs out
    refund = v2["refunds-01"]  # v2 asks for the order id, the user gives theirs, then the refund is confirmed
    order_id = private_facts(dataset.scenario("refunds-01"), 0)["order_id"]
    assert refund.outcome == "goal_met" and order_id in refund.turns[2].content and order_id in refund.turns[3].text
    for trace in (*v1.values(), *v2.values()):
        assert trace.turns[0].content == dataset.scenario(trace.scenario_id).opening_message
        assert [t.role for t in trace.turns] == ["user", "assistant"] * (len(trace.turns) // 2) + ["user"] * (
            len(trace.turns) % 2)
        assert all(t.latency_ms > 0 and t.tokens > 0 and t.cost_usd > 0 for t in trace.turns if t.role == "assistant")
    metrics = trace_metrics(list(v2.values()))
    assert metrics["goal_met_rate"] == 1.0 and metrics["latency_ms_p95"] >= metrics["latency_ms_mean"] > 0


def test_simulated_user_plays_the_persona_from_the_conversation(dataset: Dataset) -> None:
    sc = dataset.scenario("refunds-01")
    facts = private_facts(sc, 3)
    history = [Turn(role="user", content=sc.opening_message),
               Turn(role="assistant", content="Sure, what is your order id?")]
    move = next_user_move(sc, 3, history)
    assert move.status == "continue" and facts["order_id"] in move.message
    assert private_facts(sc, 3) == facts and private_facts(sc, 4)["order_id"] != facts["order_id"]
    done = next_user_move(sc, 3, [*history, Turn(role="user", content=move.message),
                                  Turn(role="assistant", content="Thanks, the refund has been processed.")])
    assert done.status == "goal_met"
    assert [goal_need(dataset.scenario(i)) for i in ("escalation-01", "policy_questions-01", "data_export-01")] == [
        "handoff", "info", "steps"]
    angry = dataset.scenario("angry_customers-01")
    assert private_facts(angry, 0)["angry"] and private_facts(angry, 0)["patience"] == 2


def _meta() -> TargetMetadata:
    return TargetMetadata(name="stub", version="0", description="stub", model="gpt-4o-mini")


def test_max_turns_errors_and_concurrency(dataset: Dataset) -> None:
    lock, active, peak = threading.Lock(), [0], [0]

    def vague(messages: list[dict[str, str]]) -> str:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        if "crashed" in messages[0]["content"]:
            raise ConnectionError("target unreachable")
        return "Hmm, let me think."

    traces = simulate(dataset, CallableTarget(vague, _meta()), seeds=[0, 1], max_turns=2, workers=4)
    assert peak[0] > 1 and len(traces) == 18
    assert [t.key for t in traces] == [(s.id, seed) for s in dataset.scenarios for seed in (0, 1)]
    errors = [t for t in traces if t.outcome == "error"]
    assert {t.scenario_id for t in errors} == {"angry_customers-01"}
    assert errors[0].error == "ConnectionError: target unreachable" and len(errors[0].turns) == 1
    others = [t for t in traces if t.outcome != "error"]
    assert all(t.outcome == "max_turns" and sum(x.role == "assistant" for x in t.turns) == 2 for t in others)


def test_runs_are_deterministic_and_seeds_matter(dataset: Dataset) -> None:
    target = get_target("support", "v1")
    a = simulate(dataset, target, seeds=[0, 1], workers=3)
    assert a == simulate(dataset, target, seeds=[0, 1], workers=1)
    assert any(x.turns != y.turns for x, y in zip(a[::2], a[1::2], strict=True))


def test_resume_skips_finished_conversations(dataset: Dataset, tmp_path: Path) -> None:
    calls: list[int] = []

    def count(messages: list[dict[str, str]]) -> str:
        calls.append(1)
        return "1. Open Settings > Account.\n2. Choose Reset.\n3. Sign in again."

    target, ck = CallableTarget(count, _meta()), JsonlCheckpoint(tmp_path / "sim" / "traces.jsonl")
    first = simulate(dataset.model_copy(update={"scenarios": dataset.scenarios[:4]}), target, seeds=[0], on_trace=ck)
    assert len(first) == 4 and ck.done_ids() == {(s.id, 0) for s in dataset.scenarios[:4]}
    with ck.path.open("a") as fh:
        fh.write('{"scenario_id": "torn')  # an interrupted write is ignored
    before, seen = len(calls), list[SimulationTrace]()
    rest = simulate(dataset, target, seeds=[0], done_ids=ck.done_ids(), on_trace=seen.append)
    assert [t.scenario_id for t in rest] == [s.id for s in dataset.scenarios[4:]] and len(seen) == 5
    assert len(calls) - before == sum(sum(t.role == "assistant" for t in tr.turns) for tr in rest)
    assert simulate(dataset, target, seeds=[0], done_ids={(s.id, 0) for s in dataset.scenarios}) == []


@pytest.mark.integration
def test_traces_are_logged_and_read_back(dataset: Dataset, opsgraph_home: Path) -> None:
    import mlflow

    traces = simulate(dataset, get_target("support", "v2"), seeds=[0])
    run_id = log_traces(traces, "proj-sim", dataset_version="1", params={"seeds": "0"})
    run = mlflow.get_run(run_id)
    assert run.data.tags["stage"] == "simulation" and run.data.tags["agent_id"] == "support@v2"
    assert run.data.metrics["traces"] == 9 and run.data.metrics["cost_usd_total"] > 0
    back = load_traces(run_id)
    assert back == traces and {t.key for t in back} == {(s.id, 0) for s in dataset.scenarios}


def test_cli_simulator_is_idempotent_and_resumable(dataset: Dataset, tmp_path: Path) -> None:
    small = dataset.model_copy(update={"scenarios": dataset.scenarios[:3]})
    req = {"dataset": small.model_dump(mode="json"), "target": {"name": "support", "version": "v2"},
           "seeds": [0, 1], "max_turns": 4}
    (tmp_path / "in.json").write_text(json.dumps(req))
    runner = CliRunner()
    args = ["simulator", "--input", str(tmp_path / "in.json"), "--checkpoint", str(tmp_path / "ck.jsonl")]
    a = runner.invoke(agent_app, args)
    b = runner.invoke(agent_app, args)  # everything is in the checkpoint: nothing re-runs, same bytes
    assert a.exit_code == 0 and a.stdout == b.stdout
    traces = [SimulationTrace.model_validate(t) for t in json.loads(a.stdout)]
    assert [t.key for t in traces] == [(s.id, seed) for s in small.scenarios for seed in (0, 1)]
    assert len((tmp_path / "ck.jsonl").read_text().splitlines()) == 6
    bad = runner.invoke(agent_app, ["simulator", "-i", "-"], input=json.dumps({**req, "max_turns": 0}))
    assert bad.exit_code == 2 and "field 'max_turns'" in bad.output
