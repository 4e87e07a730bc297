"""The judge's review queue and its alignment with a person's labels, on the real embedded Postgres.

The traces are written here from a rule the judge does not know: the person passes a refund-window answer only
when it also apologises for the trouble (the scenario's expected behaviour says nothing about apologies). So the
unaligned judge disagrees with the person on the answers that state the window without an apology, and alignment
must learn the person's standard from 8 labels to agree on the other traces."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.contracts import AgentRef, JudgeInput, Scenario, SimulationTrace, Turn

pytestmark = pytest.mark.integration

OPENINGS = ["Can I still return the blender I bought?", "I want my money back for the headphones.",
            "Is it too late to get a refund on my order?", "How long do I have to send a jacket back?",
            "My kettle broke, can I return it?", "Do you refund unopened items?"]
APOLOGY = ["Sorry for the trouble with your order.", "I'm sorry this didn't work out.",
           "Apologies for the hassle."]
WINDOW = ["You can return it within 30 days of delivery for a full refund.",
          "Returns are accepted up to 30 days after delivery, refunded in full.",
          "Our refund window is 30 days from the day it arrived."]
OTHER = ["Please check the help centre for details.", "Let me know if there is anything else.",
         "You can find more on our website."]


def _items() -> tuple[list[JudgeInput], dict[str, bool]]:
    items, labels = [], {}
    for n, (opening, apology, window) in enumerate(itertools.product(OPENINGS, (True, False), (True, False))):
        reply = " ".join([APOLOGY[n % 3]] * apology + [WINDOW[n % 3] if window else OTHER[n % 3]])
        sid = f"ret-{n:02d}"
        sc = Scenario(id=sid, category="refunds" if n % 2 else "returns", persona="A customer", goal=opening,
                      opening_message=opening, expected_behavior="States the 30-day refund window.",
                      difficulty="easy")
        turns = [Turn(role="user", content=opening), Turn(role="assistant", content=reply),
                 Turn(role="user", content="Thanks.")]
        items.append(JudgeInput(scenario=sc, trace=SimulationTrace(scenario_id=sid, agent=AgentRef(
            name="shop", version="v1"), seed=0, turns=turns, outcome="goal_met")))
        labels[sid] = apology and window
    return items, labels


def test_align_with_eight_labels_agrees_on_the_rest(fresh_database: str, tmp_path: Path) -> None:
    from agents.judge.agent import judge
    from agents.judge.align import agreement_report
    from cli.main import app

    items, labels = _items()
    train = [i for i in items if i.scenario.id in {"ret-00", "ret-01", "ret-02", "ret-03", "ret-04", "ret-05",
                                                   "ret-06", "ret-07"}]
    rest = [i for i in items if i not in train]
    before = judge(rest)
    truth = [labels[i.scenario.id] for i in rest]
    unaligned = agreement_report(truth, [j.passed for j in before])
    assert unaligned["agreement"] is not None and unaligned["agreement"] < 0.8, unaligned  # it does not know

    (tmp_path / "in.json").write_text(json.dumps([i.model_dump(mode="json") for i in train]))
    (tmp_path / "labels.json").write_text(json.dumps({i.scenario.id: {"label": labels[i.scenario.id],
                                                                      "comment": "apologise first"} for i in train}))
    result = CliRunner().invoke(app, ["judge", "align", "-i", str(tmp_path / "in.json"), "--labels",
                                      str(tmp_path / "labels.json"), "--project", "shop", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n_labels"] == 8 and set(report["aligned_cross_validated"]) >= {"agreement", "coverage", "kappa"}

    after = judge(rest, project="shop")
    aligned = agreement_report(truth, [j.passed for j in after])
    assert aligned["agreement"] >= 0.85 and aligned["coverage"] >= 0.6, aligned
    assert all("Aligned judge of project shop (8 labels)" in j.rationale for j in after)
    assert judge(rest, project="another")[0].rationale == before[0].rationale  # projects do not share it


def test_uncertain_verdicts_wait_in_the_review_queue_until_labelled(fresh_database: str) -> None:
    from agents.judge.agent import judge, log_judgments
    from cli.main import app
    from services.judge_reviews import labelled
    from tests.fixtures.judge_items import uncertain_item

    item = uncertain_item()
    judgments = judge([item])
    assert judgments[0].verdict == "uncertain"
    log_judgments(judgments, "queue-test", items=[item])
    log_judgments(judgments, "queue-test", items=[item])  # another run: queued again, as its own item
    listed = json.loads(CliRunner().invoke(app, ["judge", "review", "--project", "queue-test", "--json"]).output)
    assert len(listed) == 2 and listed[0]["scenario_id"] == "exp-1" and listed[0]["judgment"]["verdict"] == "uncertain"
    bad = CliRunner().invoke(app, ["judge", "review", "--project", "queue-test", "--label", "99999=pass"])
    assert bad.exit_code == 2 and "no review 99999 in project queue-test" in bad.output
    first = listed[0]["review_id"]
    done = CliRunner().invoke(app, ["judge", "review", "--project", "queue-test", "--label", f"{first}=fail",
                                    "--comment", "never names a format", "--by", "alice"])
    assert done.exit_code == 0, done.output
    rows = labelled("queue-test")
    assert [(r["review_id"], r["label"], r["comment"], r["labelled_by"]) for r in rows] == [
        (first, False, "never names a format", "alice")]
    left = json.loads(CliRunner().invoke(app, ["judge", "review", "--project", "queue-test", "--json"]).output)
    assert [r["review_id"] for r in left] == [listed[1]["review_id"]]
