"""Deployment through a real MLflow registry (sqlite store in a temp data dir), with outbound network blocked."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core.settings import reset_settings
from core.tracking import STANDARD_TAGS, tracking_uri
from services import model_registry as registry
from services.model_registry import RolloutPlan
from services.pyfunc_agent import ECHO_FACTORY, AgentFactoryError, AgentModel, parse_conversations

pytestmark = pytest.mark.integration
NAME = "support-agent"


def shout_target(name: str, version: str) -> Any:
    """A test-local factory: a plain callable target."""
    return lambda messages: f"{name}@{version}: {messages[-1]['content'].upper()}"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One data dir, so one fresh sqlite MLflow store, for this module (creating a store costs seconds)."""
    path = tmp_path_factory.mktemp("registry-home")
    # mlflow.set_tracking_uri() exports MLFLOW_TRACKING_URI, which Settings would then read as an explicit store:
    # start without it and put back whatever was there before (or nothing) afterwards
    previous_uri = os.environ.pop("MLFLOW_TRACKING_URI", None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPSGRAPH_HOME", str(path))
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        reset_settings()
        yield path
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    if previous_uri is not None:
        os.environ["MLFLOW_TRACKING_URI"] = previous_uri
    reset_settings()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Outbound INET connections fail the call and the test."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError(f"network access blocked in tests: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield
    assert attempts == [], f"outbound connections attempted: {attempts}"


def _config(version: str, factory: str = ECHO_FACTORY) -> dict[str, Any]:
    return {"name": "support", "version": version, "system_prompt": f"You are support {version}.",
            "model": "offline", "tools": ["order_lookup"], "provider": {"name": "offline", "temperature": 0},
            "factory": factory}


def test_register_promote_rollback_and_load(home: Path) -> None:
    import mlflow
    from mlflow import MlflowClient

    assert tracking_uri() == f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    v1 = registry.register_agent(_config("v1"), NAME, "proj-deploy", metrics={"pass_rate": 0.7})
    v2 = registry.register_agent(_config("v2"), NAME, "proj-deploy", metrics={"pass_rate": 0.85},
                                 dataset_version="4")
    assert (v1, v2) == ("1", "2")
    client = MlflowClient()
    mv2 = client.get_model_version(NAME, v2)
    assert json.loads(mv2.tags["agent_config"])["system_prompt"] == "You are support v2."
    assert mv2.tags["agent_id"] == "support@v2" and json.loads(mv2.tags["metrics"]) == {"pass_rate": 0.85}
    assert mv2.current_stage == "None"  # aliases only, never stages

    assert mv2.run_id
    run = mlflow.get_run(mv2.run_id)
    assert set(STANDARD_TAGS) <= set(run.data.tags)
    assert {k: run.data.tags[k] for k in ("project_id", "agent_id", "dataset_version", "stage")} == {
        "project_id": "proj-deploy", "agent_id": "support@v2", "dataset_version": "4", "stage": "deployment"}
    assert run.data.tags["git_sha"] and run.data.metrics["pass_rate"] == 0.85
    assert str(home) in mlflow.get_experiment(run.info.experiment_id).artifact_location

    assert registry.champion(NAME) is None
    first = registry.promote_to_champion(NAME, v1, "proj-deploy")
    assert first["previous_champion"] is None and first["changed"]
    registry.set_alias(NAME, "challenger", v2)
    assert registry.alias_version(NAME, "challenger") == v2

    promoted = registry.promote_to_champion(NAME, v2, "proj-deploy")
    assert promoted["champion"] == v2 and promoted["previous_champion"] == v1
    assert client.get_model_version(NAME, v2).tags["previous_champion"] == v1
    assert registry.champion(NAME) == v2 and registry.alias_version(NAME, "challenger") is None
    promo_run = mlflow.get_run(promoted["run_id"])
    assert promo_run.data.tags["stage"] == "deployment" and promo_run.data.params["previous_champion"] == v1
    assert registry.promote_to_champion(NAME, v2, "proj-deploy")["changed"] is False

    model = registry.load_agent(NAME, "champion")
    frame = pd.DataFrame({"messages": [json.dumps([{"role": "user", "content": "where is my refund?"}])]})
    assert model.predict(frame) == ["[support@v2] echo: where is my refund?"]

    assert registry.rollback(NAME, project_id="proj-deploy") == {"from": v2, "to": v1}
    assert registry.champion(NAME) == v1
    assert client.get_model_version(NAME, v2).tags["rolled_back"] == "true"
    assert registry.load_agent(NAME).predict(frame) == ["[support@v1] echo: where is my refund?"]
    with pytest.raises(ValueError, match="no recorded previous champion"):
        registry.rollback(NAME)


def test_model_with_test_local_factory_and_overrides(home: Path) -> None:
    version = registry.register_agent(_config("v3", factory=f"{__name__}:shout_target"), "shouter", "proj-deploy")
    registry.set_alias("shouter", "challenger", version)
    model = registry.load_agent("shouter", "challenger")
    conv = [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]
    assert model.predict(pd.DataFrame({"messages": [json.dumps(conv)]})) == ["support@v3: HI"]

    import mlflow

    overridden = mlflow.pyfunc.load_model("models:/shouter@challenger", model_config={"factory": ECHO_FACTORY})
    assert overridden.predict(pd.DataFrame({"messages": [json.dumps(conv)]})) == ["[support@v3] echo: hi"]


def test_unimportable_factory_is_a_clear_error(home: Path) -> None:
    version = registry.register_agent(_config("v9", factory="no_such_pkg.targets:get_target"), "broken", "p")
    registry.set_alias("broken", "challenger", version)
    with pytest.raises(AgentFactoryError, match=re.escape("cannot import target factory 'no_such_pkg.targets:get_")):
        registry.load_agent("broken", "challenger")


def test_agent_model_in_process_accepts_records_and_message_lists() -> None:
    model = AgentModel()
    model.configure(_config("v1"))
    records = [{"messages": [{"role": "user", "content": "a"}]}, {"messages": '[{"role": "user", "content": "b"}]'}]
    assert model.predict(None, records) == ["[support@v1] echo: a", "[support@v1] echo: b"]  # type: ignore[arg-type]
    assert model.predict(None, [{"role": "user", "content": "c"}]) == ["[support@v1] echo: c"]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="messages"):
        parse_conversations(pd.DataFrame({"text": ["x"]}))
    with pytest.raises(AgentFactoryError, match=re.escape("package.module:attribute")):
        AgentModel().configure(_config("v1", factory="not-a-ref"))


def test_rollout_plan_advances_completes_and_halts() -> None:
    plan = RolloutPlan(registered_name=NAME, candidate_version="2")
    good = {"pass_rate": 0.9, "error_rate": 0.01, "latency_p95_ms": 1200}
    assert plan.current_percent == 10
    assert plan.advance(good).model_dump() == {"action": "advance", "percent": 50, "reasons": []}
    assert plan.advance({**good, "latency_p95": 900, "latency_p95_ms": None}).percent == 100
    final = plan.advance(good)
    assert final.action == "complete" and plan.status == "completed" and len(plan.history) == 3
    with pytest.raises(ValueError, match="completed"):
        plan.advance(good)

    halted = RolloutPlan()
    decision = halted.advance({"pass_rate": 0.5, "error_rate": 0.2})
    assert decision.action == "halt" and decision.percent == 0 and halted.current_percent == 0
    assert any("pass_rate" in r for r in decision.reasons) and "latency_p95_ms missing" in decision.reasons
    assert RolloutPlan.model_validate_json(halted.model_dump_json()).status == "halted"
    with pytest.raises(ValueError, match="ending at 100"):
        RolloutPlan(steps=[10, 50])
