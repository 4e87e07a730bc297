"""Data contracts of the evaluation lifecycle: scenarios, datasets, simulation traces and judgments.

The same pydantic models are the CLI's JSON input/output, the graph state's payloads and the MLflow artifacts;
``core.schemas.export_json_schemas`` writes them as JSON Schema (``opsgraph contracts export``). Turns are numbered
from 1 in the order of ``SimulationTrace.turns`` (turn 1 is the simulated user's opening message), and every judgment's
rationale cites them ("turn 2").
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from core.lifecycle_config import DEFAULTS

Difficulty = Literal["easy", "medium", "hard"]
Role = Literal["user", "assistant", "tool"]
Verdict = Literal["pass", "fail", "uncertain"]
Outcome = Literal["goal_met", "abandoned", "max_turns", "error"]

TURN_CITATION = re.compile(r"\bturns? \d+", re.IGNORECASE)
_OFFLINE_NOTE = re.compile(r"\s*\(offline reasoner:[^)]*\)\s*$")


def strip_provider_note(text: str) -> str:
    """The reply without the offline provider's closing disclosure (it is not part of what the agent said)."""
    return _OFFLINE_NOTE.sub("", text).strip()


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentRef(_Contract):
    """Which agent (and which version of it) produced a trace or was judged."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @property
    def id(self) -> str:
        """``name@version``: the ``agent_id`` tag of MLflow runs."""
        return f"{self.name}@{self.version}"


class Scenario(_Contract):
    """One evaluation scenario: who the simulated user is, what they want and what the agent should do."""

    id: str = Field(min_length=1)
    category: str = Field(min_length=1)
    persona: str = Field(description="Who the simulated user is and how they behave.")
    goal: str = Field(description="What the user wants to achieve in the conversation.")
    opening_message: str = Field(description="The user's first message (turn 1).")
    expected_behavior: str = Field(description="Checkable requirements, one sentence each.")
    difficulty: Difficulty
    expected_tools: list[str] | None = None
    failure_types: list[str] = Field(default_factory=list, description="Failure types the scenario probes.")
    source: str = Field(default="catalogue", description="catalogue | cluster:<label> | feedback | revision")


class NearDuplicate(_Contract):
    """Two scenarios whose texts embed closer than the near-duplicate threshold."""

    a: str
    b: str
    similarity: float


class DatasetQualityReport(_Contract):
    """Validation of a dataset against a pass threshold."""

    size: int
    near_duplicates: list[NearDuplicate] = Field(default_factory=list)
    category_balance: dict[str, int] = Field(default_factory=dict, description="Scenarios per category.")
    failure_type_coverage: dict[str, int] = Field(
        default_factory=dict, description="Scenarios per required failure type (0 = not covered).")
    missing_fields: list[str] = Field(default_factory=list, description="'<scenario id>.<field>' left empty.")
    score: float = Field(ge=0, le=1)
    passed: bool
    threshold: float = Field(ge=0, le=1)
    notes: list[str] = Field(default_factory=list)


class Dataset(_Contract):
    """A versioned set of scenarios for one target agent."""

    name: str = Field(min_length=1)
    version: int = Field(ge=1)
    target_agent: AgentRef
    scenarios: list[Scenario]
    validation: DatasetQualityReport | None = None

    def scenario(self, scenario_id: str) -> Scenario:
        """The scenario with ``scenario_id`` (KeyError when absent)."""
        for s in self.scenarios:
            if s.id == scenario_id:
                return s
        raise KeyError(scenario_id)


class ToolCallRecord(_Contract):
    """A tool call the agent made in an assistant turn: the tool, its arguments and (when it ran) its id."""

    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class Turn(_Contract):
    """One message of a conversation, with what producing it cost.

    An assistant turn may carry the tool calls the agent made (``tool_calls``); a ``tool`` turn is a tool's result
    (``content``), naming the tool (``name``) and the call it answers (``tool_call_id``); ``is_error`` marks a
    failed call. The judge reads them: what the agent did, not only what it said."""

    role: Role
    content: str
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    name: str | None = Field(default=None, description="The tool whose result a tool turn is.")
    tool_call_id: str | None = None
    is_error: bool = False
    latency_ms: float = Field(default=0.0, ge=0)
    tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)

    @property
    def text(self) -> str:
        """The content without a provider disclosure note."""
        return strip_provider_note(self.content)


class SimulationTrace(_Contract):
    """A whole conversation between the simulated user and the target for one scenario and seed."""

    scenario_id: str
    agent: AgentRef
    seed: int
    turns: list[Turn] = Field(default_factory=list)
    outcome: Outcome
    error: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        """``(scenario_id, seed)``: what resumable simulation skips once done."""
        return (self.scenario_id, self.seed)


class CriterionScore(_Contract):
    """One rubric criterion's 1-5 score and the evidence for it."""

    score: int = Field(ge=1, le=5)
    notes: str = ""
    critical: bool = False


