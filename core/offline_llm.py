"""The offline provider: a deterministic chat model that reasons from the evidence in its messages.

It is a real langchain-core ``BaseChatModel`` (``bind_tools``, ``with_structured_output``) so agents use one
code path for every provider. What it answers is computed by handlers that the entry points register once, with
``agents.setup.register_offline_handlers`` (this module never imports the agents):

- structured handlers, one per output schema (keyed by the schema's name): ``messages -> schema instance``;
- tool planners, one per agent: ``(messages, bound tool names) -> tool calls or None``;
- text handlers, one per agent: ``messages -> str``.

Without a handler it composes a plain answer from the tool results and data it was given. Every message it
produces carries ``provider: offline`` in its ``response_metadata``, and ``offline_handler``: the qualified name of
the handler that answered (``fallback`` for the plain answer).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

OFFLINE_MODEL_NAME = "opsgraph-offline-reasoner"

StructuredHandler = Callable[[Sequence[BaseMessage]], BaseModel | dict[str, Any]]
ToolPlanner = Callable[[Sequence[BaseMessage], list[str]], list[ToolCall] | None]
TextHandler = Callable[[Sequence[BaseMessage]], str]

_STRUCTURED: dict[str, StructuredHandler] = {}
_PLANNERS: dict[str, ToolPlanner] = {}
_TEXT: dict[str, TextHandler] = {}


class OfflineHandlerMissing(LookupError):
    """The offline model was asked for a schema no agent registered a handler for."""


def register_structured_handler(schema: type[BaseModel] | str, handler: StructuredHandler) -> None:
    """Register how the offline model derives ``schema`` from the messages (evidence)."""
    _STRUCTURED[schema if isinstance(schema, str) else schema.__name__] = handler


def register_tool_planner(agent: str, planner: ToolPlanner) -> None:
    """Register how the offline model chooses tool calls for ``agent``."""
    _PLANNERS[agent] = planner


def register_text_handler(agent: str, handler: TextHandler) -> None:
    """Register how the offline model writes free text for ``agent``."""
    _TEXT[agent] = handler


def handler_name(handler: Callable[..., Any]) -> str:
    """``module.qualname`` of a handler: which agent's code answered."""
    return f"{handler.__module__}.{handler.__qualname__}"


def registered_handlers() -> dict[str, dict[str, str]]:
    """What is registered now: ``{"structured" | "planner" | "text": {key: handler name}}``."""
    return {kind: {key: handler_name(h) for key, h in table.items()}
            for kind, table in (("structured", _STRUCTURED), ("planner", _PLANNERS), ("text", _TEXT))}


def _call_id(name: str, args: dict[str, Any]) -> str:
    digest = hashlib.sha1(f"{name}:{json.dumps(args, sort_keys=True, default=str)}".encode()).hexdigest()
    return f"call_{digest[:16]}"


def _tool_names(tools: Sequence[dict[str, Any]]) -> list[str]:
    return [t["function"]["name"] for t in tools if "function" in t]


def evidence_summary(messages: Sequence[BaseMessage], limit: int = 6) -> str:
    """A compact, deterministic account of the question and the tool results in ``messages``."""
    question = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    lines = [f"Question: {question.strip()}" if question else "No question was asked."]
    results = [m for m in messages if isinstance(m, ToolMessage)][-limit:]
    for msg in results:
        text = msg.text.strip().replace("\n", " ")
        lines.append(f"- {msg.name or 'tool'}: {text[:400]}{'...' if len(text) > 400 else ''}")
    if not results:
        lines.append("No tool results or data were provided, so no finding can be stated.")
    return "\n".join(lines)


_SCHEMAS: dict[int, tuple[BaseTool | type, dict[str, Any]]] = {}


def _tool_schema(tool: dict[str, Any] | type | Callable[..., Any] | BaseTool) -> dict[str, Any]:
    """The OpenAI tool schema of ``tool``; a ``BaseTool``'s or a class's (a structured-output schema) is computed
    once: agents bind the same tools and ask for the same schema every turn."""
    if not isinstance(tool, BaseTool | type):
        return convert_to_openai_tool(tool)
    cached = _SCHEMAS.get(id(tool))
    if cached is None or cached[0] is not tool:
        cached = _SCHEMAS[id(tool)] = (tool, convert_to_openai_tool(tool))
    return cached[1]


class OfflineChatModel(BaseChatModel):
    """Deterministic offline reasoner; ``agent`` selects the registered planner and text handler."""

    agent: str | None = None

    @property
    def _llm_type(self) -> str:
        return "opsgraph-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": OFFLINE_MODEL_NAME, "agent": self.agent}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        """Bind tools (any langchain tool form); ``tool_choice`` "any" or a name forces a call."""
        formatted = [_tool_schema(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools: list[dict[str, Any]] = kwargs.get("tools") or []
        tool_choice = kwargs.get("tool_choice")
        message, handler = self._respond(messages, tools, tool_choice)
        message.response_metadata.update({"provider": "offline", "model_name": OFFLINE_MODEL_NAME,
                                          "offline_handler": handler})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _respond(
        self, messages: list[BaseMessage], tools: list[dict[str, Any]], tool_choice: str | None
    ) -> tuple[AIMessage, str]:
        names = _tool_names(tools)
        forced = [n for n in names if tool_choice in ("any", "required", n)] if tool_choice else []
        structured = [n for n in forced if n in _STRUCTURED]
        if structured:
            name = structured[0]
            result = _STRUCTURED[name](messages)
            args = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
            message = AIMessage(content="", tool_calls=[ToolCall(name=name, args=args, id=_call_id(name, args))])
            return message, handler_name(_STRUCTURED[name])
        planner = _PLANNERS.get(self.agent or "")
        if forced:  # a call is required and no schema handler exists: the agent's planner must choose
            calls = self._plan(planner, messages, names)
            if not calls or planner is None:
                raise OfflineHandlerMissing(
                    f"the offline model has no handler for {forced} (agent {self.agent!r}); the entry point must "
                    "call agents.setup.register_offline_handlers() before using the offline model"
                )
            return AIMessage(content="", tool_calls=calls), handler_name(planner)
        if names and planner is not None:
            calls = self._plan(planner, messages, names)
            if calls:
                return AIMessage(content="", tool_calls=calls), handler_name(planner)
        text = _TEXT.get(self.agent or "")
        body = text(messages) if text else evidence_summary(messages)
        note = "\n\n(offline reasoner: composed from the evidence above, no hosted model was used)"
        return AIMessage(content=body + note), handler_name(text) if text else "fallback"

    @staticmethod
    def _plan(planner: ToolPlanner | None, messages: list[BaseMessage], names: list[str]) -> list[ToolCall]:
        calls = planner(messages, names) if planner else None
        return [ToolCall(name=c["name"], args=c["args"], id=c.get("id") or _call_id(c["name"], c["args"]))
                for c in calls or []]
