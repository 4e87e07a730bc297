"""Aligning a project's judge with a person's labels.

Offline, a calibration is learned over interpretable features of each judged trace: the rubric's criterion scores
and confidence, the goal read from the transcript, failed strong and weak requirements, policy violations, and cues
(semantic agreement between each clause of the expected behaviour and the agent's sentences through the embedder,
refusal, unbacked claims of actions, empathy, length). It is a logistic regression on standardised features; its
probability of a pass gives the verdict and the confidence (the judge still abstains below the threshold). Hosted
judges get the labelled traces, with the person's comments, as few-shot examples instead.

Agreement is estimated by leave-one-out cross-validation over the labels, never on the labels the calibration
was fitted to.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from agents.judge.models import CRITERIA, JudgeVerdict
from agents.judge.rubric import DONE_CLAIM, EMPATHY, Conversation, check, parse_requirements
from analytics.speech_acts import sentences
from core.contracts import JudgeInput

REFUSAL = re.compile(r"\b(can't|cannot|unable|not able|won't be able|not possible)\b", re.I)
FEATURES = (*(f"score_{c}" for c in CRITERIA), "confidence", "goal_reached", "goal_confidence", "failed_strong",
            "failed_weak", "semantic_min", "semantic_mean", "refusal", "claims", "empathy", "words")


class Alignment(BaseModel):
    """A project's learned calibration of the offline judge."""

    project_id: str
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    n_labels: int
    examples: list[dict[str, Any]] = Field(default_factory=list, description="Labelled traces (scenario id, "
                                           "label, comment, transcript) for hosted judges' few-shot prompts.")

    def probability(self, x: Sequence[float]) -> float:
        """P(pass) of a feature vector."""
        z = self.intercept + sum(c * (v - m) / s for c, v, m, s in zip(self.coef, x, self.mean, self.scale,
                                                                          strict=True))
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def _semantic(item: JudgeInput) -> tuple[float, float]:
    """Per clause of the expected behaviour, the best cosine with any of the agent's sentences; min and mean."""
    from core.providers import embed_texts

    clauses = sentences(item.scenario.expected_behavior)
    said = [s for t in item.trace.turns if t.role == "assistant" for s in sentences(t.text)]
    if not clauses or not said:
        return 0.0, 0.0
    vec = embed_texts([*clauses, *said])
    vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-9)
    best = (vec[: len(clauses)] @ vec[len(clauses):].T).max(axis=1)
    return float(best.min()), float(best.mean())


def features(item: JudgeInput, verdict: JudgeVerdict) -> list[float]:
    """The feature vector of one judged trace (order: ``FEATURES``)."""
    conv = Conversation(item.scenario, item.trace)
    scores = {c.name: c.score for c in verdict.criteria}
    goal = conv.goal()
    checks = [check(r, conv) for r in parse_requirements(item.scenario.expected_behavior)]
    said = [x for _, x in conv.assistant]
    sem_min, sem_mean = _semantic(item)
    return [*(scores.get(c, 1) / 5 for c in CRITERIA), verdict.confidence, float(goal.achieved), goal.confidence,
            float(sum(not c.met and c.requirement.kind != "topic" for c in checks)),
            float(sum(not c.met and c.requirement.kind == "topic" for c in checks)), sem_min, sem_mean,
            float(any(REFUSAL.search(x) for x in said)), float(sum(bool(DONE_CLAIM.search(x)) for x in said)),
            float(any(EMPATHY.search(x) for x in said)),
            max((len(x.split()) for x in said), default=0) / 100]


def fit(project_id: str, xs: Sequence[Sequence[float]], labels: Sequence[bool],
        examples: Sequence[dict[str, Any]] = ()) -> Alignment:
    """Fit the calibration on labelled feature vectors (at least 4 labels, both classes)."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels, dtype=bool)
    if len(y) < 4 or y.all() or not y.any():
        raise ValueError(f"alignment needs at least 4 labels with both a pass and a fail (got {len(y)}: "
                         f"{int(y.sum())} pass, {int((~y).sum())} fail)")
    x = np.asarray(xs, dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit((x - mean) / scale, y)
    return Alignment(project_id=project_id, features=list(FEATURES), mean=mean.tolist(), scale=scale.tolist(),
                     coef=model.coef_[0].tolist(), intercept=float(model.intercept_[0]), n_labels=len(y),
                     examples=list(examples))


def aligned_verdict(alignment: Alignment, item: JudgeInput, verdict: JudgeVerdict) -> JudgeVerdict:
    """The offline verdict re-decided by the calibration: P(pass) sets the goal criterion's pass or fail reading
    and the confidence; the criteria notes stay the rubric's."""
    p = alignment.probability(features(item, verdict))
    passes = p >= 0.5
    criteria = [c.model_copy(update={"score": max(c.score, 4) if passes else min(c.score, 2)})
                if c.name == "goal_achieved" else c for c in verdict.criteria]
    if passes:  # a pass needs every criterion at 3 or more (the score rule): the calibration overrides the rubric
        criteria = [c.model_copy(update={"score": max(c.score, 4)}) for c in criteria]
    note = (f" Aligned judge of project {alignment.project_id} ({alignment.n_labels} labels): "
            f"P(pass) = {p:.2f}.")
    return verdict.model_copy(update={"criteria": criteria, "confidence": max(p, 1 - p),
                                      "rationale": verdict.rationale + note})


def project_alignment(project_id: str | None) -> Alignment | None:
    """The project's stored alignment, if any."""
    if not project_id:
        return None
    from services.judge_reviews import load_alignment

    stored = load_alignment(project_id)
    return Alignment.model_validate(stored) if stored else None
