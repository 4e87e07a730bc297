"""The comparator's offline handler: the recommendation paragraph written from the comparison's numbers."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from agents.comparator.models import RecommendationRequest
from analytics.judgment_stats import recommendation_text
from core.evidence import request_of
from core.offline_llm import register_text_handler


def recommendation_offline(messages: Sequence[BaseMessage]) -> str:
    """The offline comparator model: ``recommendation_text`` of the comparison in the request."""
    return recommendation_text(request_of(messages, RecommendationRequest).comparison)


def register_offline_handlers() -> None:
    """Register the comparator's offline handler with the offline model."""
    register_text_handler("comparator", recommendation_offline)
