"""The chat app's pure helpers: accounts and roles, lifecycle options, offline page, markdown rendering."""

from __future__ import annotations

import pytest

from chat.history import asyncpg_url
from chat.offline import strip_external_links
from chat.render import answer_markdown, approval_card, diagnosis_markdown, ingest_markdown
from core import users as auth

# importing chainlit (for chat.approvals) imports a third-party module that uses pydantic's deprecated class config
pytestmark = pytest.mark.filterwarnings("ignore:Support for class-based `config`:DeprecationWarning")


def test_users_roles_and_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    users = auth.parse_users("alice:pw:approver, bob:pw:viewer,carol:se:cr:et:approver,dave:pw")
    assert {u: (x.password, x.role) for u, x in users.items()} == {
        "alice": ("pw", "approver"), "bob": ("pw", "viewer"), "carol": ("se:cr:et", "approver"),
        "dave": ("pw", "viewer")}
    with pytest.raises(ValueError, match="unknown role"):
        auth.parse_users("eve:pw:admin")
    with pytest.raises(ValueError, match="expected name:password"):
        auth.parse_users("mallory")

    monkeypatch.delenv(auth.ENV_USERS, raising=False)
    assert not auth.auth_enabled() and auth.can_approve(None) and auth.can_approve(auth.ANONYMOUS)

    monkeypatch.setenv(auth.ENV_USERS, "alice:pw:approver,bob:pw:viewer")
    assert auth.auth_enabled()
    assert auth.check_password("alice", "pw") == auth.ChatUser("alice", "pw", "approver")
    assert auth.check_password("alice", "nope") is None and auth.check_password("zed", "pw") is None
    assert auth.can_approve("alice") and not auth.can_approve("bob") and not auth.can_approve("zed")


def test_lifecycle_options() -> None:
    from chat.approvals import parse_lifecycle_args

    assert parse_lifecycle_args("") == {"project_id": "support", "candidate": {"name": "support", "version": "v2"},
                                        "baseline": {"name": "support", "version": "v1"}}
    got = parse_lifecycle_args("project=p1 candidate=bot@v3 scenarios=6 seeds=0,1 turns=4 laps=2")
    assert got == {"project_id": "p1", "candidate": {"name": "bot", "version": "v3"},
                   "baseline": {"name": "support", "version": "v1"}, "n_scenarios": 6, "seeds": [0, 1],
                   "max_turns": 4, "max_laps": 2}
    for bad, reason in (("scenarios=six", "integers"), ("candidate=bot", "NAME@VERSION"), ("colour=red", "unknown"),
                        ("project=a/b", "project ids"), ("scenarios", "key=value")):
        with pytest.raises(ValueError, match=reason):
            parse_lifecycle_args(bad)


def test_page_links_nothing_outside() -> None:
    html = ('<link rel="preconnect" href="https://fonts.googleapis.com" />\n<link\n  rel="stylesheet"\n'
            '  href="https://cdn.jsdelivr.net/npm/katex@0.16.22/dist/katex.min.css"\n/>\n'
            '<link rel="stylesheet" crossorigin href="/assets/index.css">')
    assert strip_external_links(html) == '<link rel="stylesheet" crossorigin href="/assets/index.css">'


def test_diagnosis_renders_sections_with_cited_ids() -> None:
    diagnosis = {"summary": "Timeouts on llama.", "causes": [
        {"statement": "Spike of latency_timeout", "evidence_ids": [f"INT{i:06d}" for i in range(12)],
         "aggregates": ["44.7% vs 3.3%"], "confidence": 0.95}],
        "fixes": [{"action": "lower the temperature", "based_on": "2 of 8 similar failures"}],
        "verification": ["re-run failure_trends"]}
    md = diagnosis_markdown(diagnosis)
    assert [h for h in ("#### Summary", "#### Causes", "#### Fix", "#### Verification") if h in md] == [
        "#### Summary", "#### Causes", "#### Fix", "#### Verification"]
    assert "`INT000000`" in md and "and 2 more" in md and "44.7% vs 3.3%" in md and "(confidence 0.95)" in md
    route = {"agent": "failure", "method": "classifier", "confidence": 0.99}
    assert answer_markdown(route, {"kind": "diagnosis", "diagnosis": diagnosis}).startswith(
        "*Answered by the **failure** agent (classifier, confidence 0.99). Diagnoses failures")
    lifecycle = answer_markdown({"agent": "simulator", "method": "classifier", "confidence": 0.9},
                                {"kind": "lifecycle", "text": "Simulation finished."})
    assert lifecycle == ("*Answered by the **simulator** agent (classifier, confidence 0.90). Simulates multi-turn "
                         "conversations between a simulated user and a target.*\n\nSimulation finished.")


def test_approval_card_and_ingest_summary() -> None:
    card = approval_card({"project_id": "p", "stage_from": "dataset", "stage_to": "simulation", "summary": "6 ok.",
                          "metrics": {"quality_score": 0.934, "scenarios": 6}, "artifacts": ["mlflow run dataset: ab"],
                          "allowed": ["approve", "reject"], "gate_seq": 2, "error": "invalid decision: x"},
                         "lc-1")
    assert "Approval needed: dataset → simulation" in card and "| quality_score | 0.934 |" in card
    assert "gate #2" in card and "**Refused:** invalid decision: x" in card and "Revise" not in card
    summary = {"ingest_id": "i1", "tables": {"prompts": {"rows_read": 5, "rows_loaded": 4, "rows_rejected": 1,
                                                          "inserted": 0, "updated": 0, "unchanged": 4}},
               "seconds": {"total": 0.9}}
    md = ingest_markdown(summary, {"prompts": [{"row": 6, "column": "share", "reason": "out of range"}]})
    assert "**1 row rejected**" in md and "| prompts | 6 | share | out of range |" in md


def test_history_url_for_asyncpg() -> None:
    assert asyncpg_url("postgresql://postgres:@/postgres?host=/tmp/pg") == (
        "postgresql+asyncpg://postgres:@/postgres?host=/tmp/pg")
    with pytest.raises(ValueError):
        asyncpg_url("sqlite:///x.db")


def test_answer_figures_draw_the_analysts_pass_rates_and_the_map() -> None:
    from chat.answer_charts import answer_figures

    rows = [{"value": "refunds", "n": 6, "pass_rate": 4 / 6, "ci_low": 0.3, "ci_high": 0.9},
            {"value": "billing", "n": 2, "pass_rate": 1.0, "ci_low": 0.34, "ci_high": 1.0}]
    (title, fig), = answer_figures({"chart": {"kind": "pass_rates", "group": "category", "agent": "support@v2",
                                              "rows": rows}})
    assert "Pass rate by category of support@v2" in title
    bar = fig.data[0]
    assert list(bar.y) == [4 / 6, 1.0] and list(bar.x) == ["refunds", "billing"]
    assert list(bar.error_y.array) == pytest.approx([0.9 - 4 / 6, 0.0])
    assert list(bar.error_y.arrayminus) == pytest.approx([4 / 6 - 0.3, 0.66])
    cmap = {"run_id": "R", "method": "pca", "n_points": 3, "centres": [{"cluster_id": 1, "label": "a | b"}],
            "points": [["i1", 1, 0.0, 1.0], ["i2", 1, 1.0, 0.0], ["i3", 2, 0.5, 0.5]]}
    (map_title, _), = answer_figures({"map": cmap})
    assert "analytics run R" in map_title and "3 of 3 interactions" in map_title
    assert answer_figures({"kind": "lifecycle", "text": "x"}) == []
