"""How agents hand evidence to a chat model: one typed request in the last human message.

Hosted models read the request as JSON text (the message content). The offline model's handlers read the same
request as typed data from the message (``request_of``), never by parsing the text back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeVar

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

EVIDENCE_KEY = "opsgraph_request"
M = TypeVar("M", bound=BaseModel)


def _typed(message: BaseMessage, payload: BaseModel) -> BaseMessage:
    message.additional_kwargs[EVIDENCE_KEY] = payload
    return message


def request_message(payload: BaseModel) -> HumanMessage:
    """A human message whose text is ``payload`` as JSON and which carries ``payload`` itself for offline handlers."""
    text = json.dumps(payload.model_dump(mode="json"), sort_keys=True, default=str)
    return _typed(HumanMessage(text), payload)  # type: ignore[return-value]


def context_message(prompt: str, label: str, payload: BaseModel) -> SystemMessage:
    """A system message: ``prompt``, then ``label`` and ``payload`` as JSON; it carries ``payload`` typed."""
    text = f"{prompt}\n\n{label}{json.dumps(payload.model_dump(mode='json'), default=str)}"
    return _typed(SystemMessage(text), payload)  # type: ignore[return-value]


def request_of(messages: Sequence[BaseMessage], schema: type[M]) -> M:
    """The latest typed request of type ``schema`` carried by ``messages``.

    A request that went through a checkpoint may come back as a plain dict; it is validated into ``schema``.
    A ``LookupError`` names the schema when no message carries one.
    """
    for message in reversed(messages):
        value = message.additional_kwargs.get(EVIDENCE_KEY)
        if isinstance(value, schema):
            return value
        if isinstance(value, dict):
            try:
                return schema.model_validate(value)
            except ValidationError:
                continue
    raise LookupError(f"no message carries a {schema.__name__} request")
