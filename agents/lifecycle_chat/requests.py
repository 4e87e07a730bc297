"""Reading a person's request to a lifecycle agent: named targets, counts, clusters, agreement, report requests.

Used by the offline planners to choose tool calls; a hosted model chooses them itself from the same request."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from core.contracts import TargetSpec

_TARGET = re.compile(r"\b([a-z][a-z0-9_-]*)\s*(?:@|\s)\s*(v\d+)\b", re.I)
_VERSION = re.compile(r"\b(v\d+)\b", re.I)
_COUNT = re.compile(r"\b(\d{1,3})\s+scenarios?\b", re.I)
NEW_DATASET = re.compile(r"\b(build|create|make|generate|start|new)\b.*\b(dataset|eval(uation)? set|scenarios)\b",
                         re.I)
ACCEPT = re.compile(r"^\W*(ok(ay)?|yes|yep|sure|fine|great|good|perfect|go ahead|ship it|done|approve[ds]?|"
                    r"looks? (good|fine|great)|that'?s (good|fine|it)|create (it|the dataset)|save (it|the dataset)"
                    r"|use (it|this))\b", re.I)
REPORT = re.compile(r"\b(write|log|save|produce|make)\b.*\breport\b", re.I)
_FROM_CLUSTER = re.compile(r"\b(?:(top|first|worst)\s+(?:failure\s+|failing\s+)?cluster|cluster\s+(\d+))"
                           r"(?:\s+of\s+run\s+([A-Za-z0-9_-]+))?", re.I)
_FROM_FEEDBACK = re.compile(r"\bfrom\b.{0,30}\b(feedback|production report)\b", re.I)
_GROUPS = ("persona", "difficulty")
_AGAINST = re.compile(r"\b(against|vs\.?|versus|compared (to|with)|baseline|instead of)\b", re.I)


@dataclass(frozen=True)
class ClusterRef:
    """A failure cluster a request names: ``cluster_id`` None means the top failure cluster."""

    cluster_id: int | None
    run_id: str | None


def target_specs(text: str) -> list[str]:
    """TargetSpec objects written into the request as JSON (an endpoint, a callable or a graph), as JSON text."""
    found: list[str] = []
    for m in re.finditer(r"\{[^{}]*\}", text):
        try:
            spec = TargetSpec.model_validate(json.loads(m[0]))
        except ValueError:
            continue
        found.append(spec.model_dump_json(exclude_none=True))
    return found


def targets(text: str, known: list[str], default_name: str) -> list[str]:
    """Agents the request names, in order: TargetSpec JSON objects, "support v2" / "support@v2" of a known target,
    or a bare "v1" of the default agent."""
    specs = target_specs(text)
    plain = re.sub(r"\{[^{}]*\}", " ", text)
    names = {k.split("@")[0] for k in known}
    found = [f"{m[1].lower()}@{m[2].lower()}" for m in _TARGET.finditer(plain) if m[1].lower() in names]
    if not found and not specs:
        found = [f"{default_name}@{v.lower()}" for v in _VERSION.findall(plain)]
    return list(dict.fromkeys([*specs, *found]))


def roles(text: str, known: list[str], default_name: str) -> tuple[str | None, str | None]:
    """The candidate and the baseline a request names: "simulate support v2 against v1" names both; targets after
    "against", "vs", "compared to" or "baseline" are the baseline ("simulate it against support v1")."""
    m = _AGAINST.search(re.sub(r"\{[^{}]*\}", lambda j: " " * len(j[0]), text))
    head, tail = (text[: m.start()], text[m.end():]) if m else (text, "")
    first = targets(head, known, default_name)
    second = targets(tail, known, default_name)
    if m is None:
        return (first[0] if first else None), (first[1] if len(first) > 1 else None)
    return (first[0] if first else None), (second[0] if second else None)


def scenario_count(text: str) -> int | None:
    """"20 scenarios" -> 20."""
    m = _COUNT.search(text)
    return int(m[1]) if m else None


def cluster_ref(text: str) -> ClusterRef | None:
    """"from cluster 12 of run R", "from the top failure cluster" -> the cluster named (None: no cluster)."""
    m = _FROM_CLUSTER.search(text)
    return None if m is None else ClusterRef(int(m[2]) if m[2] else None, m[3])


def from_feedback(text: str) -> bool:
    """Whether the request asks to start from the latest production feedback report."""
    return bool(_FROM_FEEDBACK.search(text))


def breakdown(text: str) -> str:
    """The breakdown a question is about: persona, difficulty, else category."""
    return next((g for g in _GROUPS if g in text.lower()), "category")
