"""The dataset builder agent: proposes scenario categories and scenarios for a target, revises them on the
person's feedback, validates the result and versions it in MLflow.

Every step asks the chat model (``get_chat_model(agent="dataset_builder")``) for a structured ``ScenarioDraft`` or
``RevisionPlan`` from a JSON request; offline those are derived from the request (see
``agents.dataset_builder.offline``). Ids, versions and validation are computed here, identically for every provider."""

from __future__ import annotations

import math
from collections import Counter
from typing import TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.messages import SystemMessage
from pydantic import BaseModel, ValidationError

from agents.dataset_builder.models import (
    AddRequest,
    CategoryProposal,
    ProposeRequest,
    RevisionOp,
    RevisionPlan,
    RevisionRequest,
    ScenarioDraft,
    ScenarioProposal,
)
from agents.dataset_builder.offline import restyle
from agents.dataset_builder.scenario_bank import STYLE_ALIASES, slug
from agents.prompts import load_prompt
from agents.targets.base import TargetAgent, TargetMetadata
from core.contracts import Dataset, DatasetQualityReport, FailureCluster, FeedbackTheme, NearDuplicate, Scenario
from core.evidence import request_message
from core.lifecycle_config import DEFAULTS
from core.providers import embed_texts, get_chat_model

TEXT_FIELDS = ("category", "persona", "goal", "opening_message", "expected_behavior")
M = TypeVar("M", bound=BaseModel)


class RevisionNotUnderstood(ValueError):
    """The revision instruction produced no operation; the person should rephrase it."""


def _ask(schema: type[M], request: BaseModel) -> M:
    model = get_chat_model(agent="dataset_builder").with_structured_output(schema)
    out = model.invoke([SystemMessage(load_prompt("dataset_builder")), request_message(request)])
    return out if isinstance(out, schema) else schema.model_validate(out)


def _meta(target: TargetAgent | TargetMetadata) -> TargetMetadata:
    return target if isinstance(target, TargetMetadata) else target.metadata


def propose(target: TargetAgent | TargetMetadata, n: int = DEFAULTS.n_scenarios,
            failure_clusters: list[FailureCluster] | None = None,
            feedback_report: list[FeedbackTheme] | None = None) -> ScenarioDraft:
    """Ask the model for categories (with rationales) and ``n`` scenarios for ``target``."""
    return _ask(ScenarioDraft, ProposeRequest(
        n=n, target=_meta(target).model_dump(), failure_clusters=[c.model_dump() for c in failure_clusters or []],
        feedback_report=[f.model_dump() for f in feedback_report or []]))


def _with_ids(proposals: list[ScenarioProposal], existing: list[Scenario]) -> list[Scenario]:
    taken = {s.id for s in existing}
    out = []
    for p in proposals:
        k = 1
        while f"{slug(p.category)}-{k:02d}" in taken:
            k += 1
        taken.add(f"{slug(p.category)}-{k:02d}")
        out.append(Scenario(id=f"{slug(p.category)}-{k:02d}", **p.model_dump()))
    return out


def build_dataset(target: TargetAgent | TargetMetadata, n: int = DEFAULTS.n_scenarios,
                  failure_clusters: list[FailureCluster] | None = None,
                  feedback_report: list[FeedbackTheme] | None = None, feedback: list[str] | None = None,
                  threshold: float = 0.8, name: str | None = None, validate: bool = True) -> Dataset:
    """Propose ``n`` scenarios for ``target`` from its metadata and seeds, apply revision instructions, validate."""
    meta = _meta(target)
    draft = propose(meta, n, failure_clusters, feedback_report)
    required = sorted({ft for c in draft.categories for ft in c.failure_types})
    ds = Dataset(name=name or f"{meta.name}-{meta.version}-scenarios", version=1, target_agent=meta.ref,
                 scenarios=_with_ids(draft.scenarios[:n], []))
    if validate:
        ds = ds.model_copy(update={"validation": validate_dataset(ds, threshold, required)})
    for instruction in feedback or []:
        ds = revise_dataset(ds, instruction, threshold, validate=validate)
    return ds


def plan_revision(dataset: Dataset, instruction: str) -> RevisionPlan:
    """The model's reading of ``instruction`` as operations on ``dataset``."""
    cats = sorted({s.category for s in dataset.scenarios})
    return _ask(RevisionPlan, RevisionRequest(instruction=instruction, categories=cats, size=len(dataset.scenarios)))


