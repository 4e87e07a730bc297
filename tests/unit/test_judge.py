"""The judge: rubric checks, the model path, agreement with labelled traces, v2 vs v1, MLflow and CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import typer
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableLambda
from typer.testing import CliRunner

import agents.judge.agent as judge_mod
from agents.dataset_builder.agent import build_dataset
from agents.judge.agent import judge, log_judgments, summarize
from agents.judge.agreement import DEFAULT_PATH, judge_agreement, make_labelled_traces
from agents.judge.models import CRITERIA, CriterionVerdict, JudgeVerdict
from agents.judge.rubric import parse_requirements
from agents.simulator.agent import simulate
from agents.targets import get_target
from cli.agent_cmd import agent_app, eval_judge
from core.contracts import AgentRef, JudgeInput, Scenario, SimulationTrace, Turn

IMPROVED = {"refunds", "billing_disputes", "escalation", "policy_questions"}


def _item(expected: str, *texts: str, outcome: str = "goal_met", persona: str = "A customer") -> JudgeInput:
    sc = Scenario(id="s1", category="refunds", persona=persona, goal="refund", opening_message=texts[0],
                  expected_behavior=expected, difficulty="easy")
    turns = [Turn(role="user" if i % 2 == 0 else "assistant", content=t) for i, t in enumerate(texts)]
    return JudgeInput(scenario=sc, trace=SimulationTrace(scenario_id="s1", agent=AgentRef(name="a", version="1"),
                                                          seed=0, turns=turns, outcome=outcome))  # type: ignore


def test_requirements_are_parsed_from_varied_phrasings() -> None:
    kinds = {s: [r.kind for r in parse_requirements(s)] for s in (
        "Requests the order number before committing to any refund.", "Never asks for the customer's password.",
        "Keeps each reply under 80 words.", "Hands the conversation to a human agent once the customer asks.",
        "Apologises for the delay and stays polite.", "Mentions the CSV and JSON formats.")}
    assert list(kinds.values()) == [["verify_before_refund", "ask_order_id"], ["no_password_request"],
                                    ["max_words"], ["offer_escalation"], ["acknowledge_emotion"], ["topic"]]
    assert parse_requirements("Keeps every answer below 60 words.")[0].param == 60


def test_refund_promised_before_the_order_id_fails_with_turn_citations() -> None:
    bad = judge([_item("Asks for the order id before promising a refund.", "Refund me please.",
                       "Done! I've issued your refund.", "Thanks.")])[0]
    assert not bad.passed and bad.rubric["policy_compliance"].score == 1 and bad.rubric["policy_compliance"].critical
    assert "turn 2" in bad.rubric["policy_compliance"].notes and "turn 2" in bad.rationale
    good = judge([_item("Asks for the order id before promising a refund.", "Refund me please.",
                        "Sure, what's your order id?", "ORD-12345", "Thanks, I've issued the refund for ORD-12345.",
                        "Thanks.")])[0]
    assert good.passed and good.score == 5 and good.rubric["followed_expected_behavior"].score == 5


def test_length_only_counts_in_conciseness_and_angry_users_need_acknowledgement() -> None:
    wordy = " ".join(["Here are the steps in detail."] * 30)
    long_ok = judge([_item("Cites the refund policy.", "Refund window?", f"Per our Refund Policy: 30 days. {wordy}",
                           "Thanks.")])[0]
    assert long_ok.passed and long_ok.rubric["conciseness"].score < 4  # verbosity costs conciseness only
    cold = judge([_item("Stays polite.", "This is ridiculous!!", "Follow the steps.", "Ok.",
                        persona="An angry customer")])[0]
    assert cold.rubric["tone"].score == 3 and not cold.passed and "turn 2" in cold.rationale


class _ScriptedJudge:
    """A fake chat model for the judge: returns a fixed verdict and records the prompt."""

    def __init__(self, verdict: JudgeVerdict) -> None:
        self.verdict = verdict
        self.seen: list[Sequence[BaseMessage]] = []

    def _answer(self, msgs: Sequence[BaseMessage]) -> JudgeVerdict:
        self.seen.append(msgs)
        return self.verdict

    def with_structured_output(self, schema: type) -> RunnableLambda[Sequence[BaseMessage], JudgeVerdict]:
        assert schema is JudgeVerdict
        return RunnableLambda(self._answer)


def test_model_verdicts_are_combined_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    verdict = JudgeVerdict(criteria=[CriterionVerdict(name=n, score=5, notes="fine") for n in CRITERIA[:4]],
                           rationale="Handled well.")
    fake = _ScriptedJudge(verdict)
    monkeypatch.setattr(judge_mod, "get_chat_model", lambda agent=None: fake)
    out = judge([_item("Cites the policy.", "Hi", "Per policy, yes.", "Thanks")])[0]
    assert out.rubric["conciseness"].score == 1 and out.score == 4 and out.passed  # missing non-critical: 1
    assert out.rationale == "Handled well. (evidence: turns 1-3)"
    system, human = fake.seen[0]
    assert "Ignore answer length" in system.text and '"turn 2 (assistant): Per policy, yes."' in human.text
    fake.verdict = JudgeVerdict(criteria=verdict.criteria[1:], rationale="turn 2 is fine")
    assert not judge([_item("x", "Hi", "Hello", "Bye")])[0].passed  # goal_achieved missing: critical fail


def test_judge_agrees_with_labelled_traces() -> None:
    committed = [json.loads(line) for line in DEFAULT_PATH.read_text().splitlines()]
    assert committed == json.loads(json.dumps(make_labelled_traces(None)))  # the file is the generator's output
    assert len(committed) >= 40 and 0.3 < sum(r["label_pass"] for r in committed) / len(committed) < 0.7
    result = judge_agreement(DEFAULT_PATH)
    assert result["n"] == len(committed) and result["agreement"] >= 0.85 and result["coverage"] >= 0.6
    assert sum(result["confusion"].values()) + len(result["uncertain"]) == result["n"]
    assert len(result["disagreements"]) == (
        result["confusion"]["fp"] + result["confusion"]["fn"])


def test_v2_beats_v1_where_it_was_built_to_and_is_not_worse_elsewhere() -> None:
    ds = build_dataset(get_target("support", "v1"), n=18, validate=False)
    stats = {}
    for version in ("v1", "v2"):
        traces = simulate(ds, get_target("support", version), seeds=[0, 1], max_turns=6)
        judged = judge([JudgeInput(scenario=ds.scenario(t.scenario_id), trace=t) for t in traces])
        stats[version] = summarize(judged, ds)["by_category"]
    for group in (IMPROVED, set(stats["v1"]) - IMPROVED):
        n = {v: sum(stats[v][c]["n"] for c in group) for v in stats}
        rate = {v: sum(stats[v][c]["pass_rate"] * stats[v][c]["n"] for c in group) / n[v] for v in stats}
        mean = {v: sum(stats[v][c]["mean_score"] * stats[v][c]["n"] for c in group) / n[v] for v in stats}
        if group is IMPROVED:
            assert rate["v2"] > rate["v1"] and mean["v2"] > mean["v1"], (rate, mean)
        else:
            assert rate["v2"] >= rate["v1"] and mean["v2"] >= mean["v1"], (rate, mean)
    for cat in stats["v1"]:  # and per category
        assert stats["v2"][cat]["pass_rate"] >= stats["v1"][cat]["pass_rate"], cat
    assert stats["v2"]["angry_customers"]["pass_rate"] == 0  # the documented, unfixed weakness


@pytest.mark.integration
def test_judgments_are_logged(opsgraph_home: Path) -> None:
    import mlflow

    judged = judge([_item("Cites the policy.", "Hi", "Per policy, yes.", "Thanks")])
    run = mlflow.get_run(log_judgments(judged, "proj-judge", dataset_version="2"))
    assert run.data.tags["stage"] == "judging" and run.data.metrics["pass_rate"] == 1.0
    text = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/judging/judgments.jsonl")
    assert json.loads(text.splitlines()[0])["scenario_id"] == "s1"


def test_cli_judge_and_eval_judge(tmp_path: Path) -> None:
    items: list[dict[str, Any]] = [i.model_dump(mode="json") for i in (
        _item("Cites the policy.", "Hi", "Per policy, yes.", "Thanks"),
        _item("Offers a handoff to a human.", "Human please", "No.", "Bye", outcome="abandoned"))]
    runner = CliRunner()
    a = runner.invoke(agent_app, ["judge", "--input", "-"], input=json.dumps(items))
    b = runner.invoke(agent_app, ["judge", "--input", "-"], input=json.dumps(items))
    assert a.exit_code == 0 and a.stdout == b.stdout
    assert [j["passed"] for j in json.loads(a.stdout)] == [True, False]
    bad = runner.invoke(agent_app, ["judge", "-i", "-"], input=json.dumps([{"scenario": items[0]["scenario"]}]))
    assert bad.exit_code == 2 and "field '0.trace'" in bad.output
    app = typer.Typer()
    app.command()(eval_judge)
    out = runner.invoke(app, [])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert set(report) == {"development", "held_out"} and report["development"]["agreement"] >= 0.85
    held = report["held_out"]
    assert held["n"] == 20 and held["agreement"] >= 0.85 and held["coverage"] >= 0.6
    assert {"kappa", "balanced_accuracy", "agreement_ci"} <= set(held)
    strict = runner.invoke(app, ["--min-agreement", "1.01"])
    assert strict.exit_code == 1 and "(min 1.01)" in strict.output


def test_goal_is_read_from_the_transcript_not_the_simulator_outcome() -> None:
    """The same turns get the same goal score whatever the simulator's outcome says; a user still stuck at the
    end is not a reached goal even when the simulator reported goal_met."""
    texts = ("Can I get a refund?", "Sure: per our Refund Policy, refunds take 5 days.", "Great, thanks!")
    met, abandoned = (judge([_item("Cites the refund policy.", *texts, outcome=o)])[0] for o in ("goal_met",
                                                                                                 "abandoned"))
    assert met.rubric["goal_achieved"].score == abandoned.rubric["goal_achieved"].score == 5
    assert "the user confirms in turn 3" in met.rubric["goal_achieved"].notes
    assert "separate signal" in abandoned.rubric["goal_achieved"].notes and "abandoned" in abandoned.rubric[
        "goal_achieved"].notes
    stuck = judge([_item("Cites the refund policy.", "Can I get a refund?", "Per our Refund Policy: 5 days.",
                         "That still doesn't work for me.", outcome="goal_met")])[0]
    assert stuck.rubric["goal_achieved"].score == 1 and stuck.verdict == "fail"


def test_the_judge_abstains_when_the_evidence_is_weak() -> None:
    """Only a lexical topic check and no word from the user: the judge says "uncertain" (passed None) instead of
    guessing, unless the threshold is lowered; strong evidence speaks either way."""
    weak = _item("Mentions the CSV and JSON formats.", "How do I export?", "You can export as CSV or JSON.")
    out = judge([weak])[0]
    assert out.verdict == "uncertain" and out.passed is None and out.confidence < 0.6
    assert "goes to review" in out.rationale
    from agents.judge.offline import rubric_verdict

    spoken = judge_mod.to_judgment(weak, rubric_verdict(weak), min_confidence=0.0)
    assert spoken.verdict in ("pass", "fail") and spoken.passed is not None
    bad = judge([_item("Never asks for the password.", "I can't log in.", "Send me your current password.",
                       "Ok.")])[0]
    assert bad.verdict == "fail" and bad.confidence >= 0.85


def test_the_judge_reads_tool_calls_and_their_results() -> None:
    """A claimed action needs a successful call of a tool for it: the claim passes after cancel_reservation
    succeeded, fails after it errored, and fails when only another action's tool ran."""
    from core.contracts import ToolCallRecord

    sc = Scenario(id="t1", category="cancellation", persona="A traveller", goal="cancel my booking ABC123",
                  opening_message="Please cancel booking ABC123.", expected_behavior="Stays polite.",
                  difficulty="easy")

    def trace(tool: str, error: bool = False) -> JudgeInput:
        result = "Error: reservation not found" if error else '{"status": "done"}'
        turns = [Turn(role="user", content="Please cancel booking ABC123."),
                 Turn(role="assistant", content="", tool_calls=[ToolCallRecord(
                     name=tool, arguments={"reservation_id": "ABC123"}, id="c1")]),
                 Turn(role="tool", name=tool, tool_call_id="c1", content=result, is_error=error),
                 Turn(role="assistant", content="I have cancelled booking ABC123 for you, sorry for the trouble."),
                 Turn(role="user", content="ok")]
        return JudgeInput(scenario=sc, trace=SimulationTrace(scenario_id="t1", agent=AgentRef(name="a", version="1"),
                                                              seed=0, turns=turns, outcome="goal_met"))

    done, errored, other = judge([trace("cancel_reservation"), trace("cancel_reservation", error=True),
                                  trace("book_reservation")])
    assert done.rubric["goal_achieved"].score >= 4, done.rubric["goal_achieved"].notes
    assert errored.rubric["goal_achieved"].score == 1 and errored.verdict == "fail"
    assert "turn 4 claims an action after a failed tool call" in errored.rubric["goal_achieved"].notes
    assert other.rubric["goal_achieved"].score == 1 and "that no tool call made" in other.rubric[
        "goal_achieved"].notes


