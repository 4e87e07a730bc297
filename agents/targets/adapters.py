"""Adapters that make any agent a target: a Python callable, a compiled LangGraph graph or an OpenAI-compatible
chat endpoint. Latency is measured wall-clock time; tokens come from the reported usage when there is one."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from agents.targets.base import TargetMetadata, TimedTarget
from core.contracts import ToolCallRecord, Turn

Messages = list[dict[str, str]]


class CallableTarget(TimedTarget):
    """Wraps ``fn(messages) -> str`` where messages are OpenAI-style ``{"role", "content"}`` dicts."""

    def __init__(self, fn: Callable[[Messages], str], metadata: TargetMetadata) -> None:
        super().__init__(metadata)
        self._fn = fn

    def _call(self, messages: Messages, seed: int) -> tuple[str, dict[str, Any]]:
        out = self._fn(messages)
        if not isinstance(out, str):
            raise TypeError(f"target callable {self.metadata.name} returned {type(out).__name__}, expected str")
        return out, {}


class GraphTarget(TimedTarget):
    """Wraps a compiled LangGraph graph with a ``messages`` state: ``graph.invoke({"messages": [...]})``."""

    def __init__(self, graph: Any, metadata: TargetMetadata, config: dict[str, Any] | None = None) -> None:
        super().__init__(metadata)
        self._graph = graph
        self._config = config

    def _call(self, messages: Messages, seed: int) -> tuple[str, dict[str, Any]]:
        state = self._graph.invoke({"messages": messages}, config=self._config)
        new = state["messages"][len(messages):]  # this turn: the input messages come back first
        last = state["messages"][-1]
        text = str(last.get("content", "")) if isinstance(last, dict) else str(last.text)
        usage = getattr(last, "usage_metadata", None) or {}
        return text, {"prompt_tokens": usage.get("input_tokens"), "completion_tokens": usage.get("output_tokens"),
                      "steps": tool_turns(new[:-1])}


def tool_turns(messages: Sequence[Any]) -> list[Turn]:
    """LangChain messages of one agent turn as transcript turns: tool calls on assistant turns, tool results as
    ``tool`` turns (errors marked); plain texts in between stay assistant turns."""
    from langchain_core.messages import AIMessage, ToolMessage

    out = []
    for m in messages:
        if isinstance(m, AIMessage):
            out.append(Turn(role="assistant", content=m.text, tool_calls=[
                ToolCallRecord(name=c["name"], arguments=dict(c.get("args") or {}), id=c.get("id"))
                for c in m.tool_calls]))
        elif isinstance(m, ToolMessage):
            out.append(Turn(role="tool", content=m.text, name=m.name, tool_call_id=m.tool_call_id,
                            is_error=getattr(m, "status", "success") == "error"))
    return out


class OpenAICompatibleTarget(TimedTarget):
    """POSTs to ``{base_url}/chat/completions`` (OpenAI wire format), only when configured."""

    def __init__(self, base_url: str, model: str, metadata: TargetMetadata, api_key: str | None = None,
                 timeout_s: float = 60.0) -> None:
        super().__init__(metadata)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self._timeout = timeout_s

    def _call(self, messages: Messages, seed: int) -> tuple[str, dict[str, Any]]:
        import httpx

        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        body = {"model": self.model, "messages": messages, "temperature": 0, "seed": seed}
        resp = httpx.post(f"{self.base_url}/chat/completions", json=body, headers=headers, timeout=self._timeout)
        resp.raise_for_status()
        data = resp.json()
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"{self.base_url} did not answer in the chat-completions format: {data!r:.200}") from exc
        usage = data.get("usage") or {}
        return str(text or ""), {"prompt_tokens": usage.get("prompt_tokens"),
                                 "completion_tokens": usage.get("completion_tokens")}


def import_ref(ref: str) -> Any:
    """Import ``package.module:attribute`` (the attribute may be a zero-argument factory's name ending in ``()``)."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ValueError(f"expected 'package.module:attribute', got {ref!r}")
    factory = attr.endswith("()")
    obj = getattr(importlib.import_module(module_name), attr.removesuffix("()"))
    return obj() if factory else obj
