"""The feedback agent's offline handler: scenario ideas derived from each theme's exemplars (the user's real
request, its signals and failure type, the theme's category)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from agents.dataset_builder.scenario_bank import FAILURE_EXPECTATIONS, category_for_topic, slug, spec_for
from agents.feedback.models import FeedbackScenarioDraft, ScenarioIdea, ScenarioIdeasRequest
from analytics.feedback_stats import strip_lead_in
from core.evidence import request_of
from core.offline_llm import register_structured_handler

_VERBS = {"escalated": "escalated to a human", "negative_feedback": "left negative feedback",
          "reported_issue": "reported an issue", "failed": "hit a failure"}


def _idea(t: dict[str, Any], ex: dict[str, Any]) -> ScenarioIdea:
    """A scenario from one exemplar: its request, its own signals and failure type, the theme's category."""
    text, signals = ex["text"], [s for s in ex.get("signals", []) if s in _VERBS] or ["negative_feedback"]
    category = (category_for_topic(strip_lead_in(text)) or t.get("category")
                or f"feedback_{slug(' '.join(t['keywords'][:2]) or 'theme')}")
    ftype = ex.get("failure_type") if ex.get("failure_type") not in (None, "none") else None
    spec = spec_for(category)
    expected = [FAILURE_EXPECTATIONS.get(ftype or "", ""), spec.situations[0][4] if spec else "",
                "Offers a handoff to a human agent when asked." if "escalated" in signals else "",
                "Resolves the request and stays polite."]
    sentences = list(dict.fromkeys(s.strip().rstrip(".") + "." for e in expected for s in e.split(". ") if s.strip()))
    where = str(ex.get("use_case") or "production").replace("_", " ")
    user = f"{'An' if where[:1] in 'aeiou' else 'A'} {where} user"
    did = " and ".join(_VERBS[s] for s in signals if s != "failed")
    return ScenarioIdea(
        theme_id=t["theme_id"], interaction_ids=[ex["interaction_id"]], category=category,
        persona=f"{user} who {did or _VERBS['failed']}" + (f" after a {ftype} failure" if ftype else "")
                + f" (theme: {', '.join(t['keywords'][:3]) or t['theme_id']})",
        goal=f"Get a correct, complete answer to: {strip_lead_in(text)[:160]}", opening_message=text,
        expected_behavior=" ".join(sentences), difficulty="hard" if ftype else "medium",
        failure_types=sorted({*([ftype] if ftype else []), *(spec.failure_types if spec else ())}))


def draft_offline(messages: Sequence[BaseMessage]) -> FeedbackScenarioDraft:
    """The offline feedback model: up to ``per_theme`` scenario ideas per theme of the request."""
    req = request_of(messages, ScenarioIdeasRequest)
    return FeedbackScenarioDraft(scenarios=[_idea(t, ex) for t in req.themes
                                            for ex in t.get("exemplars", [])[:req.per_theme]])


def register_offline_handlers() -> None:
    """Register the feedback agent's offline handler with the offline model."""
    register_structured_handler(FeedbackScenarioDraft, draft_offline)


