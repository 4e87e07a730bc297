"""The naive keyword baseline (as a seed project routes): a keyword list per agent, first match wins.

Agents are tried in ``KEYWORDS`` order and the first agent with a keyword contained in the lower-cased request
wins; nothing matching means ``general``. Kept as the baseline that ``opsgraph eval routing`` compares against.
"""

from __future__ import annotations

from agents.registry import DEFAULT_AGENT
from agents.routing.models import RouteDecision

KEYWORDS: dict[str, tuple[str, ...]] = {
    "failure": ("error", "fail", "timeout", "timed out", "crash", "exception", "hallucinat", "safety", "incident",
                "broken", "outage", "refusal", "blocked"),
    "performance": ("latency", "slow", "cost", "token", "p95", "p99", "spend", "throughput", "fast", "expensive",
                    "budget", "response time"),
    "dataset_builder": ("dataset", "scenario", "test case", "test set", "eval set"),
    "simulator": ("simulat", "run the", "role-play"),
    "judge": ("judge", "grade", "score", "rubric", "rate "),
    "analyst": ("report", "pass rate", "analy", "summary", "aggregate"),
    "comparator": ("compare", "comparison", " vs ", "versus", "a/b", "significan", "better"),
    "feedback": ("feedback", "complain", "escalat", "rating", "thumbs", "csat", "nps"),
}


def keyword_route(q: str) -> str:
    """The first agent (in ``KEYWORDS`` order) with a keyword in ``q``; ``general`` when none matches."""
    text = q.lower()
    for agent, words in KEYWORDS.items():
        if any(w in text for w in words):
            return agent
    return DEFAULT_AGENT


class KeywordRouter:
    """``keyword_route`` behind the same ``predict`` interface as ``agents.routing.router.Router``."""

    def predict(self, q: str) -> RouteDecision:
        """Route one request by keywords."""
        agent = keyword_route(q)
        return RouteDecision(agent=agent, confidence=1.0, method="keyword",  # type: ignore[arg-type]
                             reason="first matching keyword" if agent != DEFAULT_AGENT else "no keyword matched")

    def predict_many(self, qs: list[str]) -> list[RouteDecision]:
        """Route many requests by keywords."""
        return [self.predict(q) for q in qs]
