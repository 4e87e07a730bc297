"""The offline model's answers for an analytics run: cluster names from the evidence, the composed narrative."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from core.evidence import request_of
from core.offline_llm import register_structured_handler, register_text_handler
from services.cluster_naming import AGENT, ClusterName, ClusterNames, NamingRequest, NarrativeRequest


def offline_name(cluster: dict[str, Any]) -> str:
    """Name from the evidence: top keywords, then the dominant failure type when the cluster fails often."""
    words = " / ".join(str(w) for w in (cluster.get("keywords") or [])[:3]) or f"cluster {cluster.get('cluster_id')}"
    rate = float(cluster.get("failure_rate") or 0.0)
    dominant = cluster.get("dominant_failure_type")
    if not dominant or rate < 0.05:
        return f"{words}: healthy"
    share = float(cluster.get("dominant_failure_share") or 0.0)
    kind = str(dominant) if share >= 0.5 else f"mixed failures (mostly {dominant})"
    return f"{words}: {kind} {rate:.0%}"


def names_offline(messages: Sequence[BaseMessage]) -> ClusterNames:
    """The offline namer: each cluster of the request named from its keywords and failure mix."""
    clusters = request_of(messages, NamingRequest).clusters
    return ClusterNames(names=[ClusterName(cluster_id=int(c["cluster_id"]), name=offline_name(c)) for c in clusters])


def narrative_offline(messages: Sequence[BaseMessage]) -> str:
    """The offline narrative: the summary composed from the figures, as the request carries it."""
    return request_of(messages, NarrativeRequest).composed_summary or "No figures were provided."


def register_offline_handlers() -> None:
    """Register the analytics run's offline handlers (cluster names, narrative) with the offline model."""
    register_structured_handler(ClusterNames, names_offline)
    register_text_handler(AGENT, narrative_offline)