def _round_robin(scenarios: list[Scenario]) -> list[Scenario]:
    by_cat: dict[str, list[Scenario]] = {}
    for s in scenarios:
        by_cat.setdefault(s.category, []).append(s)
    rounds = max((len(v) for v in by_cat.values()), default=0)
    return [v[r] for r in range(rounds) for v in by_cat.values() if r < len(v)]


def _target(dataset: Dataset, op: RevisionOp) -> str:
    """The id of the scenario ``op.index`` names, in the order the person saw (the dataset before this revision)."""
    if op.index is None or not 1 <= op.index <= len(dataset.scenarios):
        raise RevisionNotUnderstood(f"there is no scenario #{op.index}: the dataset has {len(dataset.scenarios)} "
                                    "(numbered from 1 as shown)")
    return dataset.scenarios[op.index - 1].id


def _apply(dataset: Dataset, op: RevisionOp, scenarios: list[Scenario]) -> list[Scenario]:
    if op.action == "remove":
        gone = _target(dataset, op)
        return [s for s in scenarios if s.id != gone]
    if op.action == "set":
        sid = _target(dataset, op)
        value = (op.value or "").strip()
        if not op.field or not value:
            raise RevisionNotUnderstood(f"what should scenario #{op.index} change to?")
        try:
            return [Scenario.model_validate({**s.model_dump(), op.field: value}) if s.id == sid else s
                    for s in scenarios]
        except ValidationError as exc:
            raise RevisionNotUnderstood(f"scenario #{op.index}: {op.field} cannot be {op.value!r}") from exc
    if op.action == "merge":
        return [s.model_copy(update={"category": op.into}) if s.category == op.category else s for s in scenarios]
    if op.action == "drop":
        return [s for s in scenarios if s.category != op.category]
    if op.action == "restyle":
        style = (op.persona_style or "angry").lower()
        words = [style, STYLE_ALIASES.get(style, style), *(k for k, v in STYLE_ALIASES.items() if v == style)]
        pending = _round_robin([s for s in scenarios if not any(w in s.persona.lower() for w in words)
                                and not any(w in s.category for w in words)])
        chosen = {s.id: i for i, s in enumerate(pending[: op.count or max(1, len(scenarios) // 4)])}
        return [Scenario(id=s.id, **restyle(ScenarioProposal(**s.model_dump(exclude={"id"})), style,
                                            chosen[s.id]).model_dump()) if s.id in chosen else s for s in scenarios]
    counts = Counter(s.category for s in scenarios)
    category = op.category or (min(counts, key=lambda c: (counts[c], c)) if counts else "general_help")
    draft = _ask(ScenarioDraft, AddRequest(category=category, count=op.count or 3, difficulty=op.difficulty,
                                           persona_style=op.persona_style,
                                           existing_openings=[s.opening_message for s in scenarios]))
    added = [p.model_copy(update={"category": category}) for p in draft.scenarios[: op.count or 3]]
    return scenarios + _with_ids(added, scenarios)


def revise_dataset(dataset: Dataset, instruction: str, threshold: float | None = None,
                   validate: bool = True) -> Dataset:
    """Apply the person's instruction (e.g. "add 3 hard scenarios about refunds; drop category X; more angry
    personas") and return the next version. Raises ``RevisionNotUnderstood`` when nothing could be derived."""
    plan = plan_revision(dataset, instruction)
    if not plan.understood or not plan.operations:
        raise RevisionNotUnderstood(f"could not derive any change from {instruction!r} {plan.notes}".strip())
    scenarios = list(dataset.scenarios)
    for op in plan.operations:
        scenarios = _apply(dataset, op, scenarios)
    nxt = dataset.model_copy(update={"version": dataset.version + 1, "scenarios": scenarios, "validation": None})
    if not validate:
        return nxt
    prev = dataset.validation
    thr = threshold if threshold is not None else (prev.threshold if prev else 0.8)
    required = sorted(prev.failure_type_coverage) if prev else None
    return nxt.model_copy(update={"validation": validate_dataset(nxt, thr, required)})


def validate_dataset(dataset: Dataset, threshold: float = 0.8, required_failure_types: list[str] | None = None,
                     dup_threshold: float = 0.9, min_size: int = 8,
                     embeddings: Embeddings | None = None) -> DatasetQualityReport:
    """Quality report: size, near-duplicates (embedding cosine >= ``dup_threshold``), category balance, coverage
    of the required failure types (default: those the scenarios declare) and missing fields. The score is a
    weighted mean (size .15, duplicates .25, balance .2, coverage .2, completeness .2); it passes when the score
    reaches ``threshold`` and no field is missing."""
    sc = dataset.scenarios
    notes: list[str] = []
    missing = [f"{s.id}.{f}" for s in sc for f in TEXT_FIELDS if not str(getattr(s, f)).strip()]
    dups: list[NearDuplicate] = []
    if len(sc) > 1:
        vecs = embed_texts([f"{s.opening_message}\n{s.goal}" for s in sc], embeddings)
        sims = np.clip(vecs @ vecs.T, -1.0, 1.0)
        for i, j in zip(*np.triu_indices(len(sc), k=1), strict=True):
            if sims[i, j] >= dup_threshold:
                dups.append(NearDuplicate(a=sc[i].id, b=sc[j].id, similarity=round(float(sims[i, j]), 4)))
    balance = dict(sorted(Counter(s.category for s in sc).items()))
    required = sorted(set(required_failure_types or []) | {ft for s in sc for ft in s.failure_types})
    coverage = {ft: sum(ft in s.failure_types for s in sc) for ft in required}
    size_c = min(1.0, len(sc) / min_size) if min_size else 1.0
    dup_c = 1.0 - len({x for d in dups for x in (d.a, d.b)}) / len(sc) if sc else 0.0
    k = len(balance)
    ent = -sum(c / len(sc) * math.log(c / len(sc)) for c in balance.values()) if sc else 0.0
    bal_c = ent / math.log(k) if k > 1 else (0.5 if k == 1 else 0.0)
    cov_c = sum(1 for v in coverage.values() if v) / len(coverage) if coverage else 1.0
    comp_c = 1.0 - len({m.split(".")[0] for m in missing}) / len(sc) if sc else 0.0
    score = round(0.15 * size_c + 0.25 * dup_c + 0.2 * bal_c + 0.2 * cov_c + 0.2 * comp_c, 4)
    if len(sc) < min_size:
        notes.append(f"only {len(sc)} scenarios (at least {min_size} recommended)")
    if dups:
        notes.append(f"{len(dups)} near-duplicate pair(s) at cosine >= {dup_threshold}: rewrite or drop one of each")
    if bal_c < 0.8:
        notes.append(f"categories are unbalanced (normalised entropy {bal_c:.2f})")
    if uncovered := [ft for ft, v in coverage.items() if not v]:
        notes.append(f"failure types not covered: {', '.join(uncovered)}")
    if missing:
        notes.append(f"{len(missing)} empty field(s)")
    passed = score >= threshold and not missing
    notes.append(f"score {score:.2f} {'>=' if score >= threshold else '<'} threshold {threshold:.2f}")
    return DatasetQualityReport(size=len(sc), near_duplicates=dups, category_balance=balance,
                                failure_type_coverage=coverage, missing_fields=missing, score=score, passed=passed,
                                threshold=threshold, notes=notes)


def log_dataset(dataset: Dataset, project_id: str) -> str:
    """Version ``dataset`` in MLflow (stage ``dataset``; artifacts dataset/dataset.json, quality_report.json)."""
    import mlflow

    from core.tracking import stage_run

    with stage_run(project_id, "dataset", agent_id=dataset.target_agent.id, dataset_version=str(dataset.version),
                   run_name=f"dataset-{dataset.name}-v{dataset.version}",
                   extra_tags={"dataset_name": dataset.name}) as run:
        mlflow.log_dict(dataset.model_dump(mode="json"), "dataset/dataset.json")
        mlflow.log_params({"dataset_name": dataset.name, "dataset_version": dataset.version})
        mlflow.log_metric("scenarios", len(dataset.scenarios))
        if dataset.validation:
            mlflow.log_dict(dataset.validation.model_dump(mode="json"), "dataset/quality_report.json")
            mlflow.log_metrics({"quality_score": dataset.validation.score,
                                "near_duplicates": len(dataset.validation.near_duplicates),
                                "quality_passed": float(dataset.validation.passed)})
        return str(run.info.run_id)


def load_dataset(run_id: str) -> Dataset:
    """Read a dataset version back from its MLflow run."""
    import mlflow

    from core.tracking import configure_mlflow

    configure_mlflow()
    return Dataset.model_validate(mlflow.artifacts.load_dict(f"runs:/{run_id}/dataset/dataset.json"))


__all__ = ["CategoryProposal", "RevisionNotUnderstood", "build_dataset", "load_dataset", "log_dataset",
           "plan_revision", "propose", "revise_dataset", "validate_dataset"]
