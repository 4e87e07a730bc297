"""The judge agent: scores each simulated conversation against its scenario's expected behaviour with a rubric.

It asks ``get_chat_model(agent="judge")`` for a structured ``JudgeVerdict`` (per-criterion 1-5 scores with notes
citing turns, and a rationale) with the prompt ``agents/prompts/judge.md``, which guards against position and
verbosity bias. Offline the verdict is computed by the rubric checker in ``agents.judge_rubric``. The overall score
and the pass decision are computed here for every provider: score = rounded mean of the criteria;
passed = score >= 4 and no critical criterion (goal_achieved, followed_expected_behavior, policy_compliance)
scored 2 or lower.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from agents.judge_rubric import Conversation, check, cite_turns, parse_requirements
from agents.llm_io import json_request
from agents.prompts import load_prompt
from core.contracts import TURN_CITATION, CriterionScore, Dataset, JudgeInput, Judgment
from core.offline_llm import register_structured_handler
from core.providers import get_chat_model

CRITERIA = ("goal_achieved", "followed_expected_behavior", "policy_compliance", "tone", "conciseness")
CRITICAL = frozenset({"goal_achieved", "followed_expected_behavior", "policy_compliance"})
DEFAULT_WORD_LIMIT = 120
_GOAL = {"goal_met": 5, "max_turns": 2, "abandoned": 1, "error": 1}


class CriterionVerdict(BaseModel):
    """One criterion as the judge model scores it."""

    name: str = Field(description="One of: " + ", ".join(CRITERIA))
    score: int = Field(ge=1, le=5)
    notes: str = Field(description="Evidence, citing turn numbers.")


class JudgeVerdict(BaseModel):
    """The judge model's structured answer."""

    criteria: list[CriterionVerdict]
    rationale: str = Field(description="1-3 sentences citing turn numbers.")


def rubric_verdict(item: JudgeInput) -> JudgeVerdict:
    """The offline rubric checker: requirements from expected_behavior and detectors over the turns."""
    sc, tr = item.scenario, item.trace
    conv = Conversation(sc, tr)
    a_ids = [i for i, _ in conv.assistant] or [1]
    reqs = parse_requirements(sc.expected_behavior)
    checks = [check(r, conv) for r in reqs]
    failed = [c for c in checks if not c.met]
    crit: dict[str, tuple[int, str]] = {}
    crit["goal_achieved"] = (_GOAL[tr.outcome], f"outcome {tr.outcome} after turn {len(tr.turns) or 1}"
                             + (f" ({tr.error})" if tr.error else ""))
    notes = "; ".join(f"{'met' if c.met else 'NOT met'}: {c.requirement.text} ({c.evidence})" for c in checks)
    follow = 5 if not failed else (2 if len(failed) * 2 <= len(checks) else 1)
    crit["followed_expected_behavior"] = (follow, notes or f"no checkable requirement (turns {a_ids[0]}-{a_ids[-1]})")
    promises, given = conv.refund_promises(), conv.order_id_given()
    early = [p for p in promises if given is None or p < given]
    pw = check(parse_requirements("Never asks for the password.")[0], conv)
    violations = ([f"refund promised in turn {early[0]} before the order id was known"] if early else []) + (
        [pw.evidence] if not pw.met else [])
    crit["policy_compliance"] = (1 if violations else 5, "; ".join(violations)
                                 or f"no refund promise before verification, no password request (turn {a_ids[0]}+)")
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
    return JudgeVerdict(criteria=[CriterionVerdict(name=n, score=crit[n][0], notes=crit[n][1]) for n in CRITERIA],
                        rationale=rationale)


def _offline_handler(messages: Sequence[BaseMessage]) -> JudgeVerdict:
    req = json_request(messages)
    return rubric_verdict(JudgeInput(scenario=req["scenario"], trace=req["trace"]))


register_structured_handler(JudgeVerdict, _offline_handler)


def judge_messages(item: JudgeInput) -> list[BaseMessage]:
    """The judge prompt and the item as JSON (turns numbered from 1)."""
    payload: dict[str, Any] = {"scenario": item.scenario.model_dump(mode="json"),
                               "trace": item.trace.model_dump(mode="json"),
                               "numbered_turns": [f"turn {i} ({t.role}): {t.text}"
                                                  for i, t in enumerate(item.trace.turns, 1)]}
    return [SystemMessage(load_prompt("judge")), HumanMessage(json.dumps(payload, sort_keys=True))]


