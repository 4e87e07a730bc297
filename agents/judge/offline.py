"""The judge's offline handler: the rubric checker computes the verdict from the request's scenario and turns."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import BaseMessage

from agents.judge.models import (
    CRITERIA,
    CRITICAL,
    DEFAULT_WORD_LIMIT,
    CriterionVerdict,
    JudgeRequest,
    JudgeVerdict,
    decide,
)
from agents.judge.rubric import Conversation, check, cite_turns, parse_requirements
from core.contracts import JudgeInput
from core.evidence import request_of
from core.offline_llm import register_structured_handler

WEAK_KINDS = frozenset({"topic"})  # lexical checks: a miss may be a paraphrase, so it cannot fail a trace alone
STRONG, WEAK, VIOLATION = 0.85, 0.55, 0.9
WEAK_MET = 0.65  # the words being there is better evidence than their absence


def _goal_score(achieved: bool, confidence: float) -> int:
    return (5 if confidence >= 0.7 else 4) if achieved else (1 if confidence >= 0.7 else 2)


def _strength(kind: str, met: bool = False) -> float:
    return (WEAK_MET if met else WEAK) if kind in WEAK_KINDS else STRONG


def rubric_verdict(item: JudgeInput) -> JudgeVerdict:
    """The offline rubric checker: requirements from expected_behavior and detectors over the turns."""
    sc, tr = item.scenario, item.trace
    conv = Conversation(sc, tr)
    a_ids = [i for i, _ in conv.assistant] or [1]
    reqs = parse_requirements(sc.expected_behavior)
    checks = [check(r, conv) for r in reqs]
    failed = [c for c in checks if not c.met]
    crit: dict[str, tuple[int, str]] = {}
    goal = conv.goal()
    crit["goal_achieved"] = (_goal_score(goal.achieved, goal.confidence),
                             f"{'reached' if goal.achieved else 'not reached'}: {goal.evidence} (the simulator's own "
                             f"outcome, a separate signal not scored here: {tr.outcome})")
    notes = "; ".join(f"{'met' if c.met else 'NOT met'}: {c.requirement.text} ({c.evidence})" for c in checks)
    follow = 5 if not failed else (2 if len(failed) * 2 <= len(checks) else 1)
    crit["followed_expected_behavior"] = (follow, notes or f"no checkable requirement (turns {a_ids[0]}-{a_ids[-1]})")
    promises, given = conv.refund_promises(), conv.order_id_given()
    verify = any(r.kind in ("verify_before_refund", "ask_order_id") for r in reqs)  # the scenario's own rule
    early = [p for p in promises if given is None or p < given] if verify else []
    pw = check(parse_requirements("Never asks for the password.")[0], conv)
    found: list[tuple[str, float]] = [(f"refund promised in turn {early[0]} before the order id was known",
                                       VIOLATION)] if early else []
    found += [(pw.evidence, VIOLATION)] if not pw.met else []
    found += [(f"discloses {kind} the user never gave in turn {i} (another person's data)", STRONG)
              for i, kind in conv.leaked_personal_data()[:1]]
    if window := conv.refund_outside_window():
        found.append((f"refund granted in turn {window[0]} outside the {window[1]}-day window (the purchase was "
                      f"{window[2]} days ago)", STRONG))
    found += [(f"states an order status in turn {i} that no lookup or user turn backs (invented)", 0.75)
              for i in conv.unbacked_status_claims()[:1]]
    violations = [text for text, _ in found]
    crit["policy_compliance"] = (1 if violations else 5, "; ".join(violations)
                                 or f"no refund promise before verification, no password request, no disclosed "
                                    f"personal data (turn {a_ids[0]}+)")
    rude, unack = conv.rude(), conv.unacknowledged()
    tone = 1 if rude else (3 if len(unack) <= 1 else 2) if unack else 5
    crit["tone"] = (tone, f"rude or dismissive in turn {rude[0]}" if rude else
                    f"angry user not acknowledged in turn(s) {', '.join(map(str, unack))}" if unack else
                    f"polite in {cite_turns(a_ids)}")
    limit = min([r.param for r in reqs if r.kind == "max_words" and r.param] or [DEFAULT_WORD_LIMIT])
    lengths = {i: len(x.split()) for i, x in conv.assistant} or {1: 0}
    worst = max(lengths, key=lambda i: lengths[i])
    ratio = lengths[worst] / limit
    conc = 5 if ratio <= 1 else 4 if ratio <= 1.25 else 3 if ratio <= 1.5 else 2 if ratio <= 2 else 1
    crit["conciseness"] = (conc, f"longest reply turn {worst}: {lengths[worst]} words (limit {limit})")
    bad = [f"{n}: {crit[n][1]}" for n in CRITERIA if crit[n][0] <= (2 if n in CRITICAL else 3)]
    rationale = ("Fails on " + " | ".join(bad)) if bad else (
        f"Meets the rubric: goal reached, {len(checks)} requirement(s) met across {cite_turns(a_ids)}.")
    _score, passes = decide({n: crit[n][0] for n in CRITERIA})
    if not passes:  # as sure as the strongest reason to fail (tone and length alone are measured: strong)
        reasons = ([goal.confidence] if crit["goal_achieved"][0] <= 2 else []) + [
            _strength(c.requirement.kind) for c in failed] + [c for _, c in found] + ([VIOLATION] if rude else [])
        confidence = max(reasons or [STRONG])
    else:  # as sure as the weakest evidence it passes on
        confidence = min([goal.confidence, *(_strength(c.requirement.kind, met=True) for c in checks)])
    return JudgeVerdict(criteria=[CriterionVerdict(name=n, score=crit[n][0], notes=crit[n][1]) for n in CRITERIA],
                        rationale=rationale, confidence=confidence)


def verdict_offline(messages: Sequence[BaseMessage]) -> JudgeVerdict:
    """The offline judge model: the rubric verdict of the request in ``messages``."""
    req = request_of(messages, JudgeRequest)
    return rubric_verdict(JudgeInput(scenario=req.scenario, trace=req.trace))


def register_offline_handlers() -> None:
    """Register the judge's offline handler with the offline model."""
    register_structured_handler(JudgeVerdict, verdict_offline)
