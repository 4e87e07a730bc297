"""Target agents under evaluation: a registry of named, versioned agents plus adapters for external ones.

``get_target("support", "v1")`` returns a registered agent; ``target_from_spec`` also resolves an
OpenAI-compatible endpoint, a Python callable or a compiled LangGraph graph from a ``TargetSpec``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.targets.adapters import CallableTarget, GraphTarget, OpenAICompatibleTarget, import_ref
from agents.targets.base import TargetAgent, TargetMetadata
from agents.targets.support import DESCRIPTIONS, SupportAgent
from core.contracts import AgentRef, TargetSpec

_FACTORIES: dict[tuple[str, str], Callable[[], TargetAgent]] = {}


def _builtin(name: str, version: str) -> Callable[[], TargetAgent] | None:
    if name == SupportAgent.name and version in DESCRIPTIONS:
        return lambda: SupportAgent(version)
    return None


def register_target(name: str, version: str, factory: Callable[[], TargetAgent]) -> None:
    """Register a factory for the target ``name``/``version`` (created on demand), next to the sample agents."""
    _FACTORIES[(name, version)] = factory


def list_targets() -> list[AgentRef]:
    """Every known target (the sample support agents and the registered ones), sorted by name and version."""
    known = {(SupportAgent.name, v) for v in DESCRIPTIONS} | set(_FACTORIES)
    return [AgentRef(name=n, version=v) for n, v in sorted(known)]


def get_target(name: str, version: str) -> TargetAgent:
    """The target ``name``/``version``; a clear KeyError names the known ones."""
    factory = _FACTORIES.get((name, version)) or _builtin(name, version)
    if factory is None:
        known = ", ".join(r.id for r in list_targets())
        raise KeyError(f"no target {name}@{version}; registered targets: {known}")
    return factory()


def target_from_ref(ref: dict[str, Any]) -> TargetAgent:
    """The target a thread's state names: ``{"name", "version"}`` of a registered one, or a whole TargetSpec."""
    return target_from_spec(TargetSpec.model_validate(ref))


def target_from_spec(spec: TargetSpec) -> TargetAgent:
    """Resolve a ``TargetSpec``: registered, OpenAI-compatible endpoint, Python callable or LangGraph graph."""
    if spec.kind == "registered":
        return get_target(spec.name, spec.version)
    meta = TargetMetadata(name=spec.name, version=spec.version, model=spec.model or "unknown",
                          description=f"external {spec.kind} target {spec.name}")
    if spec.kind == "endpoint":
        if not spec.url or not spec.model:
            raise ValueError("target.url and target.model are required for kind 'endpoint'")
        return OpenAICompatibleTarget(spec.url, spec.model, meta)
    if not spec.ref:
        raise ValueError(f"target.ref ('package.module:attribute') is required for kind {spec.kind!r}")
    obj = import_ref(spec.ref)
    return CallableTarget(obj, meta) if spec.kind == "callable" else GraphTarget(obj, meta)


__all__ = ["CallableTarget", "GraphTarget", "OpenAICompatibleTarget", "SupportAgent", "TargetAgent",
           "TargetMetadata", "get_target", "list_targets", "register_target", "target_from_ref", "target_from_spec"]
