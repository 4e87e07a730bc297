"""The sample targets' offline handlers: each support version's reply from its prompt and the conversation."""

from __future__ import annotations

from agents.targets.support import DESCRIPTIONS
from agents.targets.support_policy import support_reply
from core.offline_llm import register_text_handler


def register_offline_handlers() -> None:
    """Register the offline reply of every sample support version (``support_v1``, ``support_v2``)."""
    for version in DESCRIPTIONS:
        register_text_handler(f"support_{version}", support_reply)