class Judgment(_Contract):
    """The judge's verdict on one trace: ``verdict`` pass, fail or uncertain (the judge abstained: its confidence
    was below the threshold), ``passed`` its boolean (None when uncertain), ``confidence`` in [0, 1]."""

    scenario_id: str
    agent: AgentRef
    seed: int
    score: int = Field(ge=1, le=5)
    passed: bool | None = None
    verdict: Verdict
    confidence: float = Field(default=1.0, ge=0, le=1)
    rationale: str
    rubric: dict[str, CriterionScore]
    tokens: int = Field(default=0, ge=0, description="The judge model's tokens for this trace (estimated when "
                                                    "the provider reports none).")
    cost_usd: float | None = Field(default=None, ge=0, description="The judge's own cost for this trace: 0 offline, "
                                                                  "tokens x the price table for a hosted model, "
                                                                  "None when its price is unknown.")

    @model_validator(mode="before")
    @classmethod
    def _verdict_and_passed(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        verdict, passed = data.get("verdict"), data.get("passed")
        if verdict is None:  # judgments written before verdicts existed carry only ``passed``
            return data if passed is None else {**data, "verdict": "pass" if passed else "fail"}
        expected = None if verdict == "uncertain" else verdict == "pass"
        if "passed" in data and passed != expected:
            raise ValueError(f"passed={passed!r} contradicts verdict {verdict!r}")
        return {**data, "passed": expected}

    @field_validator("rationale")
    @classmethod
    def _cites_turns(cls, v: str) -> str:
        if not TURN_CITATION.search(v):
            raise ValueError("the rationale must cite turn numbers, e.g. 'turn 2'")
        return v


class JudgeInput(_Contract):
    """One item to judge: the scenario and the conversation it produced."""

    scenario: Scenario
    trace: SimulationTrace


class TargetSpec(_Contract):
    """How to reach a target agent: a registered one, an OpenAI-compatible endpoint or a Python object."""

    name: str = Field(min_length=1)
    version: str = "v1"
    kind: Literal["registered", "endpoint", "callable", "graph"] = "registered"
    url: str | None = Field(default=None, description="Base URL of an OpenAI-compatible API (kind endpoint).")
    model: str | None = Field(default=None, description="Model name sent to the endpoint.")
    ref: str | None = Field(default=None, description="'package.module:attribute' (kind callable or graph).")

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class FailureCluster(_Contract):
    """A cluster of failing interactions from the telemetry analytics, used to seed scenarios."""

    label: str
    failure_type: str
    exemplars: list[str] = Field(default_factory=list,
                                 validation_alias=AliasChoices("exemplars", "exemplar_prompts"))


class FeedbackTheme(_Contract):
    """A negative-feedback theme (or a proposed scenario) from the feedback report."""

    theme: str
    examples: list[str] = Field(default_factory=list)
    count: int = Field(default=1, ge=1)
    category: str | None = None


class BuilderSeeds(_Contract):
    """Optional seeds of the dataset builder."""

    failure_clusters: list[FailureCluster] = Field(default_factory=list)
    feedback_report: list[FeedbackTheme] = Field(default_factory=list)


class DatasetBuilderRequest(_Contract):
    """Input of ``opsgraph agent dataset_builder``."""

    target: TargetSpec
    n: int = Field(default=DEFAULTS.n_scenarios, ge=1, le=200)
    feedback: list[str] = Field(default_factory=list, description="Revision instructions, applied in order.")
    seeds: BuilderSeeds = Field(default_factory=BuilderSeeds)
    threshold: float = Field(default=0.8, ge=0, le=1)
    name: str | None = None


class SimulatorRequest(_Contract):
    """Input of ``opsgraph agent simulator``."""

    dataset: Dataset
    target: TargetSpec
    seeds: list[int] = Field(default_factory=lambda: list(DEFAULTS.seeds), min_length=1)
    max_turns: int = Field(default=DEFAULTS.max_turns, ge=1, le=20)
    workers: int = Field(default=DEFAULTS.workers, ge=1, le=32)


CONTRACTS: tuple[type[BaseModel], ...] = (
    Scenario, DatasetQualityReport, Dataset, Turn, SimulationTrace, Judgment, JudgeInput,
    TargetSpec, DatasetBuilderRequest, SimulatorRequest,
)
