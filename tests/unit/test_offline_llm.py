"""The offline chat model: structured outputs, tool planning and text, all derived from the messages."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from core.offline_llm import (
    OfflineChatModel,
    OfflineHandlerMissing,
    register_structured_handler,
    register_text_handler,
    register_tool_planner,
)


class WordCount(BaseModel):
    """How many words the question has and its longest word."""

    words: int
    longest: str


def _count(messages: Sequence[BaseMessage]) -> WordCount:
    text = next(m.text for m in reversed(messages) if isinstance(m, HumanMessage))
    words = text.split()
    return WordCount(words=len(words), longest=max(words, key=len))



@tool
def lookup(term: str) -> str:
    """Look a term up."""
    return term.upper()


def _plan(messages: Sequence[BaseMessage], names: list[str]) -> list[ToolCall] | None:
    if any(isinstance(m, ToolMessage) for m in messages):
        return None  # evidence is in: answer
    last = messages[-1].text
    return [ToolCall(name="lookup", args={"term": last.split()[-1]}, id=None)] if "lookup" in names else None


@pytest.fixture(autouse=True)
def unit_handlers() -> None:
    """This module's handlers, registered explicitly as an entry point would."""
    register_structured_handler(WordCount, _count)
    register_tool_planner("unit-agent", _plan)
    register_text_handler("unit-agent",
                          lambda msgs: "found " + next(m.text for m in msgs if isinstance(m, ToolMessage)))


def test_structured_output_is_computed_from_the_messages() -> None:
    model = OfflineChatModel().with_structured_output(WordCount)
    out = model.invoke([HumanMessage("why are llama requests timing out lately")])
    assert out == WordCount(words=7, longest="requests")
    other = model.invoke([HumanMessage("a bb")])
    assert other == WordCount(words=2, longest="bb")


def test_structured_output_raw_message_says_offline() -> None:
    model = OfflineChatModel().with_structured_output(WordCount, include_raw=True)
    out = model.invoke("one two three")
    raw = out["raw"]
    assert isinstance(raw, AIMessage)
    assert raw.response_metadata["provider"] == "offline"
    assert out["parsed"].words == 3


def test_missing_schema_handler_is_a_clear_error() -> None:
    class Unregistered(BaseModel):
        x: int

    with pytest.raises(OfflineHandlerMissing, match="Unregistered"):
        OfflineChatModel().with_structured_output(Unregistered).invoke("hi")


def test_tool_planning_then_answer_from_evidence() -> None:
    model = OfflineChatModel(agent="unit-agent").bind_tools([lookup])
    first = model.invoke([HumanMessage("please lookup latency")])
    assert isinstance(first, AIMessage)
    assert first.tool_calls[0]["name"] == "lookup" and first.tool_calls[0]["args"] == {"term": "latency"}
    assert first.tool_calls[0]["id"]
    result = ToolMessage(content=lookup.invoke(first.tool_calls[0]["args"]), tool_call_id=first.tool_calls[0]["id"])
    second = model.invoke([HumanMessage("please lookup latency"), first, result])
    assert not second.tool_calls
    assert "found LATENCY" in second.text and "offline" in second.text
    assert second.response_metadata["provider"] == "offline"


def test_default_text_summarises_tool_results_deterministically() -> None:
    msgs = [HumanMessage("what failed?"), ToolMessage(content='{"tool_error": 41}', tool_call_id="1", name="trends")]
    a = OfflineChatModel().invoke(msgs).text
    b = OfflineChatModel().invoke(msgs).text
    assert a == b
    assert "what failed?" in a and '"tool_error": 41' in a and "trends" in a
    empty = OfflineChatModel().invoke([HumanMessage("what failed?")]).text
    assert "No tool results" in empty
