"""The two sample customer-support agents under evaluation (see README.md beside this module).

Both send their system prompt (``agents/prompts/support_v1.md`` / ``support_v2.md``) and the conversation to
``get_chat_model(agent="support_v1" | "support_v2")``: a hosted model when one is configured, otherwise the offline
provider, whose text handler (``support_policy.support_reply``, registered by ``agents.targets.offline``) derives the
reply from that same prompt and conversation. Offline the latency is modelled (deterministic); with a hosted model it
is measured."""

from __future__ import annotations

import time

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents.prompts import load_prompt
from agents.targets.base import TargetAgent, TargetMetadata, estimate_tokens, measured_turn, modelled_latency_ms
from core.contracts import Turn
from core.offline_llm import OFFLINE_MODEL_NAME
from core.providers import chat_model_name, get_chat_model, is_hosted
from core.settings import get_settings

SUPPORT_TOOLS = ["order_lookup", "knowledge_lookup", "human_handoff"]
DESCRIPTIONS = {
    "v1": "Customer support assistant for Nimbus Workspace, a SaaS product: refunds, billing and duplicate charges, "
          "account access and password resets, data export, cancellations and troubleshooting, answered "
          "empathetically and step-by-step; can escalate to a human agent.",
    "v2": "Customer support assistant for Nimbus Workspace, a SaaS product: refunds, billing and duplicate charges, "
          "account access and password resets, data export, cancellations and troubleshooting. v2 verifies the "
          "order id before refunds, hands off to a human on request, cites policies and keeps replies short.",
}

PARAPHRASE_STYLE = "\n\n## Style\n- Use the alternative house wording."


class SupportAgent(TargetAgent):
    """A sample support agent; ``version`` selects the prompt (``support_<version>.md``); ``wording`` "paraphrased"
    asks for the alternative house wording (the same behaviour in other words, see ``support_wording``)."""

    name = "support"

    def __init__(self, version: str, wording: str = "default") -> None:
        if version not in DESCRIPTIONS:
            raise KeyError(f"unknown support agent version {version!r}; known: {sorted(DESCRIPTIONS)}")
        if wording not in ("default", "paraphrased"):
            raise ValueError(f"unknown wording {wording!r}: default or paraphrased")
        self.version = version
        self.wording = wording

    @property
    def metadata(self) -> TargetMetadata:
        """Metadata with the current prompt and the model the provider resolves to."""
        settings = get_settings()
        model = chat_model_name(settings) if is_hosted(settings) else OFFLINE_MODEL_NAME
        return TargetMetadata(name=self.name, version=self.version, description=DESCRIPTIONS[self.version],
                              system_prompt=load_prompt(f"support_{self.version}")
                              + (PARAPHRASE_STYLE if self.wording == "paraphrased" else ""), tools=list(SUPPORT_TOOLS),
                              model=model)

    def respond(self, history: list[Turn], seed: int) -> Turn:
        """Answer the conversation through the chat-model interface (``seed`` is unused: temperature 0)."""
        meta = self.metadata
        messages: list[BaseMessage] = [SystemMessage(meta.system_prompt)]
        messages += [HumanMessage(t.text) if t.role == "user" else AIMessage(t.text) for t in history]
        model = get_chat_model(agent=f"support_{self.version}")
        start = time.perf_counter()
        reply = model.invoke(messages)
        elapsed = (time.perf_counter() - start) * 1000
        text = reply.text
        usage = getattr(reply, "usage_metadata", None) or {}
        prompt_tokens = usage.get("input_tokens") or sum(estimate_tokens(m.text) for m in messages)
        completion_tokens = usage.get("output_tokens") or estimate_tokens(text)
        if reply.response_metadata.get("provider") == "offline":
            elapsed = modelled_latency_ms(prompt_tokens, completion_tokens)
        return measured_turn(text, meta.model, elapsed, prompt_tokens, completion_tokens)
