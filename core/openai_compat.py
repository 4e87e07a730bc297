"""The chat model of an OpenAI-compatible endpoint, with structured outputs in the form the server understands.

OpenAI, vLLM, Ollama and LM Studio take ``response_format`` of type ``json_schema`` (langchain-openai's default);
``function_calling`` uses tools; llama.cpp's server (llama-cpp-python) takes a ``json_object`` with a ``schema``
and constrains decoding to it by grammar (``json_object_schema``). Every agent calls ``with_structured_output``
the same way whichever it is.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import PydanticOutputParser
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from core.settings import Settings


class SchemaObjectChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` whose structured output is a ``json_object`` response constrained by a JSON ``schema``."""

    def with_structured_output(  # type: ignore[override]
        self, schema: type[BaseModel], *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[Any, Any]:
        """The model bound to answer ``schema`` as JSON, parsed into it."""
        if include_raw:
            raise NotImplementedError("include_raw is not supported with json_object_schema")
        bound = self.bind(response_format={"type": "json_object", "schema": schema.model_json_schema()})
        return bound | PydanticOutputParser(pydantic_object=schema)


class _Method(ChatOpenAI):
    """``ChatOpenAI`` with the structured-output method fixed by the settings."""

    structured_method: Literal["function_calling", "json_mode", "json_schema"] = "json_schema"

    def with_structured_output(  # type: ignore[override]
        self, schema: Any = None, *, method: Any = None, **kwargs: Any
    ) -> Runnable[Any, Any]:
        """``with_structured_output`` with the configured method."""
        return super().with_structured_output(schema, method=method or self.structured_method, **kwargs)


def compatible_chat_model(settings: Settings, api_key: str) -> BaseChatModel:
    """The chat model at ``settings.openai_base_url`` (temperature 0, the configured timeout and retries)."""
    common: dict[str, Any] = {"model": settings.openai_model, "base_url": settings.openai_base_url,
                              "api_key": api_key, "temperature": 0, "max_retries": settings.llm_max_retries,
                              "timeout": settings.llm_timeout_s}
    if settings.openai_structured_output == "json_object_schema":
        return SchemaObjectChatOpenAI(**common)
    return _Method(structured_method=settings.openai_structured_output, **common)
