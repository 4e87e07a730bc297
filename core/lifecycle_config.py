"""The evaluation lifecycle's defaults, in one typed configuration.

The lifecycle graph reads it as its runtime context (``context_schema``); the CLI and the chat read the same
object for their option defaults. Values chosen for one run (candidate, baseline, scenarios, seeds, turns, laps,
registered name) are copied into the checkpointed state when the run starts, so a resume in another process
keeps them; the others (workers, feedback windows, recursion limit) apply to whichever process runs the step.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LifecycleConfig(BaseModel):
    """Defaults of an evaluation lifecycle run."""

    model_config = ConfigDict(frozen=True)

    candidate: str = Field(default="support@v2", description="Agent under evaluation, NAME@VERSION.")
    baseline: str = Field(default="support@v1", description="Agent it is compared with, NAME@VERSION.")
    n_scenarios: int = Field(default=12, ge=1, description="Scenarios in the dataset.")
    seeds: tuple[int, ...] = Field(default=(0, 1), description="Simulation seeds.")
    max_turns: int = Field(default=6, ge=1, description="Assistant replies per simulated conversation.")
    max_laps: int = Field(default=1, ge=1, description="Laps of dataset -> ... -> feedback.")
    workers: int = Field(default=4, ge=1, description="Conversations simulated at once.")
    feedback_window_days: int = Field(default=14, ge=1, description="The feedback stage's recent window.")
    feedback_baseline_days: int = Field(default=14, ge=1, description="The window it is compared with.")
    registered_name: str = Field(default="opsgraph-support-agent", description="Model name in the MLflow registry.")
    recursion_limit: int = Field(default=200, ge=25, description="LangGraph steps per invocation.")

    @property
    def seeds_text(self) -> str:
        """The seeds as a CLI option value ("0,1")."""
        return ",".join(map(str, self.seeds))

    def run_inputs(self) -> dict[str, Any]:
        """The per-run values as lifecycle state (agents as ``{"name", "version"}``)."""
        return {"candidate": agent_ref(self.candidate), "baseline": agent_ref(self.baseline),
                "n_scenarios": self.n_scenarios, "seeds": list(self.seeds), "max_turns": self.max_turns,
                "max_laps": self.max_laps, "registered_name": self.registered_name}


DEFAULTS = LifecycleConfig()


def agent_ref(ref: str, default_version: str | None = None) -> dict[str, str]:
    """``"NAME@VERSION"`` as ``{"name", "version"}``; a ValueError says what is missing."""
    name, _, version = ref.strip().partition("@")
    version = version or default_version or ""
    if not name or not version:
        raise ValueError(f"expected NAME@VERSION, got {ref!r}")
    return {"name": name, "version": version}


def graph_config(thread_id: str, config: LifecycleConfig = DEFAULTS) -> dict[str, Any]:
    """The LangGraph config of a thread: its id and the recursion limit."""
    return {"configurable": {"thread_id": thread_id}, "recursion_limit": config.recursion_limit}
