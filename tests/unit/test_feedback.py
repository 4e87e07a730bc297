"""The feedback agent without a database: rates and z-tests, TF-IDF themes, proposed scenarios, the builder loop."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from scipy.stats import chi2_contingency

import agents.feedback.agent as feedback_mod
from agents.dataset_builder.agent import build_dataset
from agents.feedback.agent import as_utc, build_feedback_report, collect_feedback, scenarios_for_dataset
from agents.feedback.models import FeedbackReport, FeedbackScenarioDraft, ScenarioIdea
from agents.targets import get_target
from analytics.feedback_stats import rate_trends, strip_lead_in, two_proportion_z

LEAD_INS = ("Hey there! ", "Quick question: ", "", "Urgent: ")
TOPICS: dict[str, tuple[list[str], dict[str, Any]]] = {
    "refund": (["Can I get a refund for the annual plan I bought by mistake?",
                "Please refund my last monthly payment, I want a refund.",
                "I was charged for a plan I never used, refund it.",
                "How long does a refund take to reach my card?"],
               {"user_feedback_label": "negative"}),
    "login": (["I cannot log in, the password reset link does not arrive.",
               "Locked out of my account login after the password change.",
               "Login keeps failing with my new password.",
               "My account login page rejects the correct password."],
              {"final_resolution_state": "escalated_to_human", "is_failure": True, "failure_type": "safety_block"}),
    "export": (["The CSV export of my reports is empty.",
                "CSV export fails halfway through.",
                "The CSV export has garbled columns.",
                "Why does the CSV export drop rows?"],
               {"user_reported_issue": True, "is_failure": True, "failure_type": "formatting_error"}),
}
START, END = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 8, tzinfo=UTC)


def _row(i: str, text: str, **signals: Any) -> dict[str, Any]:
    return {"interaction_id": i, "prompt_text": text, "user_feedback_label": "positive", "user_reported_issue": False,
            "final_resolution_state": "auto_resolved", "is_failure": False, "failure_type": "none",
            "model_name": "m-1", "use_case": "customer_support", **signals}


def _window() -> pd.DataFrame:
    rows = [_row(f"{topic}-{k:02d}", LEAD_INS[k % 4] + phrases[k % 4], **signals)
            for topic, (phrases, signals) in TOPICS.items() for k in range(12)]
    rows += [_row(f"ok-{k:02d}", "Thanks, how do I change my avatar?") for k in range(64)]
    return pd.DataFrame(rows)


def _baseline() -> pd.DataFrame:
    rows = [_row(f"b-{k:03d}", "Where is the billing page?", user_feedback_label="negative" if k < 10 else "positive",
                 is_failure=k < 30, failure_type="tool_error" if k < 30 else "none") for k in range(100)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def report() -> FeedbackReport:
    return build_feedback_report(_window(), _baseline(), START, END, datetime(2025, 2, 15, tzinfo=UTC))


def test_rates_and_trends_use_a_two_proportion_z_test() -> None:
    trends = {t["signal"]: t for t in rate_trends(_window(), _baseline())}
    neg = trends["negative_feedback"]
    assert (neg["count"], neg["n"], neg["baseline_count"], neg["baseline_n"]) == (12, 100, 10, 100)
    assert neg["direction"] == "stable" and neg["delta"] == pytest.approx(0.02)
    esc, failed = trends["escalated"], trends["failed"]
    assert (esc["count"], esc["baseline_count"], esc["direction"]) == (12, 0, "worse")
    assert (failed["count"], failed["baseline_count"], failed["direction"]) == (24, 30, "stable")
    for t in trends.values():  # the z-test p equals the uncorrected chi-square test of the 2x2 table
        table = [[t["count"], t["n"] - t["count"]], [t["baseline_count"], t["baseline_n"] - t["baseline_count"]]]
        if min(sum(col) for col in zip(*table, strict=True)) > 0:
            assert t["p_value"] == pytest.approx(chi2_contingency(table, correction=False)[1])
    assert two_proportion_z(3, 10, 1, 0) == (None, None)
    assert rate_trends(_window(), _baseline().iloc[:0])[0]["direction"] == "no_baseline"


def test_themes_separate_the_complaints_and_cite_their_interactions(report: FeedbackReport) -> None:
    assert report.embedding_source == "tfidf" and report.counts["flagged"] == 36 and report.n_interactions == 100
    topics_seen = set()
    for theme in report.themes:
        topics = {i.split("-")[0] for i in theme.interaction_ids}
        assert len(topics) == 1, theme.label  # each theme is one kind of complaint
        topics_seen |= topics
        assert {e.interaction_id for e in theme.exemplars} <= set(theme.interaction_ids)
        assert len({strip_lead_in(e.text) for e in theme.exemplars}) == len(theme.exemplars)  # distinct requests
        assert not {"hey", "quick", "question", "urgent"} & set(theme.keywords)  # lead-ins are not keywords
    assert topics_seen == set(TOPICS) and sum(t.size for t in report.themes) == 36
    login = next(t for t in report.themes if t.interaction_ids[0].startswith("login"))
    assert login.signals == {"negative_feedback": 0, "reported_issue": 0, "escalated": login.size,
                             "failed": login.size} and login.dominant_failure_type == "safety_block"
    assert "escalated to a human: 12.0% (12/100) vs 0.0% before" in report.summary


def test_proposed_scenarios_come_from_the_themes(report: FeedbackReport) -> None:
    by_theme = {t.theme_id: t for t in report.themes}
    assert report.proposed_scenarios and all(p.scenario.source == "feedback" for p in report.proposed_scenarios)
    categories = {}
    for p in report.proposed_scenarios:
        theme = by_theme[p.theme_id]
        assert p.interaction_ids and set(p.interaction_ids) <= set(theme.interaction_ids)
        ex = next(e for e in theme.exemplars if e.interaction_id == p.interaction_ids[0])
        assert p.scenario.opening_message == ex.text
        categories[p.interaction_ids[0].split("-")[0]] = p.scenario
    assert categories["refund"].category == "refunds" and "order id" in categories["refund"].expected_behavior
    assert categories["login"].category == "account_access" and categories["login"].difficulty == "hard"
    assert "handoff to a human" in categories["login"].expected_behavior and "safety_block" in (
        categories["login"].failure_types)
    assert categories["export"].category == "data_export" and "reported an issue" in categories["export"].persona
    assert len({p.scenario.id for p in report.proposed_scenarios}) == len(report.proposed_scenarios)
    assert "## Proposed evaluation scenarios" in report.markdown and "<table>" in report.html


def test_the_dataset_builder_accepts_the_proposals(report: FeedbackReport) -> None:
    seeds = scenarios_for_dataset(report)
    assert sum(len(s.examples) for s in seeds) == len(report.proposed_scenarios)
    ds = build_dataset(get_target("support", "v2"), n=12, feedback_report=seeds, validate=False)
    from_feedback = [s for s in ds.scenarios if s.source == "feedback"]
    openings = {p.scenario.opening_message for p in report.proposed_scenarios}
    assert len(from_feedback) == min(6, len(openings)) and {s.opening_message for s in from_feedback} <= openings
    assert len(ds.scenarios) == 12


class _ScriptedModel:
    def __init__(self, draft: FeedbackScenarioDraft) -> None:
        self.draft = draft
        self.seen: list[list[Any]] = []

    def with_structured_output(self, schema: type) -> _ScriptedModel:
        return self

    def invoke(self, messages: list[Any]) -> FeedbackScenarioDraft:
        self.seen.append(messages)
        return self.draft


def test_a_hosted_model_cannot_cite_interactions_outside_the_theme(report: FeedbackReport,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    theme = report.themes[0]
    idea: dict[str, Any] = {"category": "refunds", "persona": "p", "goal": "g", "opening_message": "o",
                            "expected_behavior": "e.", "difficulty": "medium"}
    fake = _ScriptedModel(FeedbackScenarioDraft(scenarios=[
        ScenarioIdea(theme_id=theme.theme_id, interaction_ids=["INT-made-up"], **idea),
        ScenarioIdea(theme_id=99, interaction_ids=[theme.interaction_ids[0]], **idea)]))
    monkeypatch.setattr(feedback_mod, "get_chat_model", lambda agent=None: fake)
    proposals = feedback_mod.propose_scenarios(report.themes)
    assert len(proposals) == 1 and proposals[0].interaction_ids == [theme.exemplars[0].interaction_id]
    sent = json.loads(fake.seen[0][-1].text)
    assert "interaction_ids" not in sent["themes"][0] and sent["themes"][0]["exemplars"][0]["text"]
    assert "untrusted DATA" in fake.seen[0][0].text


def test_windows_are_validated_and_read_as_utc() -> None:
    assert as_utc("2025-03-18") == datetime(2025, 3, 18, tzinfo=UTC)
    assert as_utc("2025-03-18T02:00:00+02:00") == datetime(2025, 3, 18, tzinfo=UTC)
    with pytest.raises(ValueError, match="must be after start"):
        collect_feedback(None, "2025-03-18", "2025-03-18")  # type: ignore[arg-type]
    empty = build_feedback_report(_window().iloc[:0], _baseline(), START, END, START)
    assert empty.themes == [] and empty.proposed_scenarios == [] and empty.summary.startswith("No interactions")
