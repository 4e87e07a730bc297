"""The judge agent: scores each simulated conversation against its scenario's expected behaviour with a rubric.

It asks ``get_chat_model(agent="judge")`` for a structured ``JudgeVerdict`` (per-criterion 1-5 scores with notes
citing turns, and a rationale) with the prompt ``agents/prompts/judge.md``, which guards against position and
verbosity bias. Offline the verdict is computed by the rubric checker (``agents.judge.offline``,
``agents.judge.rubric``). The overall score and the pass decision are computed here for every provider: score =
rounded mean of the criteria; the verdict is pass when score >= 4 and no critical criterion (goal_achieved,
followed_expected_behavior, policy_compliance) scored 2 or lower, else fail, and "uncertain" (the judge abstains,
``passed`` is None) when the verdict's confidence is below ``OPSGRAPH_JUDGE_MIN_CONFIDENCE``."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.messages import BaseMessage, SystemMessage

from agents.judge.alignment import Alignment, aligned_verdict, project_alignment
from agents.judge.models import CRITERIA, CRITICAL, JudgeRequest, JudgeVerdict, decide
from agents.prompts import load_prompt
from agents.targets.base import estimate_tokens
from core.contracts import TURN_CITATION, CriterionScore, Dataset, JudgeInput, Judgment, Verdict
from core.evidence import request_message
from core.lifecycle_config import DEFAULTS
from core.providers import get_chat_model, is_hosted
from core.settings import get_settings


def numbered_turns(item: JudgeInput) -> list[str]:
    """The transcript as the judge reads it: turns numbered from 1, with the agent's tool calls and the tools'
    results (errors marked)."""
    out = []
    for i, t in enumerate(item.trace.turns, 1):
        role = f"tool {t.name or ''}".strip() + (", error" if t.is_error else "") if t.role == "tool" else t.role
        calls = "".join(f" [calls {c.name}({json.dumps(c.arguments, sort_keys=True)})]" for c in t.tool_calls)
        out.append(f"turn {i} ({role}): {t.text}{calls}")
    return out


def judge_messages(item: JudgeInput, examples: Sequence[dict[str, Any]] = ()) -> list[BaseMessage]:
    """The judge prompt (with a project's labelled examples as few-shot guidance, when given) and the item as JSON
    (turns numbered from 1)."""
    request = JudgeRequest(scenario=item.scenario, trace=item.trace, numbered_turns=numbered_turns(item))
    prompt = load_prompt("judge")
    if examples:
        shots = "\n\n".join(f"Scenario {e['scenario_id']}: a person labelled it {'PASS' if e['label'] else 'FAIL'}"
                             + (f" ({e['comment']})" if e.get("comment") else "") + ":\n" + "\n".join(e["transcript"])
                             for e in examples)
        prompt += ("\n\nThis project's people judged these conversations as follows; judge the same way:\n\n"
                   + shots)
    return [SystemMessage(prompt), request_message(request)]


def to_judgment(item: JudgeInput, verdict: JudgeVerdict, min_confidence: float | None = None) -> Judgment:
    """Combine a verdict into a Judgment: overall score, verdict (uncertain below ``min_confidence``, default the
    setting), confidence, turn-citing rationale."""
    given = {c.name: c for c in verdict.criteria if c.name in CRITERIA}
    rubric = {n: CriterionScore(score=given[n].score, notes=given[n].notes, critical=n in CRITICAL) if n in given
              else CriterionScore(score=1, notes="criterion not scored by the judge model", critical=n in CRITICAL)
              for n in CRITERIA}
    score, passes = decide({n: c.score for n, c in rubric.items()})
    rationale = verdict.rationale.strip()
    if not TURN_CITATION.search(rationale):
        rationale += f" (evidence: turns 1-{max(1, len(item.trace.turns))})"
    threshold = get_settings().judge_min_confidence if min_confidence is None else min_confidence
    decided: Verdict = "pass" if passes else "fail"
    spoken = verdict.confidence >= threshold
    if not spoken:
        rationale += f" Uncertain: confidence {verdict.confidence:.2f} is below {threshold:.2f}, so it goes to review."
    return Judgment(scenario_id=item.scenario.id, agent=item.trace.agent, seed=item.trace.seed, score=score,
                    verdict=decided if spoken else "uncertain", confidence=round(verdict.confidence, 4),
                    rationale=rationale, rubric=rubric)


def model_verdict(item: JudgeInput, examples: Sequence[dict[str, Any]] = ()) -> JudgeVerdict:
    """The judge model's verdict on one item, through the chat-model interface."""
    return _ask(judge_messages(item, examples))


def _ask(messages: list[BaseMessage]) -> JudgeVerdict:
    out = get_chat_model(agent="judge").with_structured_output(JudgeVerdict).invoke(messages)
    return out if isinstance(out, JudgeVerdict) else JudgeVerdict.model_validate(out)


def judge_one(item: JudgeInput, alignment: Alignment | None = None) -> Judgment:
    """Judge one item; with a project's ``alignment``, a hosted judge reads its labelled examples and the offline
    judge's verdict is re-decided by its calibration. The judgment records what judging cost (time, tokens,
    dollars)."""
    hosted = is_hosted()
    examples = alignment.examples if alignment is not None and hosted else ()
    messages = judge_messages(item, examples)
    verdict = _ask(messages)
    if alignment is not None and not hosted:
        verdict = aligned_verdict(alignment, item, verdict)
    prompt = sum(estimate_tokens(m.text) for m in messages)
    completion = estimate_tokens(verdict.model_dump_json())
    return to_judgment(item, verdict).model_copy(update={
        "tokens": prompt + completion, "cost_usd": _cost(prompt, completion) if hosted else 0.0})


def _cost(prompt_tokens: int, completion_tokens: int) -> float | None:
    """Dollars for a hosted judge call from the shipped price table (None when the model is not in it)."""
    from core.providers import chat_model_name
    from ingest.otlp.genai import price

    rate = price(chat_model_name())
    return round((prompt_tokens * rate[0] + completion_tokens * rate[1]) / 1e6, 8) if rate else None


def judge(items: Iterable[JudgeInput | dict[str, Any]], workers: int = DEFAULTS.workers,
          project: str | None = None, latencies: list[float] | None = None) -> list[Judgment]:
    """Judge every item (order preserved; dicts are validated as ``JudgeInput``), with ``project``'s alignment
    when it has one; ``latencies`` receives each item's judging time in ms (the judge's own latency)."""
    parsed = [i if isinstance(i, JudgeInput) else JudgeInput.model_validate(i) for i in items]
    alignment = project_alignment(project)

    def timed(item: JudgeInput) -> tuple[Judgment, float]:
        start = time.perf_counter()
        out = judge_one(item, alignment)
        return out, (time.perf_counter() - start) * 1000

    if workers <= 1 or len(parsed) <= 1:
        done = [timed(i) for i in parsed]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(timed, parsed))
    if latencies is not None:
        latencies.extend(round(ms, 3) for _, ms in done)
    return [j for j, _ in done]


