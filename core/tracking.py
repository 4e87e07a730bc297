"""MLflow conventions: where the store is, one experiment per project, standard run tags, artifact layout."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.settings import Settings, get_settings

STANDARD_TAGS = ("project_id", "agent_id", "dataset_version", "git_sha", "stage")
ARTIFACT_DIRS = ("dataset", "simulation", "judging", "reports", "analytics", "feedback")


def tracking_uri(settings: Settings | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` or the local sqlite store in the data directory."""
    settings = settings or get_settings()
    if settings.mlflow_tracking_uri:
        return settings.mlflow_tracking_uri
    return f"sqlite:///{settings.mlflow_dir / 'mlflow.db'}"


def artifact_root(settings: Settings | None = None) -> str:
    """Where artifacts of new experiments go (local store only)."""
    settings = settings or get_settings()
    return (settings.mlflow_dir / "artifacts").as_uri()


def configure_mlflow(settings: Settings | None = None) -> str:
    """Point MLflow at the configured store with telemetry off; returns the tracking URI."""
    settings = settings or get_settings()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    import mlflow

    if not settings.mlflow_tracking_uri:
        settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(settings)
    users_value = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # mlflow exports the URI into the environment; keep the user's own value (or none) so that settings
    # re-read later (another OPSGRAPH_HOME) do not mistake ours for an explicit MLFLOW_TRACKING_URI
    if users_value is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = users_value
    return uri


def git_sha() -> str:
    """The current commit of the opsgraph checkout, or ``unknown``."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=5, check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def ensure_experiment(project_id: str, settings: Settings | None = None) -> str:
    """Create (or reuse) the project's experiment ``opsgraph/<project_id>``; returns its id."""
    import mlflow

    configure_mlflow(settings)
    name = f"opsgraph/{project_id}"
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    kwargs: dict[str, Any] = {}
    if not (settings or get_settings()).mlflow_tracking_uri:
        kwargs["artifact_location"] = f"{artifact_root(settings)}/{project_id}"
    return str(mlflow.create_experiment(name, tags={"project_id": project_id}, **kwargs))


@contextmanager
def stage_run(
    project_id: str,
    stage: str,
    agent_id: str = "none",
    dataset_version: str = "none",
    run_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> Iterator[Any]:
    """Open an MLflow run in the project's experiment with the standard tags every stage uses."""
    import mlflow

    exp_id = ensure_experiment(project_id)
    tags = {"project_id": project_id, "agent_id": agent_id, "dataset_version": dataset_version,
            "git_sha": git_sha(), "stage": stage, **(extra_tags or {})}
    with mlflow.start_run(experiment_id=exp_id, run_name=run_name or f"{stage}-{agent_id}", tags=tags) as run:
        yield run
