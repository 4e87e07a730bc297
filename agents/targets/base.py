"""The target-agent interface: metadata plus ``respond(history, seed) -> Turn`` with its measured cost."""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from typing import Any

from pydantic import BaseModel, Field

from core.contracts import AgentRef, Turn

# USD per 1k tokens. The telemetry's rates, plus the offline reasoner priced like the telemetry's custom-local-8b.
RATES_PER_1K: dict[str, float] = {
    "gpt-4.1": 0.40, "claude-3.5-sonnet": 0.32, "gemini-1.5-pro": 0.32, "llama-3.1-70b": 0.20,
    "mistral-large": 0.12, "llama-3.1-8b": 0.06, "gpt-4o-mini": 0.02, "custom-local-8b": 0.004,
    "gemini-2.5-flash": 0.0006, "opsgraph-offline-reasoner": 0.004,
}


class TargetMetadata(BaseModel):
    """What the dataset builder and the reports know about a target agent."""

    name: str
    version: str
    description: str
    system_prompt: str = ""
    tools: list[str] = Field(default_factory=list)
    model: str = "unknown"

    @property
    def ref(self) -> AgentRef:
        """The agent reference carried by traces and judgments."""
        return AgentRef(name=self.name, version=self.version)


def estimate_tokens(text: str) -> int:
    """A provider-independent token estimate (about four characters per token)."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def history_as_messages(history: list[Turn], system_prompt: str = "") -> list[dict[str, str]]:
    """The conversation as OpenAI-style ``{"role", "content"}`` dicts, system prompt first when given."""
    msgs = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return msgs + [{"role": t.role, "content": t.content} for t in history  # the spoken turns only
                   if t.role in ("user", "assistant") and not t.tool_calls and t.content]


def measured_turn(content: str, model: str, latency_ms: float, prompt_tokens: int | None = None,
                  completion_tokens: int | None = None, prompt_text: str = "") -> Turn:
    """An assistant turn with tokens (reported, else estimated) and cost at the model's rate."""
    p = prompt_tokens if prompt_tokens is not None else estimate_tokens(prompt_text)
    c = completion_tokens if completion_tokens is not None else estimate_tokens(content)
    cost = (p + c) / 1000 * RATES_PER_1K.get(model, 0.0)
    return Turn(role="assistant", content=content, latency_ms=round(latency_ms, 3), tokens=p + c,
                cost_usd=round(cost, 8))


def modelled_latency_ms(prompt_tokens: int, completion_tokens: int) -> float:
    """Deterministic latency for the offline provider (it answers in microseconds, so wall time means nothing):
    150 ms to first token, 0.2 ms per prompt token, 12 ms per completion token."""
    return 150.0 + 0.2 * prompt_tokens + 12.0 * completion_tokens


class TargetAgent(ABC):
    """An agent under evaluation."""

    @property
    @abstractmethod
    def metadata(self) -> TargetMetadata:
        """Name, version, description, system prompt, tools and model."""

    @abstractmethod
    def respond(self, history: list[Turn], seed: int) -> Turn:
        """The assistant's next turn after ``history`` (which ends with a user turn), with its measurements."""

    def respond_turns(self, history: list[Turn], seed: int) -> list[Turn]:
        """Everything the agent does before the user's next turn: by default its reply; agents that use tools
        return their tool calls and the tools' results first."""
        return [self.respond(history, seed)]

    @property
    def ref(self) -> AgentRef:
        """``AgentRef`` of this target."""
        return self.metadata.ref


class TimedTarget(TargetAgent):
    """Base of adapters that call something real: latency is wall-clock time around ``_call``."""

    def __init__(self, metadata: TargetMetadata) -> None:
        self._metadata = metadata

    @property
    def metadata(self) -> TargetMetadata:
        """The adapter's metadata."""
        return self._metadata

    @abstractmethod
    def _call(self, messages: list[dict[str, str]], seed: int) -> tuple[str, dict[str, Any]]:
        """Return the reply text and usage (``prompt_tokens``/``completion_tokens`` when known; ``steps``: the
        tool-call and tool-result turns before the reply, when the agent reports them)."""

    def respond_turns(self, history: list[Turn], seed: int) -> list[Turn]:
        """Call the wrapped agent and measure it: its tool steps (when reported), then its reply."""
        messages = history_as_messages(history, self._metadata.system_prompt)
        start = time.perf_counter()
        text, usage = self._call(messages, seed)
        elapsed = (time.perf_counter() - start) * 1000
        prompt_text = "\n".join(m["content"] for m in messages)
        reply = measured_turn(text, self._metadata.model, elapsed, usage.get("prompt_tokens"),
                              usage.get("completion_tokens"), prompt_text)
        return [*usage.get("steps", []), reply]

    def respond(self, history: list[Turn], seed: int) -> Turn:
        """The agent's reply (its tool steps left out)."""
        return self.respond_turns(history, seed)[-1]