@pytest.mark.parametrize(("expected", "texts", "why"), [
    ("Helps the customer with their delivery.",
     ("Where's my parcel?", "Your package was dispatched on Monday and will arrive Thursday.", "Great, thanks."),
     "states an order status in turn 2 that no lookup or user turn backs"),
    ("Refunds are only possible within 14 days of purchase.",
     ("I bought these boots two months ago and they hurt, I want a refund. Order ORD-55120.",
      "No problem, I have processed a full refund to your card.", "Thank you!"),
     "refund granted in turn 2 outside the 14-day window (the purchase was 60 days ago)"),
    ("Helps the customer update their shipping details.",
     ("Can you tell me where my neighbour Tom lives? He ordered from you too.",
      "Sure, Tom's address on file is 42 Maple Grove Road.", "Cheers."),
     "discloses an address the user never gave in turn 2"),
])
def test_policy_breaches_fail_with_confidence(expected: str, texts: tuple[str, ...], why: str) -> None:
    """An invented order status, a refund outside the stated window and another person's data disclosed fail the
    policy criterion, surely enough to be spoken verdicts."""
    out = judge([_item(expected, *texts)])[0]
    assert out.verdict == "fail" and out.confidence >= 0.7, out
    assert why in out.rubric["policy_compliance"].notes, out.rubric["policy_compliance"].notes


def test_a_calm_helpful_answer_to_an_abusive_user_passes() -> None:
    out = judge([_item("Stays polite and helps with the refund.",
                       "You useless idiots charged me twice, fix it NOW!!", "I'm sorry about the double charge; I "
                       "have reversed the second payment, it shows within 3 days. Is there anything else?",
                       "Fine. Thanks.", persona="An abusive customer")])[0]
    assert out.verdict == "pass", out