def summarize(judgments: list[Judgment], dataset: Dataset | None = None) -> dict[str, Any]:
    """Pass rate (over the traces with a verdict; the uncertain ones counted apart) and mean score overall, per
    category (when ``dataset`` is given) and per criterion."""
    def stats(js: list[Judgment]) -> dict[str, float]:
        spoken = [j for j in js if j.passed is not None]
        return {"n": len(js), "uncertain": len(js) - len(spoken),
                "pass_rate": round(sum(bool(j.passed) for j in spoken) / len(spoken), 4) if spoken else 0.0,
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
                  dataset: Dataset | None = None, items: list[JudgeInput] | None = None,
                  latencies: list[float] | None = None) -> str:
    """Log judgments to MLflow (stage ``judging``; judging/judgments.jsonl, judging/summary.json; the judge's
    tokens, cost and, when given, its per-trace ``latencies``); with the judged ``items``, the uncertain ones go
    to the project's review queue."""
    import mlflow

    from core.tracking import stage_run

    agent_id = judgments[0].agent.id if judgments else "none"
    summary = summarize(judgments, dataset)
    with stage_run(project_id, "judging", agent_id=agent_id, dataset_version=dataset_version) as run:
        mlflow.log_text("".join(j.model_dump_json() + "\n" for j in judgments), "judging/judgments.jsonl")
        mlflow.log_dict(summary, "judging/summary.json")
        costs = [j.cost_usd for j in judgments if j.cost_usd is not None]
        timing = ({"judge_latency_ms_mean": sum(latencies) / len(latencies),
                   "judge_latency_ms_p95": sorted(latencies)[int(0.95 * (len(latencies) - 1))]} if latencies else {})
        mlflow.log_metrics({"pass_rate": summary["overall"]["pass_rate"],
                            "uncertain": summary["overall"]["uncertain"], **timing,
                            "judge_tokens": sum(j.tokens for j in judgments),
                            **({"llm_cost_usd": sum(costs)} if costs else {}),
                            "mean_score": summary["overall"]["mean_score"], "judged": len(judgments),
                            **{f"criterion_{n}": v for n, v in summary["criteria"].items()}})
        run_id = str(run.info.run_id)
    if items is not None:
        from services.judge_reviews import enqueue_uncertain

        enqueue_uncertain(project_id, run_id, items, judgments)
    return run_id
