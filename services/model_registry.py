"""Deployment through the MLflow model registry: register agent versions, move aliases, promote, roll back, load.

Aliases only (``challenger``, ``champion``), never the deprecated stages. Promotion records the champion it
replaces in the new champion's model-version tag ``previous_champion``; ``rollback`` moves ``champion`` back to
that recorded version. Registration and promotion runs are opened with ``core.tracking.stage_run`` (stage
``deployment``) so they carry the standard tags. Logging is offline: explicit pip requirements (local versions,
no environment inference), an explicit signature, no input example.

``RolloutPlan`` is the pure logic of a staged rollout (10 % -> 50 % -> 100 % of traffic by default) with guardrails
on each step's pass rate, error rate and p95 latency; the approval gates around it live in ``graphs``.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from importlib import metadata
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from core.tracking import configure_mlflow, stage_run

CHAMPION, CHALLENGER = "champion", "challenger"
PREVIOUS_CHAMPION_TAG = "previous_champion"
MODEL_NAME_IN_RUN = "agent"
_TAG_LIMIT = 5000  # MLflow's model-version tag value limit


def _client() -> Any:
    from mlflow import MlflowClient

    configure_mlflow()
    return MlflowClient()


def _requirements() -> list[str]:
    """Pinned requirements from the local environment (no resolution, no network)."""
    pins = []
    for dist in ("mlflow", "cloudpickle", "pandas", "pydantic"):
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def _version_tags(cfg: dict[str, Any], project_id: str, metrics: dict[str, float] | None) -> dict[str, str]:
    config_json = json.dumps(cfg, sort_keys=True)
    tags = {"agent_name": cfg["name"], "agent_version": cfg["version"], "agent_id": f"{cfg['name']}@{cfg['version']}",
            "model_name": str(cfg["model"]), "tools": ",".join(cfg["tools"]), "factory": str(cfg["factory"]),
            "provider": json.dumps(cfg["provider"], sort_keys=True)[:_TAG_LIMIT], "project_id": project_id,
            "agent_config": config_json if len(config_json) <= _TAG_LIMIT else config_json[: _TAG_LIMIT - 40]
            + "...(truncated; see the agent_config artifact)"}
    if metrics:
        tags["metrics"] = json.dumps(metrics, sort_keys=True)[:_TAG_LIMIT]
    return tags


def register_agent(config: dict[str, Any], registered_name: str, project_id: str,
                   metrics: dict[str, float] | None = None, dataset_version: str = "none") -> str:
    """Log the agent as a pyfunc model in a ``deployment`` run, register it and tag the version; returns the version.

    ``metrics`` (for example the evaluation's pass rate) are logged on the run and copied into a version tag.
    """
    import mlflow

    from services.pyfunc_agent import CONFIG_ARTIFACT, AgentModel, agent_signature, normalise_config

    cfg = normalise_config(config)
    agent_id = f"{cfg['name']}@{cfg['version']}"
    configure_mlflow()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "agent_config.json"
        path.write_text(json.dumps(cfg, indent=2, sort_keys=True), encoding="utf-8")
        with stage_run(project_id, "deployment", agent_id=agent_id, dataset_version=dataset_version,
                       run_name=f"register-{agent_id}",
                       extra_tags={"action": "register", "registered_model": registered_name}):
            mlflow.log_params({"agent_name": cfg["name"], "agent_version": cfg["version"],
                               "model_name": cfg["model"], "factory": cfg["factory"]})
            if metrics:
                mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
            with warnings.catch_warnings():  # no input example on purpose: it would call the target at log time
                warnings.filterwarnings("ignore", message=".*input example was not provided.*")
                info = mlflow.pyfunc.log_model(name=MODEL_NAME_IN_RUN, python_model=AgentModel(),
                                               artifacts={CONFIG_ARTIFACT: str(path)}, model_config=cfg,
                                               signature=agent_signature(), pip_requirements=_requirements())
    version = mlflow.register_model(info.model_uri, registered_name, tags=_version_tags(cfg, project_id, metrics))
    return str(version.version)


def set_alias(name: str, alias: str, version: str | int) -> None:
    """Point ``alias`` (``challenger``, ``champion``, ...) of registered model ``name`` at ``version``."""
    if not alias.strip():
        raise ValueError("alias must not be empty")
    _client().set_registered_model_alias(name, alias, str(version))


def alias_version(name: str, alias: str) -> str | None:
    """The version ``alias`` points at, or None (no such alias or model)."""
    from mlflow.exceptions import MlflowException

    try:
        return str(_client().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def champion(name: str) -> str | None:
    """The current champion version of ``name``, or None."""
    return alias_version(name, CHAMPION)


def promote_to_champion(name: str, version: str | int, project_id: str) -> dict[str, Any]:
    """Make ``version`` the champion, recording the replaced one in its ``previous_champion`` tag.

    Returns ``{"name", "champion", "previous_champion", "changed", "run_id"}``; promoting the current champion is a
    no-op (``changed`` False). A ``challenger`` alias on the promoted version is removed.
    """
    client = _client()
    version = str(version)
    mv = client.get_model_version(name, version)  # raises if it does not exist
    previous = champion(name)
    if previous == version:
        return {"name": name, "champion": version, "previous_champion": mv.tags.get(PREVIOUS_CHAMPION_TAG),
                "changed": False, "run_id": None}
    client.set_model_version_tag(name, version, PREVIOUS_CHAMPION_TAG, previous or "none")
    client.set_registered_model_alias(name, CHAMPION, version)
    if alias_version(name, CHALLENGER) == version:
        client.delete_registered_model_alias(name, CHALLENGER)
    run_id = _log_action(project_id, name, mv.tags.get("agent_id", f"{name}:{version}"), "promote",
                         {"registered_model": name, "version": version, "previous_champion": previous or "none"})
    return {"name": name, "champion": version, "previous_champion": previous, "changed": True, "run_id": run_id}


def rollback(name: str, project_id: str | None = None) -> dict[str, Any]:
    """Move ``champion`` back to the version recorded in the current champion's ``previous_champion`` tag.

    Returns ``{"from", "to"}``; raises ValueError when there is no champion or no recorded predecessor. The
    rolled-back version is tagged ``rolled_back=true``. With ``project_id`` a ``deployment`` run records it.
    """
    client = _client()
    current = champion(name)
    if current is None:
        raise ValueError(f"registered model {name!r} has no champion to roll back")
    previous = client.get_model_version(name, current).tags.get(PREVIOUS_CHAMPION_TAG)
    if not previous or previous == "none":
        raise ValueError(f"champion v{current} of {name!r} has no recorded previous champion")
    prev_mv = client.get_model_version(name, previous)
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_model_version_tag(name, current, "rolled_back", "true")
    if project_id:
        _log_action(project_id, name, prev_mv.tags.get("agent_id", f"{name}:{previous}"), "rollback",
                    {"registered_model": name, "from_version": current, "to_version": previous})
    return {"from": current, "to": previous}


def withdraw_challenger(name: str, version: str | int, project_id: str, reason: str) -> dict[str, Any]:
    """Stop a rollout in progress: the candidate loses its ``challenger`` alias and is tagged ``rolled_back``;
    the champion (the previous version serving everyone) is untouched. Returns ``{"withdrawn", "champion"}``."""
    client = _client()
    version = str(version)
    if alias_version(name, CHALLENGER) == version:
        client.delete_registered_model_alias(name, CHALLENGER)
    client.set_model_version_tag(name, version, "rolled_back", "true")
    _log_action(project_id, name, f"{name}:{version}", "withdraw",
                {"registered_model": name, "version": version, "reason": reason[:200] or "none"})
    return {"withdrawn": version, "champion": champion(name)}


def _log_action(project_id: str, name: str, agent_id: str, action: str, params: dict[str, str]) -> str:
    import mlflow

    with stage_run(project_id, "deployment", agent_id=agent_id, run_name=f"{action}-{name}",
                   extra_tags={"action": action, "registered_model": name}) as run:
        mlflow.log_params(params)
    return str(run.info.run_id)


def load_agent(name: str, alias: str = CHAMPION) -> Any:
    """Load ``models:/<name>@<alias>`` as a pyfunc model (``predict`` answers conversations)."""
    import mlflow

    configure_mlflow()
    return mlflow.pyfunc.load_model(f"models:/{name}@{alias}")


class RolloutThresholds(BaseModel):
    """Guardrails every rollout step must meet before traffic grows."""

    min_pass_rate: float = Field(default=0.8, ge=0, le=1)
    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    max_latency_p95_ms: float = Field(default=10_000.0, gt=0)


class StepRecord(BaseModel):
    """The metrics observed at one step and whether they met the guardrails."""

    percent: int
    pass_rate: float | None
    error_rate: float | None
    latency_p95_ms: float | None
    ok: bool
    reasons: list[str] = Field(default_factory=list)


class RolloutDecision(BaseModel):
    """What ``advance`` decided: ``percent`` is the candidate's traffic share from now on (0 after a halt)."""

    action: Literal["advance", "complete", "halt"]
    percent: int
    reasons: list[str] = Field(default_factory=list)


class RolloutPlan(BaseModel):
    """Staged rollout of a candidate version; ``advance`` is pure logic (it mutates only this plan)."""

    registered_name: str | None = None
    candidate_version: str | None = None
    steps: list[int] = Field(default_factory=lambda: [10, 50, 100])
    current_step: int = 0
    status: Literal["in_progress", "completed", "halted"] = "in_progress"
    thresholds: RolloutThresholds = Field(default_factory=RolloutThresholds)
    history: list[StepRecord] = Field(default_factory=list)

    @field_validator("steps")
    @classmethod
    def _increasing_to_100(cls, v: list[int]) -> list[int]:
        if not v or any(b <= a for a, b in pairwise(v)) or v[0] <= 0 or v[-1] != 100:
            raise ValueError("steps must be strictly increasing percentages ending at 100")
        return v

    @property
    def current_percent(self) -> int:
        """Traffic share of the candidate at the current step (0 once halted)."""
        return 0 if self.status == "halted" else self.steps[self.current_step]

    def evaluate(self, metrics: dict[str, Any]) -> StepRecord:
        """Check ``metrics`` (pass_rate, error_rate, latency_p95_ms or latency_p95) against the guardrails."""
        t = self.thresholds

        def num(*keys: str) -> float | None:
            value = next((metrics[k] for k in keys if metrics.get(k) is not None), None)
            return None if value is None else float(value)

        pass_rate, error_rate = num("pass_rate"), num("error_rate")
        latency = num("latency_p95_ms", "latency_p95")
        reasons = [f"{k} missing" for k, v in (("pass_rate", pass_rate), ("error_rate", error_rate),
                                                ("latency_p95_ms", latency)) if v is None]
        if pass_rate is not None and pass_rate < t.min_pass_rate:
            reasons.append(f"pass_rate {pass_rate:.3f} < {t.min_pass_rate:.3f}")
        if error_rate is not None and error_rate > t.max_error_rate:
            reasons.append(f"error_rate {error_rate:.3f} > {t.max_error_rate:.3f}")
        if latency is not None and latency > t.max_latency_p95_ms:
            reasons.append(f"latency_p95_ms {latency:.0f} > {t.max_latency_p95_ms:.0f}")
        return StepRecord(percent=self.current_percent, pass_rate=pass_rate, error_rate=error_rate,
                          latency_p95_ms=latency, ok=not reasons, reasons=reasons)

    def advance(self, metrics: dict[str, Any]) -> RolloutDecision:
        """Record the current step's metrics; move to the next step, complete at 100 %, or halt on a breach."""
        if self.status != "in_progress":
            raise ValueError(f"rollout is {self.status}; start a new plan")
        record = self.evaluate(metrics)
        self.history.append(record)
        if not record.ok:
            self.status = "halted"
            return RolloutDecision(action="halt", percent=0, reasons=record.reasons)
        if self.current_step == len(self.steps) - 1:
            self.status = "completed"
            return RolloutDecision(action="complete", percent=100)
        self.current_step += 1
        return RolloutDecision(action="advance", percent=self.steps[self.current_step])
