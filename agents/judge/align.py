"""`opsgraph judge align`: fit a project's judge alignment from a person's labels and report its agreement on
held-out labels (leave-one-out cross-validation), next to the unaligned judge's on the same traces."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from agents.judge.alignment import aligned_verdict, features, fit
from agents.judge.models import JudgeVerdict
from analytics.paired_stats import balanced_accuracy, cohens_kappa, wilson_interval
from core.contracts import JudgeInput
from core.settings import get_settings


def agreement_report(labels: Sequence[bool], verdicts: Sequence[bool | None],
                     categories: Sequence[str] | None = None) -> dict[str, Any]:
    """Agreement on the spoken verdicts (Wilson CI), coverage, Cohen's kappa (bootstrap CI) and balanced accuracy
    (uncertain verdicts count as wrong there), overall and per category."""
    spoken = [(y, v) for y, v in zip(labels, verdicts, strict=True) if v is not None]
    agree = sum(y == v for y, v in spoken)
    low, high = wilson_interval(agree, len(spoken))
    out: dict[str, Any] = {
        "n": len(labels), "spoken": len(spoken), "coverage": len(spoken) / len(labels) if labels else 0.0,
        "agreement": agree / len(spoken) if spoken else None, "agreement_ci": [low, high],
        "kappa": cohens_kappa([y for y, _ in spoken], [bool(v) for _, v in spoken]),
        "balanced_accuracy": balanced_accuracy(labels, [bool(v) if v is not None else not y
                                                        for y, v in zip(labels, verdicts, strict=True)])}
    if categories is not None:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(categories):
            groups[c].append(i)
        out["per_category"] = {c: {k: v for k, v in agreement_report([labels[i] for i in idx],
                                                                     [verdicts[i] for i in idx]).items()
                                   if k in ("n", "spoken", "agreement", "coverage")} for c, idx in groups.items()}
    return out


def _verdict_of(v: JudgeVerdict, item: JudgeInput, threshold: float) -> bool | None:
    from agents.judge.agent import to_judgment

    return to_judgment(item, v, min_confidence=threshold).passed


def align(project_id: str, items: Sequence[JudgeInput], labels: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Fit and store the project's alignment from ``labels`` (scenario_id -> {"label": bool, "comment"?}) on the
    labelled ``items``; returns the cross-validated report (aligned and unaligned)."""
    from agents.judge.agent import model_verdict
    from services.judge_reviews import save_alignment

    chosen = [i for i in items if i.scenario.id in labels]
    if missing := sorted(set(labels) - {i.scenario.id for i in items}):
        raise ValueError(f"labels for scenario ids not in the input: {missing[:10]}")
    threshold = get_settings().judge_min_confidence
    raw = [model_verdict(i) for i in chosen]
    xs = [features(i, v) for i, v in zip(chosen, raw, strict=True)]
    ys = [bool(labels[i.scenario.id]["label"]) for i in chosen]
    cats = [i.scenario.category for i in chosen]
    held_out: list[bool | None] = []
    for k in range(len(chosen)):  # leave one out: each label is predicted by a calibration fitted without it
        rest = [j for j in range(len(chosen)) if j != k]
        try:
            model = fit(project_id, [xs[j] for j in rest], [ys[j] for j in rest])
        except ValueError:
            held_out.append(None)
            continue
        held_out.append(_verdict_of(aligned_verdict(model, chosen[k], raw[k]), chosen[k], threshold))
    examples = [{"scenario_id": i.scenario.id, "label": y, "comment": labels[i.scenario.id].get("comment", ""),
                 "transcript": [f"turn {n} ({t.role}): {t.text[:300]}" for n, t in enumerate(i.trace.turns, 1)]}
                for i, y in zip(chosen, ys, strict=True)]
    alignment = fit(project_id, xs, ys, examples)
    report = {"project_id": project_id, "n_labels": len(ys), "threshold": threshold,
              "aligned_cross_validated": agreement_report(ys, held_out, cats),
              "unaligned": agreement_report(ys, [_verdict_of(v, i, threshold) for i, v in zip(chosen, raw,
                                                                                               strict=True)], cats),
              "features": dict(zip(alignment.features, alignment.coef, strict=True))}
    save_alignment(project_id, alignment.model_dump(), report)
    return report