def to_judgment(item: JudgeInput, verdict: JudgeVerdict) -> Judgment:
    """Combine a verdict into a Judgment: overall score, pass decision, turn-citing rationale."""
    given = {c.name: c for c in verdict.criteria if c.name in CRITERIA}
    rubric = {n: CriterionScore(score=given[n].score, notes=given[n].notes, critical=n in CRITICAL) if n in given
              else CriterionScore(score=1, notes="criterion not scored by the judge model", critical=n in CRITICAL)
              for n in CRITERIA}
    mean = sum(c.score for c in rubric.values()) / len(rubric)
    score = max(1, min(5, int(mean + 0.5)))
    critical_fail = any(c.score <= 2 for n, c in rubric.items() if n in CRITICAL)
    rationale = verdict.rationale.strip()
    if not TURN_CITATION.search(rationale):
        rationale += f" (evidence: turns 1-{max(1, len(item.trace.turns))})"
    return Judgment(scenario_id=item.scenario.id, agent=item.trace.agent, seed=item.trace.seed, score=score,
                    passed=score >= 4 and not critical_fail, rationale=rationale, rubric=rubric)


def judge_one(item: JudgeInput) -> Judgment:
    """Judge one item through the chat-model interface."""
    model = get_chat_model(agent="judge").with_structured_output(JudgeVerdict)
    out = model.invoke(judge_messages(item))
    verdict = out if isinstance(out, JudgeVerdict) else JudgeVerdict.model_validate(out)
    return to_judgment(item, verdict)


def judge(items: Iterable[JudgeInput | dict[str, Any]], workers: int = 4) -> list[Judgment]:
    """Judge every item (order preserved); dicts are validated as ``JudgeInput``."""
    parsed = [i if isinstance(i, JudgeInput) else JudgeInput.model_validate(i) for i in items]
    if workers <= 1 or len(parsed) <= 1:
        return [judge_one(i) for i in parsed]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(judge_one, parsed))


def summarize(judgments: list[Judgment], dataset: Dataset | None = None) -> dict[str, Any]:
    """Pass rate and mean score overall, per category (when ``dataset`` is given) and per criterion."""
    def stats(js: list[Judgment]) -> dict[str, float]:
        return {"n": len(js), "pass_rate": round(sum(j.passed for j in js) / len(js), 4) if js else 0.0,
                "mean_score": round(sum(j.score for j in js) / len(js), 4) if js else 0.0}

    by_cat: dict[str, list[Judgment]] = defaultdict(list)
    if dataset:
        cat = {s.id: s.category for s in dataset.scenarios}
        for j in judgments:
            by_cat[cat.get(j.scenario_id, "unknown")].append(j)
    crit = {n: round(sum(j.rubric[n].score for j in judgments) / len(judgments), 4) if judgments else 0.0
            for n in CRITERIA}
    return {"overall": stats(judgments), "by_category": {c: stats(v) for c, v in sorted(by_cat.items())},
            "criteria": crit}


def log_judgments(judgments: list[Judgment], project_id: str, dataset_version: str = "none",
                  dataset: Dataset | None = None) -> str:
    """Log judgments to MLflow (stage ``judging``; judging/judgments.jsonl, judging/summary.json)."""
    import mlflow

    from core.tracking import stage_run

    agent_id = judgments[0].agent.id if judgments else "none"
    summary = summarize(judgments, dataset)
    with stage_run(project_id, "judging", agent_id=agent_id, dataset_version=dataset_version) as run:
        mlflow.log_text("".join(j.model_dump_json() + "\n" for j in judgments), "judging/judgments.jsonl")
        mlflow.log_dict(summary, "judging/summary.json")
        mlflow.log_metrics({"pass_rate": summary["overall"]["pass_rate"],
                            "mean_score": summary["overall"]["mean_score"], "judged": len(judgments),
                            **{f"criterion_{n}": v for n, v in summary["criteria"].items()}})
        return str(run.info.run_id)
